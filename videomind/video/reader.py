"""``open_video`` and the backend-independent part of a reader: sampling a clip for a role.

A reader knows the video's frame table (count, average fps, each frame's presentation time, display size after
rotation); backends (``pyav_reader``, ``decord_reader``) only turn frame indices into RGB arrays. ``sample`` picks
the official indices (``sampling.py``), fetches each frame once through the shared ``FrameCache``, and resizes to
the role's ``smart_resize`` size in small chunks, so memory stays bounded however long the video is.
"""

from __future__ import annotations

import logging
import os
from collections import Counter
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from functools import cached_property
from pathlib import Path

import numpy as np
import torch

from videomind.records import VideoView
from videomind.video import errors
from videomind.video.budget import FrameBudget
from videomind.video.cache import FrameCache
from videomind.video.resize import chunk_frames, resize_frames
from videomind.video.sampling import sample_indices, sample_indices_by_time, smart_resize

log = logging.getLogger(__name__)

VFR_TOLERANCE_FRAMES = 0.5  # a frame off its constant-rate slot by more than this marks the video as VFR
PREFETCH_CACHE_SHARE = 0.5  # prefetch only what fits in this share of the frame cache


@dataclass(frozen=True)
class Clip:
    """Frames one role sees: ``frames`` uint8 ``(N, 3, H, W)``, their source ``indices`` and ``timestamps`` (s)."""

    frames: torch.Tensor
    timestamps: tuple[float, ...]
    indices: tuple[int, ...]
    start: float
    end: float
    view: VideoView

    def __len__(self) -> int:
        return len(self.indices)


@dataclass(frozen=True)
class SamplePlan:
    """The frames a role will read: source ``indices`` (in output order), their ``(height, width)`` after resizing
    and the ``view`` recorded in the trace."""

    indices: tuple[int, ...]
    size: tuple[int, int]
    view: VideoView

    def __len__(self) -> int:
        return len(self.indices)


