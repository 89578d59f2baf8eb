"""Which reader opens a file: ``open_video`` picks the backend (PyAV by default, decord optional).

Kept apart from ``reader.py`` (the backend-neutral ``VideoReader``) so that the backends import the base class and
this module imports the backends, never the other way round.
"""

from __future__ import annotations

from pathlib import Path

from videomind.video import errors
from videomind.video.cache import FrameCache
from videomind.video.reader import VideoReader

BACKENDS = ("auto", "pyav", "decord")


def open_video(
    path: str | Path, backend: str = "auto", num_threads: int = 0, cache: FrameCache | None = None
) -> VideoReader:
    """Open a video for sampling. ``backend``: "auto" (PyAV), "pyav" or "decord" (needs the decord extra).

    ``num_threads``: decoder threads (0: FFmpeg picks). ``cache``: share one ``FrameCache`` between readers so
    frames decoded by one are not decoded again by another. Raises ``VideoError`` subclasses for unreadable files.
    """
    if backend not in BACKENDS:
        raise errors.VideoError(f"unknown video backend {backend!r}; choose one of {', '.join(BACKENDS)}")
    if backend == "decord":
        from videomind.video.decord_reader import DecordReader

        return DecordReader(path, num_threads=num_threads, cache=cache)
    from videomind.video.pyav_reader import PyAVReader

    return PyAVReader(path, num_threads=num_threads, cache=cache)
