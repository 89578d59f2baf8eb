"""Which frames to read and at what size: the official sampler (REFERENCE.md s.7.2), as pure functions.

``sample_indices`` reproduces ``_read_video_decord`` + ``smart_nframes`` of the official code, quirks included:

- the frame budget is computed from the *requested* window ``(end - start) * fps``, before clamping it to the video
  (the official code keeps this on purpose, a TODO says fixing it "would affect verifier's performance");
- Python's ``round`` (banker's rounding: ``round(2.5) == 2``) everywhere, and ``torch.linspace`` in float32 for the
  final indices, exactly as the official reader;
- frame counts are even (``FRAME_FACTOR``); a count outside ``[2, budget frames]`` raises ``SamplingError``.

``smart_resize`` applies the min-pixels correction first and the max-pixels correction second (the official order,
the reverse of qwen-vl-utils), so ``max_pixels`` always wins.

``sample_indices_by_time`` is our variable-frame-rate extension: the same frame count, but the window and the
uniform grid are laid out on the frames' real presentation times instead of ``index / average fps``.
"""

from __future__ import annotations

import bisect
import logging
import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import torch

from videomind.video.budget import FrameBudget
from videomind.video.errors import SamplingError

log = logging.getLogger(__name__)

FRAME_FACTOR = 2  # Qwen2-VL's temporal patch: frame counts are even
FPS_MIN_FRAMES = 4  # floor of the per-window frame budget (official constant, also the default min_frames)
FPS_MAX_FRAMES = 768  # default max_frames when a parameter dict gives none
DEFAULT_SAMPLE_FPS = 2.0  # default fps when a parameter dict gives neither fps nor nframes
IMAGE_FACTOR = 28  # spatial: a merged visual token covers 28x28 pixels
MAX_ASPECT_RATIO = 200


@dataclass(frozen=True)
class SamplingParams:
    """The official element keys: either ``nframes`` or ``fps`` with ``min_frames`` / ``max_frames``."""

    fps: float | None = DEFAULT_SAMPLE_FPS
    nframes: int | None = None
    min_frames: int = FPS_MIN_FRAMES
    max_frames: int | None = None  # None: min(768, frames in the window)

    @classmethod
    def of(cls, spec: FrameBudget | SamplingParams | Mapping[str, Any]) -> SamplingParams:
        if isinstance(spec, SamplingParams):
            return spec
        if isinstance(spec, FrameBudget):
            return cls(fps=spec.fps, min_frames=spec.min_frames, max_frames=spec.max_frames)
        if isinstance(spec, Mapping):
            if "fps" in spec and "nframes" in spec:
                raise SamplingError("give either fps or nframes, not both (as the official sampler asserts)")
            return cls(
                fps=None if "nframes" in spec else float(spec.get("fps", DEFAULT_SAMPLE_FPS)),
                nframes=spec.get("nframes"),
                min_frames=int(spec.get("min_frames", FPS_MIN_FRAMES)),
                max_frames=spec.get("max_frames"),
            )
        raise TypeError(f"expected a FrameBudget, SamplingParams or dict, got {type(spec).__name__}")


def round_by_factor(number: float, factor: int) -> int:
    """Nearest multiple of ``factor`` (Python rounding: halves go to the even quotient)."""
    return round(number / factor) * factor


def ceil_by_factor(number: float, factor: int) -> int:
    return math.ceil(number / factor) * factor


def floor_by_factor(number: float, factor: int) -> int:
    return math.floor(number / factor) * factor


def smart_nframes(params: SamplingParams, total_frames: int, video_fps: float) -> int:
    """Number of frames to sample from a window holding ``total_frames`` frames at ``video_fps`` (official rule)."""
    if params.nframes is not None:
        nframes = round_by_factor(params.nframes, FRAME_FACTOR)
    else:
        min_frames = ceil_by_factor(params.min_frames, FRAME_FACTOR)
        max_given = params.max_frames if params.max_frames is not None else min(FPS_MAX_FRAMES, total_frames)
        max_frames = floor_by_factor(max_given, FRAME_FACTOR)
        wanted = total_frames / video_fps * params.fps
        nframes = round_by_factor(min(max(wanted, min_frames), max_frames), FRAME_FACTOR)
    if not FRAME_FACTOR <= nframes <= total_frames:
        raise SamplingError(
            f"nframes should be in [{FRAME_FACTOR}, {total_frames}] but got {nframes}: the window holds "
            f"{total_frames} frames; lower min_frames/nframes or use a longer window"
        )
    return nframes


def frame_window(
    num_frames: int, avg_fps: float, start: float | None, end: float | None
) -> tuple[int, int, int]:
    """``(first index, last index, budget frames)`` of a window, the official way (see module docstring)."""
    _check_video(num_frames, avg_fps)
    s = 0.0 if start is None else float(start)
    e = num_frames / avg_fps if end is None else float(end)
    s_idx = min(max(0, round(s * avg_fps)), num_frames - 1)
    e_idx = min(max(0, round(e * avg_fps)), num_frames - 1)
    if s_idx > e_idx:
        log.warning("window start frame %d is after end frame %d (of %d): swapped", s_idx, e_idx, num_frames)
        s_idx, e_idx = e_idx, s_idx
    budget_frames = min(max(FPS_MIN_FRAMES, round((e - s) * avg_fps)), num_frames)
    return s_idx, e_idx, budget_frames


