"""Video input: reading, frame sampling, resizing, caching, subtitles and dataset compression (docs/VIDEO.md).

Light to import: the budgets and errors load at once; readers, samplers and tools (torch, PyAV) load on first use.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from videomind.lazy import lazy_exports
from videomind.video.budget import (
    ANSWERER_BUDGET,
    GROUNDER_BUDGET,
    PLANNER_BUDGET,
    VERIFIER_BUDGET,
    FrameBudget,
)
from videomind.video.errors import (
    BackendUnavailableError,
    CorruptVideoError,
    EmptyVideoError,
    NotAVideoError,
    NoVideoStreamError,
    SamplingError,
    VideoError,
    VideoNotFoundError,
)

_LAZY = {
    "open_video": "videomind.video.backends",
    "VideoReader": "videomind.video.reader",
    "Clip": "videomind.video.reader",
    "SamplePlan": "videomind.video.reader",
    "FrameCache": "videomind.video.cache",
    "probe_duration": "videomind.video.probe",
    "sample_indices": "videomind.video.sampling",
    "sample_indices_by_time": "videomind.video.sampling",
    "smart_nframes": "videomind.video.sampling",
    "smart_resize": "videomind.video.sampling",
    "SamplingParams": "videomind.video.sampling",
    "resize_frames": "videomind.video.resize",
    "load_subtitles": "videomind.video.subtitles",
    "compress_videos": "videomind.video.compress",
    "compress_video": "videomind.video.compress",
    "CompressReport": "videomind.video.compress",
}

if TYPE_CHECKING:  # pragma: no cover
    from videomind.video.backends import open_video
    from videomind.video.cache import FrameCache
    from videomind.video.compress import CompressReport, compress_video, compress_videos
    from videomind.video.probe import probe_duration
    from videomind.video.reader import Clip, SamplePlan, VideoReader
    from videomind.video.resize import resize_frames
    from videomind.video.sampling import (
        SamplingParams,
        sample_indices,
        sample_indices_by_time,
        smart_nframes,
        smart_resize,
    )
    from videomind.video.subtitles import load_subtitles


__getattr__, __dir__ = lazy_exports(__name__, _LAZY)


__all__ = [
    "FrameBudget",
    "PLANNER_BUDGET",
    "GROUNDER_BUDGET",
    "VERIFIER_BUDGET",
    "ANSWERER_BUDGET",
    "VideoError",
    "VideoNotFoundError",
    "NotAVideoError",
    "NoVideoStreamError",
    "EmptyVideoError",
    "CorruptVideoError",
    "BackendUnavailableError",
    "SamplingError",
    "open_video",
    "VideoReader",
    "Clip",
    "SamplePlan",
    "FrameCache",
    "probe_duration",
    "sample_indices",
    "sample_indices_by_time",
    "smart_nframes",
    "smart_resize",
    "SamplingParams",
    "resize_frames",
    "load_subtitles",
    "compress_videos",
    "compress_video",
    "CompressReport",
]
