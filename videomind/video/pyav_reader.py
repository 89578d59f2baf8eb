"""The PyAV backend: a packet index, seeks to keyframes, threaded streaming decode of only what is needed.

Opening reads every packet header of the video stream once (no decoding), like decord's keyframe index: the
frame count is the number of packets, frame ``i`` is the ``i``-th smallest presentation timestamp, and keyframe
positions tell where a seek must land. Fetching a frame then either keeps decoding forward (when the decoder is
already at or before its keyframe group) or seeks to the nearest keyframe at or before it. Every frame that leaves
the decoder is offered to the frame cache (see ``cache.py``), so a later role finds it there instead of decoding it
again. When the whole video would not fit in the cache anyway, frames no other frame depends on (non-reference
B-frames) are not decoded at all on the way unless they are wanted (FFmpeg's ``skip_frame``, set per packet).
Frames are converted to RGB only when requested.
"""

from __future__ import annotations

import bisect
import logging
import threading
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from videomind.video import errors
from videomind.video.cache import FrameCache
from videomind.video.probe import open_container, video_stream
from videomind.video.reader import VideoReader

log = logging.getLogger(__name__)

MAX_SEEK_RETRIES = 3  # keyframes to step back when a seek lands after the wanted frame, before restarting
MAX_BAD_PACKETS = 64  # packets that fail to decode before the file is declared corrupt
QUARTER_TURN = 90
_LAYOUT_BYTES: dict[
    tuple[str, int, int], int
] = {}  # memo of _frame_bytes (plane sizes depend on the layout only)
SEEK_COST_FRAMES = 8  # a seek (flush, reposition, decoder warm-up) costs about this many decoded frames


_THREAD_STATE = threading.local()


def rgb_converter():
    """This thread's colour converter, shared by every reader (and every frame) it decodes.

    PyAV >= 17's ``frame.to_ndarray(format=...)`` builds a new SwsContext for each frame: 1.6 of the 1.65 ms a
    112x112 frame took (10 ms at 720p against 0.6 ms reused), and even one converter per reader left ~4 ms per
    opened file, most of a short training clip's conversion. The pixels are the same. PyAV-Org/PyAV#2320, fixed
    upstream by PyAV-Org/PyAV#2379 (one context per thread), not in a release yet (18.1.0)."""
    from av.video.reformatter import VideoReformatter

    converter = getattr(_THREAD_STATE, "converter", None)
    if converter is None:
        converter = _THREAD_STATE.converter = VideoReformatter()
    return converter


@dataclass(frozen=True)
class PacketIndex:
    """Presentation timestamps of the stream's frames (ascending, stream time base) and keyframe positions."""

    pts: tuple[int, ...]
    keyframes: tuple[int, ...]
    time_base: float
    origin: int  # timestamp of t = 0 (the stream's start time)
    sequential: bool  # packets carry no timestamps: frames are numbered in decoding order


def index_packets(container, stream, path: str | Path) -> PacketIndex:
    """Read every packet of ``stream`` (no decoding) into a ``PacketIndex``; rewinds the container."""
    import av

    stamps: list[tuple[int, bool]] = []
    missing = 0
    try:
        for packet in container.demux(stream):
            if packet.size == 0:
                continue
            ts = packet.pts if packet.pts is not None else packet.dts
            missing += ts is None
            stamps.append((ts if ts is not None else len(stamps), packet.is_keyframe))
    except av.error.FFmpegError as exc:
        log.warning(
            "%s: stopped reading packets after %d (%s); frames after that are ignored", path, len(stamps), exc
        )
    if not stamps:
        raise errors.empty_video(path, "its video stream has no frames")
    sequential = missing > 0
    if not sequential:
        stamps.sort(key=lambda item: item[0])
    keys = tuple(i for i, (_, key) in enumerate(stamps) if key) or (0,)
    pts = tuple(ts for ts, _ in stamps)
    time_base = float(stream.time_base) if stream.time_base else 0.0
    origin = stream.start_time if stream.start_time is not None and not sequential else pts[0]
    return PacketIndex(pts, keys, time_base, min(origin, pts[0]), sequential)