def sample_indices(
    num_frames: int,
    avg_fps: float,
    budget_or_params: FrameBudget | SamplingParams | Mapping[str, Any],
    start: float | None = None,
    end: float | None = None,
    *,
    strict: bool = True,
) -> list[int]:
    """Frame indices the official sampler reads for this video, budget and window (seconds).

    With ``strict=False`` asking for more frames than the window holds (a video of fewer than 4 frames, or a
    sampling fps above the video's own) is not an error: the count drops to the frames available, rounded down to
    even (at least 2, repeating a lone frame). The official code raises; this is our deliberate difference.
    """
    params = SamplingParams.of(budget_or_params)
    s_idx, e_idx, budget_frames = frame_window(num_frames, avg_fps, start, end)
    nframes = _count(params, budget_frames, avg_fps, strict)
    grid = torch.linspace(s_idx, e_idx, nframes, dtype=torch.float32)
    return grid.round().long().tolist()


def sample_indices_by_time(
    timestamps: Sequence[float],
    avg_fps: float,
    budget_or_params: FrameBudget | SamplingParams | Mapping[str, Any],
    start: float | None = None,
    end: float | None = None,
    *,
    strict: bool = True,
) -> list[int]:
    """Variable-frame-rate sampling: the official frame count, a uniform grid over real presentation times.

    ``timestamps`` are the frames' presentation times in seconds, ascending. The window ends snap to the nearest
    frames; each grid time then takes the frame whose timestamp is nearest (ties: the earlier frame). On a
    constant-rate video this equals ``sample_indices`` except for rounding ties.
    """
    params = SamplingParams.of(budget_or_params)
    _, _, budget_frames = frame_window(len(timestamps), avg_fps, start, end)
    nframes = _count(params, budget_frames, avg_fps, strict)
    s = 0.0 if start is None else float(start)
    e = len(timestamps) / avg_fps if end is None else float(end)
    s_idx, e_idx = sorted((nearest_frame(timestamps, s), nearest_frame(timestamps, e)))
    grid = torch.linspace(timestamps[s_idx], timestamps[e_idx], nframes, dtype=torch.float64).tolist()
    return [nearest_frame(timestamps, t) for t in grid]


def nearest_frame(timestamps: Sequence[float], t: float) -> int:
    """Index of the timestamp nearest to ``t`` (ties: the earlier frame)."""
    i = bisect.bisect_left(timestamps, t)
    if i == 0:
        return 0
    if i == len(timestamps):
        return len(timestamps) - 1
    return i - 1 if t - timestamps[i - 1] <= timestamps[i] - t else i


def smart_resize(
    height: int, width: int, min_pixels: int, max_pixels: int, factor: int = IMAGE_FACTOR
) -> tuple[int, int]:
    """Frame size ``(h, w)``: multiples of ``factor``, area in ``[min_pixels, max_pixels]``, aspect kept.

    Official order: round to the factor, then scale up if below ``min_pixels``, then down if above ``max_pixels``.
    """
    if height < 1 or width < 1:
        raise SamplingError(f"frame size must be positive, got {height}x{width}")
    if max(height, width) / min(height, width) > MAX_ASPECT_RATIO:
        raise SamplingError(
            f"absolute aspect ratio must be smaller than {MAX_ASPECT_RATIO}, got "
            f"{max(height, width) / min(height, width)} ({height}x{width}); crop or pad the video"
        )
    h_bar = max(factor, round_by_factor(height, factor))
    w_bar = max(factor, round_by_factor(width, factor))
    if h_bar * w_bar < min_pixels:
        beta = math.sqrt(min_pixels / (height * width))
        h_bar, w_bar = ceil_by_factor(height * beta, factor), ceil_by_factor(width * beta, factor)
    if h_bar * w_bar > max_pixels:
        beta = math.sqrt((height * width) / max_pixels)
        h_bar, w_bar = floor_by_factor(height / beta, factor), floor_by_factor(width / beta, factor)
    return h_bar, w_bar


def _count(params: SamplingParams, budget_frames: int, avg_fps: float, strict: bool) -> int:
    try:
        return smart_nframes(params, budget_frames, avg_fps)
    except SamplingError:
        if strict or params.nframes is not None:
            raise
        # Our difference: more frames asked than the window holds (a video with fewer than 4 frames, or sampled
        # faster than its own frame rate) -> every frame once, or the only frame twice, instead of an error.
        return max(FRAME_FACTOR, floor_by_factor(budget_frames, FRAME_FACTOR))


def _check_video(num_frames: int, avg_fps: float) -> None:
    if num_frames < 1:
        raise SamplingError(f"cannot sample a video with {num_frames} frames")
    if not avg_fps > 0 or not math.isfinite(avg_fps):
        raise SamplingError(f"average fps must be a positive number, got {avg_fps}")
