"""Frame resizing with torch, bit-compatible with torchvision's tensor ``resize`` on uint8 frames.

The official reader calls ``torchvision.transforms.functional.resize(video_uint8, [h, w], BICUBIC,
antialias=True)``. For a uint8 tensor torchvision (``transforms/functional.py`` and ``_functional_tensor.py``):

1. returns the input unchanged when the size already matches;
2. casts to float32 and calls ``torch.nn.functional.interpolate(mode="bicubic", align_corners=False,
   antialias=True)``;
3. clamps to [0, 255] (bicubic overshoots), rounds with ``torch.round`` (halves to even) and casts back to uint8.

We do the same steps (torchvision itself does not install beside our CPU torch build, see ENVIRONMENT.md). Frames are
resized in chunks so a long clip never needs a float32 copy of every full-size frame at once.
"""

from __future__ import annotations

import torch
import torch.nn.functional as F

UINT8_MAX = 255
RESIZE_CHUNK = 16  # frames per interpolate call: bounds the float32 working copy
# ... and so does this, for large frames (one 8K frame is 400 MB as float32)
RESIZE_CHUNK_BYTES = 256 * 1024 * 1024
FLOAT32_BYTES = 4


def chunk_frames(height: int, width: int, channels: int = 3) -> int:
    """Frames per resize call for frames of this size: ``RESIZE_CHUNK``, fewer when their float32 copy would pass
    ``RESIZE_CHUNK_BYTES`` (at least one), so memory stays bounded at any resolution. Results do not depend on it."""
    per_frame = height * width * channels * FLOAT32_BYTES
    return max(1, min(RESIZE_CHUNK, RESIZE_CHUNK_BYTES // max(per_frame, 1)))


def resize_frames(frames: torch.Tensor, size: tuple[int, int]) -> torch.Tensor:
    """Resize ``(N, C, H, W)`` (or ``(C, H, W)``) uint8 frames to ``size = (h, w)``; returns uint8."""
    if frames.dtype != torch.uint8:
        raise TypeError(f"resize_frames expects uint8 frames, got {frames.dtype}")
    if tuple(frames.shape[-2:]) == tuple(size):
        return frames
    if frames.ndim == 3:
        return resize_frames(frames.unsqueeze(0), size).squeeze(0)
    step = chunk_frames(*frames.shape[-2:], channels=frames.shape[1])
    if frames.shape[0] <= step:
        return _resize_chunk(frames, size)
    out = torch.empty((frames.shape[0], frames.shape[1], *size), dtype=torch.uint8)
    for lo in range(0, frames.shape[0], step):
        out[lo : lo + step] = _resize_chunk(frames[lo : lo + step], size)
    return out


def _resize_chunk(frames: torch.Tensor, size: tuple[int, int]) -> torch.Tensor:
    # Contiguous NCHW float: decoded frames arrive channels-last (a permuted HWC view), and the bicubic kernel is
    # faster on contiguous planes; converting and reordering in one copy is cheaper than two.
    x = frames.to(torch.float32, memory_format=torch.contiguous_format)
    x = F.interpolate(x, size=list(size), mode="bicubic", align_corners=False, antialias=True)
    return x.clamp_(0, UINT8_MAX).round_().to(torch.uint8)