class PyAVReader(VideoReader):
    """Reader on PyAV (FFmpeg bundled with the wheel). Use ``open_video``."""

    backend = "pyav"

    def __init__(self, path: str | Path, num_threads: int = 0, cache: FrameCache | None = None):
        self._container = open_container(path)
        super().__init__(path, cache)
        try:
            self._setup(num_threads)
        except BaseException:
            self._container.close()
            raise

    def _setup(self, num_threads: int) -> None:
        stream = video_stream(self._container, self.path)
        stream.thread_type = "AUTO"  # frame + slice threads
        stream.codec_context.thread_count = num_threads  # 0: FFmpeg picks one per core
        self._stream = stream
        self._index = index_packets(self._container, stream, self.path)
        self._pts_to_index = {ts: i for i, ts in enumerate(self._index.pts)}
        self.num_frames = len(self._index.pts)
        self.fps = _average_fps(stream, self._index, self.num_frames)
        self.timestamps = self._frame_times()
        self._frames: Iterator | None = None
        self._pos = -1  # index of the last frame the decoder produced
        self._wanted: frozenset[int] = frozenset({0})  # timestamps of the frames the current request needs
        self._skip_passing = False  # decided below, once the frame size is known
        self._bad_packets = 0
        first = self._first_frame()
        self._first_nbytes = _frame_bytes(first)
        # Passing frames are worth decoding only while the cache could keep them all for later roles.
        self._skip_passing = not self._index.sequential and (
            self.num_frames * self._first_nbytes > self.cache.max_bytes
        )
        self.rotation = _quarter_turns(first.rotation, self.path) * QUARTER_TURN
        h, w = first.height, first.width
        self.height, self.width = (w, h) if self.rotation % 180 else (h, w)

    def _frame_times(self) -> tuple[float, ...]:
        if self._index.sequential or not self._index.time_base:
            return tuple(i / self.fps for i in range(self.num_frames))
        tb, origin = self._index.time_base, self._index.origin
        return tuple((ts - origin) * tb for ts in self._index.pts)

    def _first_frame(self):
        cached = self.cache.get((self.key, 0))
        if cached is not None:
            return cached
        try:
            return self._decode_to(0)
        except errors.VideoError:
            raise
        except Exception as exc:  # FFmpeg and codec errors of any kind: the file cannot be decoded
            raise errors.corrupt_video(self.path, f"the first frame does not decode: {exc}") from None

    # ------------------------------------------------------------------ fetching
    def _iter_rgb(self, indices: list[int]) -> Iterator[tuple[int, np.ndarray]]:
        self._want(indices)
        for idx in indices:
            frame = self.cache.get((self.key, idx))
            if frame is None:
                frame = self._decode_to(idx)
            yield idx, self._to_rgb(frame)

    def _prefetch(self, indices: list[int]) -> None:
        self._want(indices)
        for idx in indices:  # decoded frames are cached as they are (no RGB conversion until sampled)
            if self.cache.get((self.key, idx)) is None:
                self._decode_to(idx)

    def _want(self, indices: list[int]) -> None:
        pts = self._index.pts
        self._wanted = frozenset(pts[i] for i in indices)

    def _frame_nbytes(self) -> int:
        return self._first_nbytes

    def _to_rgb(self, frame) -> np.ndarray:
        rgb = rgb_converter().reformat(frame, format="rgb24").to_ndarray()
        if self.rotation:
            rgb = np.ascontiguousarray(np.rot90(rgb, k=self.rotation // QUARTER_TURN))
        return rgb

    def _decode_to(self, target: int):
        """Decode frame ``target`` (continuing forward when cheaper than a seek); store it as requested."""
        keys = self._index.keyframes
        k = max(bisect.bisect_right(keys, target) - 1, 0)
        # Keep decoding forward unless that decodes many more frames than a seek would (then seek): frames
        # passed on the way are cached, so later roles rarely find holes between the frames one role sampled.
        extra = keys[k] - (self._pos + 1)
        forward_ok = (
            self._frames is not None and self._pos < target and extra <= target - keys[k] + SEEK_COST_FRAMES
        )
        if not forward_ok:
            self._seek(keys[k])
        frame = self._advance_to(target)
        for retry in range(1, MAX_SEEK_RETRIES + 1):
            if frame is not None:
                break
            earlier = keys[k - retry] if k - retry >= 0 else None
            log.debug("%s: seek landed after frame %d; seeking to %s", self.path, target, earlier)
            self._seek(earlier)
            frame = self._advance_to(target)
        if frame is None:
            self._seek(None)
            frame = self._advance_to(target, allow_late=True)
        self.cache.put((self.key, target), frame, _frame_bytes(frame), requested=True)
        return frame

    def _advance_to(self, target: int, allow_late: bool = False):
        """Decode forward to ``target``. None if the first frame after a seek is already past it."""
        last, first = None, True
        for frame in self._frames:
            idx = self._index_of(frame)
            self._pos = idx
            self._count_decoded(idx)
            if idx == target:
                return frame
            self.cache.put((self.key, idx), frame, _frame_bytes(frame), requested=False)
            if idx > target:
                if first and not allow_late:
                    return None
                log.warning("%s: frame %d did not decode; using the nearest decoded frame", self.path, target)
                self._frames = None  # the decoder is past the target: the next request re-seeks
                return last if last is not None else frame
            first = False
            last = frame
        self._frames = None
        if last is None:
            raise errors.corrupt_video(self.path, f"no frame decodes at or after frame {target}")
        log.warning("%s: frames from %d on did not decode; using frame %d", self.path, target, self._pos)
        return last

    def _seek(self, keyframe: int | None) -> None:
        """Position the demuxer at ``keyframe`` (None: the very start) and restart the frame iterator."""
        if keyframe is None or self._index.sequential:
            self._container.seek(0, backward=True, any_frame=False)
            self._pos = -1
        else:
            self._container.seek(self._index.pts[keyframe], stream=self._stream, backward=True)
            self._pos = keyframe - 1
        self._frames = self._decode_packets()

    def _decode_packets(self) -> Iterator:
        import av

        context = self._stream.codec_context
        for packet in self._container.demux(self._stream):
            if self._skip_passing:
                # A non-reference frame nobody asked for can be dropped before decoding: no other frame depends
                # on it, so decoded frames stay bit-identical (tested); 40 % of x264's default output is such.
                wanted = packet.pts is None or packet.pts in self._wanted
                context.skip_frame = "DEFAULT" if wanted else "NONREF"
            try:
                frames = packet.decode()
            except av.error.FFmpegError as exc:
                self._bad_packets += 1
                if self._bad_packets > MAX_BAD_PACKETS:
                    detail = f"{self._bad_packets} packets fail to decode: {exc}"
                    raise errors.corrupt_video(self.path, detail) from None
                continue
            yield from frames

    def _index_of(self, frame) -> int:
        if self._index.sequential or frame.pts is None:
            return self._pos + 1
        idx = self._pts_to_index.get(frame.pts)
        if idx is None:  # a timestamp the index does not know: the nearest known frame
            pts = self._index.pts
            idx = min(bisect.bisect_left(pts, frame.pts), len(pts) - 1)
        return idx

    def close(self) -> None:
        self._frames = None
        self._container.close()


def _average_fps(stream, index: PacketIndex, num_frames: int) -> float:
    """The stream's average frame rate (what decord reports), else one derived from the timestamps."""
    for rate in (stream.average_rate, stream.guessed_rate):
        if rate is not None and float(rate) > 0:
            return float(rate)
    span = (index.pts[-1] - index.pts[0]) * index.time_base
    return (num_frames - 1) / span if num_frames > 1 and span > 0 else 1.0


def _quarter_turns(rotation: float | None, path: str) -> int:
    """Counter-clockwise display rotation in quarter turns (0-3); other angles are ignored with a warning."""
    if not rotation:
        return 0
    turns, rest = divmod(float(rotation), QUARTER_TURN)
    if rest:
        log.warning("%s: display rotation %s is not a multiple of 90 degrees; ignored", path, rotation)
        return 0
    return int(turns) % 4


def _frame_bytes(frame) -> int:
    """Bytes of a decoded frame's planes, computed once per (pixel format, width, height)."""
    layout = (frame.format.name, frame.width, frame.height)
    size = _LAYOUT_BYTES.get(layout)
    if size is None:
        size = _LAYOUT_BYTES[layout] = sum(plane.buffer_size for plane in frame.planes)
    return size
