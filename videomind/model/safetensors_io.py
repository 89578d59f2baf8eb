"""Reading safetensors files tensor by tensor into existing parameters, with a bounded memory peak.

``safetensors.torch.load_file`` materialises a full-size copy of every tensor and ``safe_open`` maps the whole file
(each touched page counts in the resident memory until it is closed); loading an adapter that carries its own
``embed_tokens`` / ``lm_head`` that way doubles their size at peak. Here each tensor is read straight into its target.
"""

from __future__ import annotations

import json
import struct
from pathlib import Path

import torch

from videomind.errors import CheckpointError

READ_CHUNK_BYTES = 16 * 1024 * 1024
_SAFETENSORS_DTYPES = {
    "F64": torch.float64, "F32": torch.float32, "F16": torch.float16, "BF16": torch.bfloat16,
    "I64": torch.int64, "I32": torch.int32, "I16": torch.int16, "I8": torch.int8, "U8": torch.uint8,
    "BOOL": torch.bool,
}  # fmt: skip


def safetensors_header(path: str | Path) -> tuple[dict[str, dict], int]:
    """The tensor table of a safetensors file (name -> dtype, shape, data_offsets) and where its data starts."""
    with open(path, "rb") as fh:
        (size,) = struct.unpack("<Q", fh.read(8))
        header = json.loads(fh.read(size))
    header.pop("__metadata__", None)
    return header, 8 + size


def read_tensors_into(path: str | Path, targets: dict[str, torch.Tensor]) -> None:
    """Copy the named tensors of a safetensors file into ``targets`` (same shapes; dtype converted).

    Plain reads, straight into the target when it is a contiguous CPU tensor of the file's dtype, else through a
    small buffer: unlike ``safetensors.torch.load_file`` (a full-size copy of every tensor) or ``safe_open`` (the
    whole file mapped, each touched page counted in the resident memory until closed), the peak memory of loading
    an adapter with its own embed_tokens / lm_head stays at the model's size (docs/PERFORMANCE.md, bench memory).
    """
    header, data_start = safetensors_header(path)
    with open(path, "rb") as fh, torch.no_grad():
        for key, target in targets.items():
            entry = header[key]
            dtype = _SAFETENSORS_DTYPES.get(entry["dtype"])
            if dtype is None:
                raise CheckpointError(f"{path}: tensor {key} has unsupported dtype {entry['dtype']}")
            if tuple(entry["shape"]) != tuple(target.shape):
                raise CheckpointError(
                    f"{path}: {key} has shape {tuple(entry['shape'])}, model expects {tuple(target.shape)}"
                )
            begin, end = entry["data_offsets"]
            fh.seek(data_start + begin)
            if target.device.type == "cpu" and target.dtype == dtype and target.is_contiguous():
                raw = memoryview(target.detach().view(-1).view(torch.uint8).numpy()).cast("B")
                if fh.readinto(raw) != end - begin:
                    raise CheckpointError(f"{path} is truncated (tensor {key})")
                continue
            flat, itemsize = target.detach().view(-1), dtype.itemsize
            step = max(1, READ_CHUNK_BYTES // itemsize)
            for first in range(0, flat.numel(), step):
                count = min(step, flat.numel() - first)
                chunk = fh.read(count * itemsize)
                if len(chunk) != count * itemsize:
                    raise CheckpointError(f"{path} is truncated (tensor {key})")
                flat[first : first + count].copy_(torch.frombuffer(bytearray(chunk), dtype=dtype))
