"""Device and dtype selection (never hard-coded: both are parameters everywhere)."""

from __future__ import annotations

import importlib.util

import torch

DTYPES = {
    "float32": torch.float32, "fp32": torch.float32,
    "bfloat16": torch.bfloat16, "bf16": torch.bfloat16,
    "float16": torch.float16, "fp16": torch.float16,
}  # fmt: skip


def resolve_device(device: str | torch.device = "auto") -> torch.device:
    """``auto`` picks CUDA, then an Ascend NPU (when torch_npu is installed), then Apple MPS, then the CPU."""
    if isinstance(device, torch.device):
        return device
    if device != "auto":
        return torch.device(device)
    if torch.cuda.is_available():
        return torch.device("cuda")
    if importlib.util.find_spec("torch_npu") is not None:
        import torch_npu  # noqa: F401  (registers the "npu" device)

        if torch.npu.is_available():  # type: ignore[attr-defined]
            return torch.device("npu")
    if getattr(torch.backends, "mps", None) is not None and torch.backends.mps.is_available():
        return torch.device("mps")
    return torch.device("cpu")


def resolve_dtype(dtype: str | torch.dtype = "auto", device: torch.device | None = None) -> torch.dtype:
    """``auto``: bfloat16 on CUDA GPUs with native bf16 (Ampere and later), else float16 on accelerators (what the
    released checkpoints were trained and evaluated in; ``float16`` forces it), float32 on the CPU and MPS (CPU
    half precision is slow and inexact here). bf16 first because Qwen2-VL's activations overflow float16's range
    (transformers#33294): inf / NaN logits, and verifier scores that rank nothing."""
    if isinstance(dtype, torch.dtype):
        return dtype
    if dtype == "auto":
        kind = (device or resolve_device()).type
        if kind == "cuda":
            return torch.bfloat16 if cuda_bf16_supported() else torch.float16
        return torch.float16 if kind == "npu" else torch.float32
    if dtype not in DTYPES:
        raise ValueError(f"unknown dtype {dtype!r}; use one of {sorted(DTYPES)} or 'auto'")
    return DTYPES[dtype]


def cuda_bf16_supported() -> bool:
    """Native bf16 on the current CUDA device (compute capability >= 8.0; emulated bf16 on older GPUs is slow)."""
    if not torch.cuda.is_available():
        return False
    return torch.cuda.is_bf16_supported(including_emulation=False)