class VideoReader:
    """Base class of the backends. Use ``open_video``; a reader is a context manager and not thread-safe."""

    backend = "base"

    def __init__(self, path: str | Path, cache: FrameCache | None):
        self.path = str(path)
        self.cache = cache if cache is not None else FrameCache()
        stat = os.stat(path)
        # Cache key of this video: backends store different values, and a rewritten file is another video.
        self.key = (self.backend, os.path.realpath(path), stat.st_size, stat.st_mtime_ns)
        self.decoded_frames = 0  # every frame the decoder produced, including those passed on the way
        self.decode_counts: Counter[int] = Counter()  # per frame index
        # Filled by the backend before use:
        self.num_frames = 0
        self.fps = 0.0
        self.width = 0
        self.height = 0
        self.rotation = 0
        self.timestamps: tuple[float, ...] = ()

    # ------------------------------------------------------------------ properties
    @cached_property
    def duration(self) -> float:
        """Seconds: frame count / average fps, as the official ``get_duration``.

        On a variable-frame-rate video, where that can be far off, the last frame's time plus one average frame.
        """
        if self.is_vfr:
            return max(self.timestamps[-1] - self.timestamps[0] + 1 / self.fps, self.num_frames / self.fps)
        return self.num_frames / self.fps

    @cached_property
    def is_vfr(self) -> bool:
        """True when frames are off their constant-rate slots (then sampling follows real timestamps)."""
        if self.num_frames < 2:
            return False
        slots = np.arange(self.num_frames) / self.fps
        drift = np.abs(np.asarray(self.timestamps) - self.timestamps[0] - slots)
        return bool(drift.max() > VFR_TOLERANCE_FRAMES / self.fps)

    # ------------------------------------------------------------------ sampling
    def sample_indices(
        self, budget: FrameBudget, start: float | None = None, end: float | None = None, strict: bool = False
    ) -> list[int]:
        """The frame indices ``sample`` would read (official rule; timestamps rule on VFR videos)."""
        try:
            if self.is_vfr:
                end = self.duration if end is None else end
                return sample_indices_by_time(self.timestamps, self.fps, budget, start, end, strict=strict)
            return sample_indices(self.num_frames, self.fps, budget, start, end, strict=strict)
        except errors.SamplingError as exc:
            raise errors.SamplingError(f"{self.path}: {exc}", self.path) from None

    def plan(
        self, budget: FrameBudget, start: float | None = None, end: float | None = None, strict: bool = False
    ) -> SamplePlan:
        """What ``sample`` will read, without decoding anything: indices, frame size and the view."""
        indices = tuple(self.sample_indices(budget, start, end, strict))
        size = smart_resize(self.height, self.width, budget.min_pixels, budget.max_pixels, budget.factor)
        timestamps = tuple(float(self.timestamps[i]) for i in indices)
        s, e = self._window(start, end)
        view = VideoView(s, e, float(budget.fps), len(indices), size[0], size[1], timestamps)
        return SamplePlan(indices, size, view)

    def sample(
        self, budget: FrameBudget, start: float | None = None, end: float | None = None, strict: bool = False
    ) -> Clip:
        """Sample ``budget.fps`` frames per second in ``[start, end]`` seconds, resized to the budget's pixels."""
        plan = self.plan(budget, start, end, strict)
        frames = self._gather(list(plan.indices), plan.size)
        view = plan.view
        return Clip(frames, view.timestamps, plan.indices, view.start, view.end, view)

    def sample_chunks(self, plan: SamplePlan, chunk: int) -> Iterator[torch.Tensor]:
        """The frames of ``plan`` as consecutive pieces of at most ``chunk`` frames (their concatenation is
        ``sample``'s frames), so a consumer can start on the first frames while later ones are decoded."""
        if chunk < 1:
            raise ValueError(f"chunk must be at least 1 frame, got {chunk}")
        for first in range(0, len(plan.indices), chunk):
            yield self._gather(list(plan.indices[first : first + chunk]), plan.size)

    def prefetch(
        self, budget: FrameBudget, windows: Sequence[tuple[float | None, float | None]], strict: bool = False
    ) -> int:
        """Decode, in one pass in frame order, every frame ``sample(budget, start, end)`` will read for each
        ``(start, end)`` window, and keep them in the cache as requested frames; returns how many were fetched.

        Overlapping windows sampled one after the other (the verifier's candidates) would otherwise each decode
        their stretch of the video from its keyframe again. Skipped (0) when the frames would take more than
        ``PREFETCH_CACHE_SHARE`` of the cache. ``sample`` returns exactly the same frames either way.
        """
        wanted = sorted(
            {i for start, end in windows for i in self.sample_indices(budget, start, end, strict)}
        )
        missing = [i for i in wanted if (self.key, i) not in self.cache]
        if not missing or len(missing) * self._frame_nbytes() > PREFETCH_CACHE_SHARE * self.cache.max_bytes:
            return 0
        self._prefetch(missing)
        return len(missing)

    def get_frames(self, indices: Sequence[int]) -> torch.Tensor:
        """Full-size frames ``(N, 3, height, width)`` uint8 at the given indices (mind the memory on long lists)."""
        return self._gather(list(indices), (self.height, self.width))

    def _gather(self, indices: list[int], size: tuple[int, int]) -> torch.Tensor:
        bad = [i for i in indices if not 0 <= i < self.num_frames]
        if bad:
            raise IndexError(
                f"frame indices {bad[:5]} out of range for {self.num_frames} frames of {self.path}"
            )
        slots: dict[int, list[int]] = {}
        for pos, idx in enumerate(indices):
            slots.setdefault(idx, []).append(pos)
        out = torch.empty((len(indices), 3, *size), dtype=torch.uint8)
        chunk: list[tuple[int, np.ndarray]] = []
        # full-size RGB frames held at once: bounded in bytes too
        step = chunk_frames(self.height, self.width)
        for item in self._iter_rgb(sorted(slots)):
            chunk.append(item)
            if len(chunk) == step:
                _place(out, chunk, slots, size)
                chunk = []
        _place(out, chunk, slots, size)
        return out

    def _window(self, start: float | None, end: float | None) -> tuple[float, float]:
        s = 0.0 if start is None else float(start)
        e = self.duration if end is None else float(end)
        s, e = sorted((s, e))
        return min(max(s, 0.0), self.duration), min(max(e, 0.0), self.duration)

    # ------------------------------------------------------------------ backend hooks
    def _iter_rgb(self, indices: list[int]) -> Iterator[tuple[int, np.ndarray]]:
        """Yield ``(index, HxWx3 uint8 RGB in display orientation)`` once for each index (sorted, unique)."""
        raise NotImplementedError

    def _prefetch(self, indices: list[int]) -> None:
        """Bring these frames (sorted, unique, not cached) into the cache; backends may skip the RGB conversion."""
        for _ in self._iter_rgb(indices):
            pass

    def _frame_nbytes(self) -> int:
        """Bytes one cached frame takes (RGB by default)."""
        return self.height * self.width * 3

    def _count_decoded(self, index: int) -> None:
        self.decoded_frames += 1
        self.decode_counts[index] += 1

    def close(self) -> None:
        """Release the decoder; cached frames stay in the (possibly shared) cache."""

    def __enter__(self) -> VideoReader:
        return self

    def __exit__(self, *exc) -> None:
        self.close()

    def __repr__(self) -> str:
        return (
            f"{type(self).__name__}({self.path!r}, {self.num_frames} frames, {self.fps:.3f} fps, "
            f"{self.width}x{self.height}, {self.duration:.2f} s)"
        )


def _place(out: torch.Tensor, chunk: list[tuple[int, np.ndarray]], slots: dict[int, list[int]], size) -> None:
    """Resize one chunk of frames and write each into every output position that wants it (two tensor ops:
    per-frame copies each pay the intra-op thread pool's wake-up, which is slow on a loaded CPU)."""
    if not chunk:
        return
    batch = torch.from_numpy(np.stack([rgb for _, rgb in chunk])).permute(0, 3, 1, 2)
    resized = resize_frames(batch, size)
    rows = [(pos, k) for k, (idx, _) in enumerate(chunk) for pos in slots[idx]]
    out[torch.tensor([p for p, _ in rows])] = resized[torch.tensor([k for _, k in rows])]
