"""Dataset video compression: the ``videos_3fps_480_noaudio`` copies the official datasets ship.

Each video becomes an H.264 MP4 with no audio, the short side scaled to 480 (never upscaled; even sizes), display
rotation applied to the pixels, and a constant 3 fps: output frame ``k`` (time ``k / fps``) shows the latest source
frame whose time rounds to slot ``k`` or earlier, as FFmpeg's ``fps`` filter does; the frame count is
``round(duration * fps)``, so the duration is kept to within half an output frame.

Batches are resumable: a video is written to a hidden temporary name and renamed when complete, finished outputs are
skipped, and a file that fails is reported and skipped without stopping the others.
"""

from __future__ import annotations

import logging
import math
import os
from collections.abc import Iterable, Iterator
from concurrent.futures import ProcessPoolExecutor, as_completed
from dataclasses import dataclass, field
from fractions import Fraction
from pathlib import Path

from videomind.video.errors import VideoError
from videomind.video.probe import VIDEO_SUFFIXES, open_container, video_stream

log = logging.getLogger(__name__)

DEFAULT_FPS = 3.0
DEFAULT_SHORT_SIDE = 480
OUTPUT_SUFFIX = ".mp4"
PARTIAL_PREFIX = "."
PARTIAL_TAG = ".partial"
X264_OPTIONS = {"crf": "23", "preset": "veryfast"}
KEYFRAME_SECONDS = 10  # one keyframe every 10 s keeps seeks cheap for the sampler


@dataclass(frozen=True)
class CompressReport:
    """Outcome of a batch: outputs written, outputs already there, and ``(source, reason)`` failures."""

    written: tuple[str, ...] = ()
    skipped: tuple[str, ...] = ()
    failed: tuple[tuple[str, str], ...] = field(default_factory=tuple)

    def to_dict(self) -> dict:
        return {
            "written": list(self.written),
            "skipped": list(self.skipped),
            "failed": [list(f) for f in self.failed],
        }


def output_size(height: int, width: int, short_side: int = DEFAULT_SHORT_SIDE) -> tuple[int, int]:
    """``(h, w)`` with the short side scaled to ``short_side`` (never up), aspect kept, both even."""
    scale = min(1.0, short_side / min(height, width))
    return _even(height * scale), _even(width * scale)


