"""The chosen moment as its own short MP4 (PyAV, H.264), so the page plays it from its start."""

from __future__ import annotations

import itertools
import logging
from fractions import Fraction
from pathlib import Path

from videomind.video.compress import output_size
from videomind.video.errors import VideoError
from videomind.video.probe import open_container, video_stream

log = logging.getLogger(__name__)

CLIP_SHORT_SIDE = 480  # never upscaled; keeps the encode quick on a CPU
CLIP_X264_OPTIONS = {"crf": "23", "preset": "veryfast"}
MAX_KEPT_CLIPS = 32  # older clips in the work folder are deleted


def cut_clip(src: str | Path, start: float, end: float, dst: str | Path) -> Path:
    """Re-encode the frames of ``src`` shown in ``[start, end]`` seconds to ``dst`` (timestamps from 0)."""
    import av
    from av.video.reformatter import VideoReformatter

    if end <= start:
        raise VideoError(f"cannot cut an empty clip [{start}, {end}] from {src}", src)
    dst = Path(dst)
    with open_container(src) as source:
        stream = video_stream(source, src)
        rate = Fraction(stream.average_rate or stream.guessed_rate or 25).limit_denominator(1001)
        if start > 0 and stream.time_base is not None:
            source.seek(int(start / stream.time_base), stream=stream, backward=True, any_frame=False)
        with av.open(str(dst), mode="w", format="mp4") as out:
            encoder, count = None, 0
            # reused: a frame's own reformat() builds a new SwsContext each call (video/pyav_reader.py)
            converter = VideoReformatter()
            for frame in source.decode(stream):
                t = frame.time if frame.time is not None else 0.0
                if t < start - 0.5 / float(rate):
                    continue
                if t > end:
                    break
                if encoder is None:
                    encoder = _encoder(out, frame, rate)
                image = converter.reformat(
                    frame, width=encoder.width, height=encoder.height, format="yuv420p"
                )
                image.pts, image.time_base = count, 1 / rate
                out.mux(encoder.encode(image))
                count += 1
            if encoder is None:
                raise VideoError(f"no frame of {src} lies in [{start:.2f}, {end:.2f}] s", src)
            out.mux(encoder.encode())
    log.debug("cut %s [%.2f, %.2f] s -> %s (%d frames)", src, start, end, dst, count)
    return dst


def _encoder(out, first, rate: Fraction):
    height, width = output_size(first.height, first.width, CLIP_SHORT_SIDE)
    stream = out.add_stream("libx264", rate=rate, options=CLIP_X264_OPTIONS)
    stream.width, stream.height, stream.pix_fmt = width, height, "yuv420p"
    return stream


class ClipFolder:
    """Where the demo writes clips: numbered files, the oldest deleted beyond ``keep``."""

    def __init__(self, folder: str | Path, keep: int = MAX_KEPT_CLIPS):
        self.folder = Path(folder)
        self.folder.mkdir(parents=True, exist_ok=True)
        self.keep = keep
        self._counter = itertools.count()

    def cut(self, src: str | Path, start: float, end: float) -> Path:
        dst = self.folder / f"moment_{next(self._counter):05d}_{start:.1f}-{end:.1f}s.mp4"
        self._prune()
        return cut_clip(src, start, end, dst)

    def _prune(self) -> None:
        clips = sorted(self.folder.glob("moment_*.mp4"))
        for old in clips[: max(0, len(clips) - self.keep + 1)]:
            old.unlink(missing_ok=True)
