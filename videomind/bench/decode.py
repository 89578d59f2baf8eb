"""``videomind bench decode``: our reader vs decord (the official path) vs a decoding floor.

On a generated video (default 10 minutes, 640x360, 30 fps, H.264 with x264's default 250-frame keyframe interval,
kept in a cache folder), two role budgets are timed:

- ``grounder``: 1 fps, at most 150 frames, the whole video;
- ``answerer``: 2 fps, at most 32 frames, a 60 s window in the middle.

For each: ``ours`` = ``open_video`` + ``reader.sample`` (index, decode, RGB, rotation, resize to the role's size, a
fresh cache), ``ours_frames`` = the same frames at full size without resizing (what decord returns), ``decord`` =
``decord.VideoReader`` + ``get_batch`` of the same indices (skipped when decord is not installed), ``official`` =
that batch resized as torchvision does (the whole official path, comparable to ``ours``), ``floor`` = PyAV
decoding every frame of the needed range (from the keyframe before it) with no conversion at all. Times are the best
of ``--repeat`` runs, wall clock (``seconds``) and CPU of all threads (``cpu_seconds``, steadier on a shared
machine); ratios ``ours_over_floor``, ``decord_over_ours`` and ``official_over_ours`` (> 1: we are faster), and the
same on CPU time (``cpu_...``).
"""

from __future__ import annotations

import argparse
import logging
from pathlib import Path
from typing import Any

log = logging.getLogger(__name__)

DEFAULT_SECONDS = 600.0
DEFAULT_FPS = 30.0
DEFAULT_WIDTH, DEFAULT_HEIGHT = 640, 360
DEFAULT_CACHE = Path.home() / ".cache" / "videomind" / "bench"
ANSWER_WINDOW_S = 60.0
NOISE_TILES = 8  # pre-made noise images cycled through the frames (fresh noise per frame would dominate)
NOISE_AMPLITUDE = 6
SQUARES = 3


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--video", type=Path, help="time this video instead of the generated one")
    parser.add_argument(
        "--seconds", type=float, default=DEFAULT_SECONDS, help="generated length (default 600)"
    )
    parser.add_argument("--fps", type=float, default=DEFAULT_FPS, help="generated frame rate (default 30)")
    parser.add_argument("--width", type=int, default=DEFAULT_WIDTH, help="generated width (default 640)")
    parser.add_argument("--height", type=int, default=DEFAULT_HEIGHT, help="generated height (default 360)")
    parser.add_argument("--repeat", type=int, default=1, help="runs per measurement, best kept (default 1)")
    parser.add_argument("--threads", type=int, default=0, help="decoder threads, 0 = auto (default 0)")
    parser.add_argument(
        "--cache-dir", type=Path, default=DEFAULT_CACHE, help="where the generated video is kept"
    )
    parser.add_argument("--no-decord", action="store_true", help="skip decord even when it is installed")


def run(args: argparse.Namespace) -> dict[str, Any]:
    from videomind.bench.common import machine_info
    from videomind.video import ANSWERER_BUDGET, GROUNDER_BUDGET, open_video

    path = args.video or ensure_video(args.cache_dir, args.seconds, args.fps, args.width, args.height)
    with open_video(path) as reader:
        duration, meta = reader.duration, _meta(reader, path)
    window = min(ANSWER_WINDOW_S, duration)
    middle = duration / 2
    cases = {
        "grounder": (GROUNDER_BUDGET, None, None),
        "answerer": (ANSWERER_BUDGET, middle - window / 2, middle + window / 2),
    }
    use_decord = not args.no_decord and _decord_available()
    results = {name: _case(path, *spec, args, use_decord) for name, spec in cases.items()}
    peak = _peak_rss_megabytes()
    return {
        "bench": "decode",
        "video": meta,
        "cases": results,
        "peak_rss_megabytes": peak,
        "machine": machine_info(),
    }


