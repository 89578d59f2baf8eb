"""The model core: Qwen2-VL + timestamp decoder + Chain-of-LoRA roles, and checkpoint I/O in the released layout."""

from __future__ import annotations

from typing import Any

_LAZY = {
    "load_model": "videomind.model.checkpoint",
    "save_checkpoint": "videomind.model.checkpoint",
    "build_tiny_model": "videomind.model.tiny",
    "build_tiny_tokenizer": "videomind.model.tiny",
    "VideoMindModel": "videomind.model.modeling",
    "VideoMindProcessor": "videomind.model.processor",
    "use_role": "videomind.model.roles",
}
__all__ = sorted(_LAZY)


def __getattr__(name: str) -> Any:
    if name in _LAZY:
        import importlib

        return getattr(importlib.import_module(_LAZY[name]), name)
    raise AttributeError(f"module 'videomind.model' has no attribute {name!r}")
