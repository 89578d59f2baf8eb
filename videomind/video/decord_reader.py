"""The decord backend (optional extra ``videomind[decord]``): the official system's reader, behind our API.

Frame count, average fps and timestamps are decord's own (``len``, ``get_avg_fps``, ``get_frame_timestamp``), so
indices are exactly what the official code computes. Files are first checked with PyAV so that errors are the same
``VideoError`` subclasses as with the default backend. Frames decord returns are kept in the shared frame cache.
"""

from __future__ import annotations

import logging
import os
from collections.abc import Iterator
from pathlib import Path

import numpy as np

from videomind.video import errors
from videomind.video.cache import FrameCache
from videomind.video.probe import open_container, video_stream
from videomind.video.reader import VideoReader
from videomind.video.resize import chunk_frames

log = logging.getLogger(__name__)

RGB_CHANNELS = 3
FETCH_CHUNK = 16  # frames per get_batch call


class DecordReader(VideoReader):
    """Reader on decord. Use ``open_video(path, backend="decord")``."""

    backend = "decord"

    def __init__(self, path: str | Path, num_threads: int = 0, cache: FrameCache | None = None):
        try:
            import decord
        except ImportError:
            raise errors.BackendUnavailableError(
                "the decord backend is not installed: `pip install 'videomind[decord]'` or use backend='pyav'",
                path,
            ) from None
        with open_container(path) as container:  # same errors as the PyAV backend for bad files
            video_stream(container, path)
        super().__init__(path, cache)
        try:
            self._vr = decord.VideoReader(os.fspath(path), num_threads=num_threads)
        except Exception as exc:  # decord raises DECORDError / RuntimeError with FFmpeg's log text
            raise errors.corrupt_video(path, f"decord cannot open it: {str(exc).splitlines()[0]}") from None
        self.num_frames = len(self._vr)
        if self.num_frames < 1:
            raise errors.empty_video(path, "its video stream has no frames")
        self.fps = float(self._vr.get_avg_fps())
        self.timestamps = tuple(float(t) for t in self._vr.get_frame_timestamp(range(self.num_frames))[:, 0])
        first = self._fetch([0])[0]
        if first.ndim != 3 or first.shape[2] != RGB_CHANNELS:
            raise errors.VideoError(
                f"decord returns frames of shape {first.shape} for {path} (decord 0.6 mis-decodes rotated videos); "
                "use backend='pyav'",
                path,
            )
        self.height, self.width = first.shape[:2]

    def _iter_rgb(self, indices: list[int]) -> Iterator[tuple[int, np.ndarray]]:
        # chunks bound memory on long or large videos
        step = min(FETCH_CHUNK, chunk_frames(self.height, self.width))
        for lo in range(0, len(indices), step):
            chunk = indices[lo : lo + step]
            found = {i: self.cache.get((self.key, i)) for i in chunk}
            missing = [i for i, v in found.items() if v is None]
            fetched = dict(zip(missing, self._fetch(missing))) if missing else {}
            for idx in chunk:
                yield idx, found[idx] if found[idx] is not None else fetched[idx]

    def _fetch(self, indices: list[int]) -> list[np.ndarray]:
        batch = self._vr.get_batch(indices).asnumpy()
        frames = []
        for idx, rgb in zip(indices, batch):
            rgb = np.ascontiguousarray(rgb)
            self._count_decoded(idx)
            self.cache.put((self.key, idx), rgb, rgb.nbytes, requested=True)
            frames.append(rgb)
        return frames

    def close(self) -> None:
        self._vr = None
