"""``videomind bench scale``: ground + verify latency and peak memory against the video's length.

Videos of 1, 5, 15 and 60 minutes are generated once (default 320x180, 10 fps, H.264 with a keyframe every
5 s, so that an hour of video is made in minutes; kept in a cache folder). For each length a fresh process builds
the random model (``--shape``, default tiny), warms up on a short clip, then runs one query with the grounder and
the verifier (no answerer) in the fast mode. Reported per length: wall and CPU seconds, their split into decoding /
vision tower / language model, the frames decoded, the frames the grounder sampled, and the peak resident memory
during the query (``VmHWM`` reset just before it) with the resident memory before it.

Every role's input is capped (grounder: <= 150 frames at 1 fps; verifier: <= 64 frames at 2 fps per candidate),
and the reader never decodes or holds the whole video (a packet index, seeks to keyframes, a bounded frame cache),
so beyond the caps (2.5 minutes for the grounder) latency and memory should stay flat; decoding still grows with
the spacing of the sampled frames up to the keyframe interval. ``ratios`` gives the longest length's figures over
the first length at or past the caps.
"""

from __future__ import annotations

import argparse
import gc
import json
import logging
import sys
import time
from pathlib import Path
from typing import Any

log = logging.getLogger(__name__)

DEFAULT_MINUTES = (1.0, 5.0, 15.0, 60.0)
DEFAULT_FPS = 10.0
DEFAULT_WIDTH, DEFAULT_HEIGHT = 320, 180
DEFAULT_GOP_SECONDS = 5.0
DEFAULT_MAX_NEW_TOKENS = 16
CAP_MINUTES = 2.5  # the grounder's 150 frames at 1 fps; the verifier's 64 frames at 2 fps need 32 s windows
WARMUP_SECONDS = 8.0


def add_arguments(parser: argparse.ArgumentParser) -> None:
    from videomind.bench.common import DEFAULT_CACHE, SHAPES

    parser.add_argument("--shape", choices=tuple(SHAPES), default="tiny", help="model size (default tiny)")
    parser.add_argument(
        "--minutes", type=float, nargs="+", default=list(DEFAULT_MINUTES),
        help="video lengths (default 1 5 15 60)",
    )  # fmt: skip
    parser.add_argument("--fps", type=float, default=DEFAULT_FPS, help="generated frame rate (default 10)")
    parser.add_argument("--width", type=int, default=DEFAULT_WIDTH, help="generated width (default 320)")
    parser.add_argument("--height", type=int, default=DEFAULT_HEIGHT, help="generated height (default 180)")
    parser.add_argument(
        "--gop-seconds", type=float, default=DEFAULT_GOP_SECONDS, help="keyframe interval (default 5 s)"
    )
    parser.add_argument(
        "--max-new-tokens",
        type=int,
        default=DEFAULT_MAX_NEW_TOKENS,
        help="grounder generation cap (default 16)",
    )
    parser.add_argument("--seed", type=int, default=0, help="model seed (default 0)")
    parser.add_argument(
        "--threads", type=int, default=0, help="torch intra-op threads (default 0: torch's choice)"
    )
    parser.add_argument(
        "--cache-dir", type=Path, default=DEFAULT_CACHE, help="where generated videos are kept"
    )
    parser.add_argument("--device", default="cpu", help="where the model runs (default cpu; e.g. cuda)")


def run(args: argparse.Namespace) -> dict[str, Any]:
    from videomind.bench.common import machine_info
    from videomind.bench.decode import ensure_video

    gop = max(1, round(args.gop_seconds * args.fps))

    def video(seconds: float) -> Path:
        return ensure_video(args.cache_dir, seconds, args.fps, args.width, args.height, gop)

    warmup = video(WARMUP_SECONDS)
    series = []
    for minutes in sorted(args.minutes):
        path = video(minutes * 60)
        log.info("scale: %g minutes in a fresh process", minutes)
        point = measure(args.shape, path, warmup, args.max_new_tokens, args.seed, args.threads, args.device)
        series.append({"minutes": minutes, **point})
    return {
        "bench": "scale",
        "shape": args.shape,
        "device": args.device,
        "video": {"fps": args.fps, "size": [args.height, args.width], "keyframe_interval_frames": gop},
        "max_new_tokens": args.max_new_tokens,
        "threads": args.threads,
        "series": series,
        "ratios": scale_ratios(series),
        "machine": machine_info(),
    }


def scale_ratios(series: list[dict[str, Any]]) -> dict[str, Any]:
    """The longest video's seconds, peak memory and decoded frames over the first length at or past the caps."""
    capped = [p for p in series if p["minutes"] >= CAP_MINUTES]
    if len(capped) < 2:
        return {}
    first, last = capped[0], capped[-1]
    out: dict[str, Any] = {"from_minutes": first["minutes"], "to_minutes": last["minutes"]}
    for key in ("seconds", "cpu_seconds", "peak_rss_mb", "query_extra_mb", "gpu_peak_mb", "decoded_frames"):
        a, b = last.get(key), first.get(key)
        out[f"{key}_longest_over_first_capped"] = round(a / b, 3) if a is not None and b else None
    return out