def _case(path: Path, budget, start, end, args, use_decord: bool) -> dict[str, Any]:
    from videomind.bench.common import best_time
    from videomind.video import FrameCache, open_video

    stats: dict[str, int] = {}

    def ours():
        with open_video(path, num_threads=args.threads, cache=FrameCache()) as reader:
            clip = reader.sample(budget, start, end)
            stats.update(decoded=reader.decoded_frames, cache_bytes=reader.cache.nbytes)
            return clip

    def ours_frames(indices):
        with open_video(path, num_threads=args.threads, cache=FrameCache()) as reader:
            return reader.get_frames(indices)

    t_ours, clip = best_time(ours, args.repeat)
    indices = list(clip.indices)
    t_frames, _ = best_time(lambda: ours_frames(indices), args.repeat)
    t_floor, floor_frames = best_time(
        lambda: decode_floor(path, min(indices), max(indices), args.threads), args.repeat
    )
    timings = {"ours": t_ours, "ours_frames": t_frames, "floor": t_floor}
    if use_decord:
        timings["decord"], _ = best_time(lambda: decord_batch(path, indices, args.threads), args.repeat)
        size = tuple(clip.frames.shape[2:])
        timings["official"], _ = best_time(
            lambda: decord_resized(path, indices, size, args.threads), args.repeat
        )
    out: dict[str, Any] = {
        "window": [start, end],
        "frames": len(indices),
        "frame_size": list(clip.frames.shape[2:]),
        "decoded_frames": stats["decoded"],
        "floor_decoded_frames": floor_frames,
        "cache_megabytes": round(stats["cache_bytes"] / 1e6, 1),
        "seconds": {name: round(t.wall, 4) for name, t in timings.items()},
        "cpu_seconds": {name: round(t.cpu, 4) for name, t in timings.items()},
    }
    out.update(_ratios(out["seconds"], ""))
    out.update(_ratios(out["cpu_seconds"], "cpu_"))
    return out


def _ratios(sec: dict[str, float], prefix: str) -> dict[str, float]:
    ratios = {
        f"{prefix}ours_over_floor": round(sec["ours"] / sec["floor"], 3),
        f"{prefix}ours_frames_over_floor": round(sec["ours_frames"] / sec["floor"], 3),
    }
    if "decord" in sec:
        ratios[f"{prefix}decord_over_ours"] = round(sec["decord"] / sec["ours"], 3)
        ratios[f"{prefix}decord_over_ours_frames"] = round(sec["decord"] / sec["ours_frames"], 3)
        ratios[f"{prefix}official_over_ours"] = round(sec["official"] / sec["ours"], 3)
    return ratios


def decode_floor(path: Path, first: int, last: int, threads: int = 0) -> int:
    """Decode every frame from the keyframe at or before frame ``first`` through frame ``last``; no conversion.

    Returns how many frames were decoded. Frame numbers follow presentation order (the reader's indices).
    """
    import av

    with av.open(str(path)) as container:
        stream = container.streams.video[0]
        stream.thread_type = "AUTO"
        stream.codec_context.thread_count = threads
        pts = sorted(p.pts for p in container.demux(stream) if p.size and p.pts is not None)
        container.seek(pts[first], stream=stream, backward=True)
        count = 0
        for frame in container.decode(stream):
            count += 1
            if frame.pts is not None and frame.pts >= pts[last]:
                break
    return count


def decord_batch(path: Path, indices: list[int], threads: int = 0):
    """The official reading path: open with decord, one ``get_batch`` of the indices, to numpy."""
    import decord

    reader = decord.VideoReader(str(path), num_threads=threads)
    return reader.get_batch(indices).asnumpy()


def decord_resized(path: Path, indices: list[int], size: tuple[int, int], threads: int = 0):
    """The whole official path: decord's batch, then the bicubic antialiased resize torchvision does."""
    import torch

    from videomind.video.resize import resize_frames

    batch = torch.from_numpy(decord_batch(path, indices, threads)).permute(0, 3, 1, 2)
    return resize_frames(batch, size)