def compress_videos(
    src: str | Path,
    dst: str | Path,
    fps: float = DEFAULT_FPS,
    short_side: int = DEFAULT_SHORT_SIDE,
    workers: int = 1,
    progress: bool = True,
) -> CompressReport:
    """Compress every video under ``src`` (recursively) into ``dst``, keeping relative paths (suffix ``.mp4``).

    ``src`` may also be one video file; then ``dst`` is the output file, or a folder for it.
    """
    tasks = list(_plan(Path(src), Path(dst)))
    written, skipped, failed = [], [], []
    todo = []
    for source, target in tasks:
        (skipped if target.exists() else todo).append((source, target))
    skipped = [str(t) for _, t in skipped]
    threads = max(1, (os.cpu_count() or 1) // max(workers, 1))
    for source, target, error in _run(todo, fps, short_side, workers, threads, progress):
        if error is None:
            written.append(str(target))
        else:
            log.warning("skipped %s: %s", source, error)
            failed.append((str(source), error))
    return CompressReport(tuple(written), tuple(skipped), tuple(failed))


def compress_video(
    src: str | Path,
    dst: str | Path,
    fps: float = DEFAULT_FPS,
    short_side: int = DEFAULT_SHORT_SIDE,
    threads: int = 0,
) -> Path:
    """Compress one video to ``dst`` (written under a temporary name, then renamed). Returns ``dst``."""
    dst = Path(dst)
    dst.parent.mkdir(parents=True, exist_ok=True)
    partial = dst.with_name(f"{PARTIAL_PREFIX}{dst.stem}{PARTIAL_TAG}{dst.suffix or OUTPUT_SUFFIX}")
    try:
        _transcode(Path(src), partial, fps, short_side, threads)
        os.replace(partial, dst)
    finally:
        partial.unlink(missing_ok=True)
    return dst


# ---------------------------------------------------------------------------------------------- batch plumbing
def _plan(src: Path, dst: Path) -> Iterator[tuple[Path, Path]]:
    if src.is_file():
        target = dst if dst.suffix else dst / (src.stem + OUTPUT_SUFFIX)
        if target.resolve() == src.resolve():
            raise VideoError(
                f"the output {target} is the source itself; give another output file or folder", src
            )
        yield src, target
        return
    if not src.is_dir():
        raise VideoError(f"source folder not found: {src}", src)
    if dst.resolve() == src.resolve() or dst.resolve().is_relative_to(src.resolve()):
        # the sources would count as finished outputs (or outputs as new sources): nothing sensible can happen
        raise VideoError(
            f"the output folder {dst} is (inside) the source folder {src}; give a folder outside it", src
        )
    seen: dict[Path, Path] = {}
    for path in sorted(src.rglob("*")):
        if (
            not path.is_file()
            or path.suffix.lower() not in VIDEO_SUFFIXES
            or path.name.startswith(PARTIAL_PREFIX)
        ):
            continue
        target = dst / path.relative_to(src).with_suffix(OUTPUT_SUFFIX)
        if target in seen:
            log.warning("skipped %s: its output %s is already made from %s", path, target, seen[target])
            continue
        seen[target] = path
        yield path, target


def _run(todo, fps, short_side, workers, threads, progress) -> Iterable[tuple[Path, Path, str | None]]:
    from tqdm import tqdm

    bar = tqdm(total=len(todo), unit="video", disable=not progress, desc="compress")
    try:
        if workers <= 1:
            for source, target in todo:
                yield source, target, _safe(source, target, fps, short_side, threads)
                bar.update()
            return
        with ProcessPoolExecutor(max_workers=workers) as pool:
            futures = {pool.submit(_safe, s, t, fps, short_side, threads): (s, t) for s, t in todo}
            for future in as_completed(futures):
                source, target = futures[future]
                yield source, target, future.result()
                bar.update()
    finally:
        bar.close()


def _safe(source: Path, target: Path, fps: float, short_side: int, threads: int) -> str | None:
    """Compress one file; the error message instead of an exception (a bad file must not stop the batch)."""
    try:
        compress_video(source, target, fps, short_side, threads)
    except VideoError as exc:
        return str(exc)
    except Exception as exc:  # FFmpeg, OS and encoder errors: report and move on
        return f"{type(exc).__name__}: {exc}"
    return None


# ---------------------------------------------------------------------------------------------- transcoding
def _transcode(src: Path, dst: Path, fps: float, short_side: int, threads: int) -> None:
    import av

    with open_container(src) as source:
        stream = video_stream(source, src)
        stream.thread_type = "AUTO"
        stream.codec_context.thread_count = threads
        total = _video_seconds(source, stream)
        slots = max(1, round(total * fps))
        with av.open(str(dst), mode="w", format="mp4") as out:
            writer = None
            for k, frame in _resample(source, stream, fps, slots):
                if writer is None:
                    writer = _Writer(out, frame, fps, short_side, threads)
                writer.write(frame, k)
            if writer is None:
                raise VideoError(f"{src}: no frame decodes; nothing to write", src)
            writer.close()


def _resample(source, stream, fps: float, slots: int) -> Iterator[tuple[int, object]]:
    """``(output slot, source frame)`` for every slot ``0 .. slots-1`` (latest frame at or before each slot)."""
    prev, k, origin = None, 0, None
    for frame in source.decode(stream):
        t = frame.time if frame.time is not None else (0.0 if prev is None else k / fps)
        origin = t if origin is None else origin
        slot = math.floor((t - origin) * fps + 0.5)
        while prev is not None and k < min(slot, slots):
            yield k, prev
            k += 1
        prev = frame
    while prev is not None and k < slots:
        yield k, prev
        k += 1


def _video_seconds(container, stream) -> float:
    if stream.duration and stream.time_base:
        return float(stream.duration * stream.time_base)
    if container.duration:
        return container.duration / 1_000_000
    raise VideoError("the video's duration is unknown (no stream or container duration)")


class _Writer:
    """H.264 encoder sized on the first frame (display orientation)."""

    def __init__(self, out, first, fps: float, short_side: int, threads: int):
        from av.video.reformatter import VideoReformatter

        self.turns = (round((first.rotation or 0) / 90)) % 4
        h, w = (first.width, first.height) if self.turns % 2 else (first.height, first.width)
        self.height, self.width = output_size(h, w, short_side)
        rate = Fraction(fps).limit_denominator(1001)
        self.time_base = 1 / rate
        self.stream = out.add_stream("libx264", rate=rate, options=X264_OPTIONS)
        self.stream.width, self.stream.height, self.stream.pix_fmt = self.width, self.height, "yuv420p"
        self.stream.codec_context.gop_size = max(1, round(KEYFRAME_SECONDS * fps))
        self.stream.codec_context.thread_count = threads
        self.out = out
        # reused converters: a frame's own reformat() builds a new SwsContext each call (pyav_reader.py)
        # Kept per writer, not pyav_reader.rgb_converter(): with that one (imported inside the forked pool
        # worker) `video compress --workers 2` hung in CI and here; the cause inside the worker is not traced.
        self.to_rgb, self.to_yuv = VideoReformatter(), VideoReformatter()

    def write(self, frame, k: int) -> None:
        import av
        import numpy as np

        if self.turns:
            rgb = self.to_rgb.reformat(frame, format="rgb24").to_ndarray()
            rgb = np.ascontiguousarray(np.rot90(rgb, k=self.turns))
            frame = av.VideoFrame.from_ndarray(rgb, format="rgb24")
        image = self.to_yuv.reformat(
            frame, width=self.width, height=self.height, format="yuv420p", interpolation="BICUBIC"
        )
        image.pts, image.time_base = k, self.time_base
        self.out.mux(self.stream.encode(image))

    def close(self) -> None:
        self.out.mux(self.stream.encode())


def _even(x: float) -> int:
    return max(2, 2 * round(x / 2))