def measure(
    shape: str,
    video: Path,
    warmup: Path,
    max_new_tokens: int,
    seed: int,
    threads: int = 0,
    device: str = "cpu",
) -> dict[str, Any]:
    """One length in a fresh interpreter."""
    from videomind.bench.common import child_report

    args = [shape, str(video), str(warmup), str(max_new_tokens), str(seed), str(threads), device]
    return child_report("videomind.bench.scale", args, f"scale point {video}")


def child_measure(
    shape: str,
    video: Path,
    warmup: Path,
    max_new_tokens: int,
    seed: int,
    threads: int = 0,
    device: str = "cpu",
) -> dict[str, Any]:
    """Build the model, warm up, then time ground + verify on ``video`` and report its memory."""
    import torch

    from videomind.agent import AgentOptions, GenerationSettings, VideoMindAgent
    from videomind.agent.backend import ModelBackend
    from videomind.bench.agent import PARTS, run_query
    from videomind.bench.common import build_model, peak_rss_since_reset, reset_peak_rss, rss_megabytes
    from videomind.bench.timing import Clock, instrument, set_threads, timed_opener
    from videomind.video import open_video

    set_threads(threads)
    model, processor = build_model(shape, seed=seed, device=device)
    clock = Clock()
    options = AgentOptions(use_answerer=False, generation=GenerationSettings(max_new_tokens=max_new_tokens))
    agent = VideoMindAgent(ModelBackend(model, processor), options, open_video=timed_opener(clock))
    instrument(model, clock)
    run_query(agent, clock, warmup, True, options=None)
    gc.collect()
    before = rss_megabytes()["rss_mb"]
    reset = reset_peak_rss()
    gpu = torch.cuda.is_available() and model.device.type == "cuda"
    if gpu:
        torch.cuda.reset_peak_memory_stats(model.device)
    result = run_query(agent, clock, video, True, options=None)
    peak = peak_rss_since_reset() if reset else rss_megabytes()["peak_rss_mb"]
    gpu_peak = round(torch.cuda.max_memory_allocated(model.device) / 1e6, 1) if gpu else None
    with open_video(video) as reader:
        duration = reader.duration
    parts = {p: round(sum(r.get(p, 0.0) for r in result["roles"].values()), 3) for p in PARTS}
    return {
        "duration": round(duration, 1),
        "seconds": result["seconds"],
        "cpu_seconds": result["cpu_seconds"],
        **{f"{p}_seconds": v for p, v in parts.items()},
        "roles": result["roles"],
        "decoded_frames": result["decoded_frames"],
        "grounder_frames": result["frames"].get("grounder"),
        "candidates": len(result["moments"]),
        "rss_before_mb": before,
        "peak_rss_mb": peak,
        "query_extra_mb": round(peak - before, 1) if peak is not None and before is not None else None,
        "peak_is_query_only": reset,
        "gpu_peak_mb": gpu_peak,
        "measured_at": time.strftime("%H:%M:%S"),
    }


def table(report: dict[str, Any]) -> str:
    """One line per length: seconds (decode / vision / text), decoded frames, peak MB."""
    lines = [
        f"{'minutes':>8}{'seconds':>9}{'decode':>8}{'vision':>8}{'text':>8}{'decoded':>9}{'peak MB':>9}{'extra MB':>9}"
    ]
    for p in report["series"]:
        lines.append(
            f"{p['minutes']:>8g}{p['seconds']:>9.2f}{p['decode_seconds']:>8.2f}{p['vision_seconds']:>8.2f}"
            f"{p['text_seconds']:>8.2f}{p['decoded_frames']:>9}{p['peak_rss_mb']:>9.0f}{p['query_extra_mb']:>9.0f}"
        )
    lines.extend(f"{k}: {v}" for k, v in report["ratios"].items())
    return "\n".join(lines)


def _main(argv: list[str]) -> int:
    from videomind.bench.common import CHILD_FLAG

    if argv[:1] != [CHILD_FLAG]:
        raise SystemExit("internal entry point of `videomind bench scale`; run that command instead")
    shape, video, warmup = argv[1], Path(argv[2]), Path(argv[3])
    tokens, seed, threads = int(argv[4]), int(argv[5]), int(argv[6])
    print(json.dumps(child_measure(shape, video, warmup, tokens, seed, threads, argv[7])))
    return 0


if __name__ == "__main__":  # the per-length child processes
    raise SystemExit(_main(sys.argv[1:]))
