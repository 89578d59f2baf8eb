"""The model core: a Qwen2-VL (or Qwen2.5-VL / Qwen3-VL, ``bases``) base + timestamp decoder + Chain-of-LoRA roles,
and checkpoint I/O in the released layout."""

from __future__ import annotations

from videomind.lazy import lazy_exports

_LAZY = {
    "load_model": "videomind.model.checkpoint",
    "save_checkpoint": "videomind.model.checkpoint",
    "build_tiny_model": "videomind.model.tiny",
    "build_tiny_tokenizer": "videomind.model.tiny",
    "VideoMindModel": "videomind.model.modeling",
    "VideoMindProcessor": "videomind.model.processor",
    "use_role": "videomind.model.adapters",
}
__all__ = sorted(_LAZY)


__getattr__, __dir__ = lazy_exports(__name__, _LAZY)