def ensure_video(
    folder: Path, seconds: float, fps: float, width: int, height: int, gop: int | None = None
) -> Path:
    """The generated benchmark video (made once, then reused from ``folder``); ``gop``: keyframe interval in frames
    (None: x264's default, 250)."""
    keyint = f"_g{gop}" if gop else ""
    path = Path(folder) / f"bench_{int(seconds)}s_{width}x{height}_{fps:g}fps{keyint}_h264.mp4"
    if path.exists():
        return path
    path.parent.mkdir(parents=True, exist_ok=True)
    partial = path.with_name("." + path.name)
    log.info("generating %s (one time)", path)
    _write_video(partial, seconds, fps, width, height, gop)
    partial.replace(path)
    return path


def _write_video(
    path: Path, seconds: float, fps: float, width: int, height: int, gop: int | None = None
) -> None:
    from fractions import Fraction

    import av

    with av.open(str(path), mode="w") as container:
        stream = container.add_stream("libx264", rate=Fraction(fps).limit_denominator(1001))
        stream.options = {"preset": "veryfast", "crf": "23"}
        stream.width, stream.height, stream.pix_fmt = width, height, "yuv420p"
        if gop:
            stream.codec_context.gop_size = gop
        for i, rgb in enumerate(_frames(round(seconds * fps), fps, width, height)):
            frame = av.VideoFrame.from_ndarray(rgb, format="rgb24")
            frame.pts = i
            container.mux(stream.encode(frame))
        container.mux(stream.encode())


def _frames(count: int, fps: float, width: int, height: int):
    """Moving gradient, squares crossing the frame, and cycled noise: compresses like ordinary footage."""
    import numpy as np

    rng = np.random.default_rng(0)
    noise = rng.integers(
        -NOISE_AMPLITUDE, NOISE_AMPLITUDE + 1, (NOISE_TILES, height, width, 3), dtype=np.int16
    )
    ys, xs = np.mgrid[0:height, 0:width]
    side = max(4, min(width, height) // 6)
    for i in range(count):
        t = i / fps
        base = np.empty((height, width, 3), dtype=np.int16)
        base[..., 0] = (xs + 20 * t) % 256
        base[..., 1] = (ys + 13 * t) % 256
        base[..., 2] = (xs + ys) // 4 % 256
        for k in range(SQUARES):
            x = int((t * (40 + 25 * k) + 150 * k) % max(1, width - side))
            y = int((t * (15 + 10 * k) + 60 * k) % max(1, height - side))
            base[y : y + side, x : x + side] = (255 * (k == 0), 255 * (k == 1), 255 * (k == 2))
        yield np.clip(base + noise[i % NOISE_TILES], 0, 255).astype(np.uint8)


def _meta(reader, path: Path) -> dict[str, Any]:
    return {
        "path": str(path),
        "duration": round(reader.duration, 3),
        "fps": reader.fps,
        "frames": reader.num_frames,
        "size": [reader.height, reader.width],
        "megabytes": round(Path(path).stat().st_size / 1e6, 2),
    }


def _peak_rss_megabytes() -> float | None:
    try:
        import resource
    except ImportError:  # not on Windows
        return None
    return round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024, 1)  # Linux reports KiB


def _decord_available() -> bool:
    try:
        import decord  # noqa: F401
    except ImportError:
        return False
    return True


def table(report: dict[str, Any]) -> str:
    """A human summary of ``run``'s report: wall seconds (CPU seconds) per reader and case."""
    names = ("ours", "ours_frames", "decord", "official", "floor")
    lines = [f"{'case':<10}{'frames':>7}" + "".join(f"{n:>20}" for n in names) + f"{'ours/floor':>12}"]
    for case_name, case in report["cases"].items():
        cells = []
        for n in names:
            wall, cpu = case["seconds"].get(n), case["cpu_seconds"].get(n)
            cells.append(f"{wall:>10.3f} ({cpu:6.3f})" if wall is not None else f"{'-':>20}")
        lines.append(
            f"{case_name:<10}{case['frames']:>7}" + "".join(cells) + f"{case['ours_over_floor']:>12.2f}"
        )
    return "\n".join(lines)
