"""``videomind bench agent``: one query end to end, our fast agent vs the plain official order.

A random-weight model of the chosen shape (``tiny``; ``medium``, about 0.13 B parameters; ``2b``, Qwen2-VL-2B's
real configuration in bf16) answers one multiple-choice question about a generated video (default 5 minutes,
640x360, 30 fps, H.264; kept in a cache folder) twice, side by side in one process:

- ``ours``: ``AgentOptions(fast=True)``, the default: one decoder and frame cache for the whole query, overlapping
  windows decoded once, vision features shared between roles and computed piece by piece as frames arrive, the
  decoding done ahead in a worker thread when a core is free (``--threads 1`` on two cores), the verifier's
  candidates batched on accelerators;
- ``baseline``: ``AgentOptions(fast=False)``, the plain official order: every role (and every verifier candidate)
  opens and decodes the video itself, one verifier forward per candidate, no feature reuse.

Both modes get the same inputs and the same generation cap (``--max-new-tokens``, default 16: a random model never
stops by itself, and the released roles answer in fewer tokens). Each role's wall time is split into decoding
(opening + sampling the video), the vision tower, the language model's passes over whole prompts (``text``: prefill,
the verifier's forward), its one-token decode steps (``steps``) and the rest
(tokenising, patchifying, the timestamp decoder, bookkeeping); decoding done by the worker thread while the model
ran is reported apart (``decode_ahead``, not part of the wall time), and ``decode`` is then the time the model
waited for frames. Reported: wall and CPU seconds per mode,
``ratios.baseline_over_ours`` (> 1: ours is faster), and ``identical_outputs`` (every moment within 1e-5 in start,
end and score, the same answer and response; in bf16 / fp16 the rule of ``bench/policy.py``). A warm-up query on a
short clip runs first in both modes. ``--device cuda`` runs the model on a GPU (part times then wait for the GPU);
``--sweep`` also times ours under each decoding policy (FFmpeg threads, answer-clip prefetch).
"""

from __future__ import annotations

import argparse
import logging
import time
from functools import partial
from pathlib import Path
from typing import Any

from videomind.bench.timing import (  # noqa: F401  (re-exported: bench scale and the tests use them from here)
    BACKGROUND,
    Clock,
    instrument,
    set_threads,
    timed_opener,
    torch_threads,
)

log = logging.getLogger(__name__)

DEFAULT_MINUTES = 5.0
DEFAULT_FPS = 30.0
DEFAULT_WIDTH, DEFAULT_HEIGHT = 640, 360
DEFAULT_MAX_NEW_TOKENS = 16
WARMUP_SECONDS = 8.0
TOLERANCE = 1e-5
TARGET_RATIO = 2.0
QUESTION = "What colour is the square that crosses the frame first?"
OPTIONS = ("red", "green", "blue", "yellow")
PARTS = ("decode", "vision", "text", "steps")


def add_arguments(parser: argparse.ArgumentParser) -> None:
    from videomind.bench.common import DEFAULT_CACHE, SHAPES

    parser.add_argument(
        "--shape", choices=tuple(SHAPES), default="medium", help="model size (default medium)"
    )
    parser.add_argument(
        "--video-minutes", type=float, default=DEFAULT_MINUTES, help="generated video length (default 5)"
    )
    parser.add_argument("--video", type=Path, help="use this video instead of the generated one")
    parser.add_argument("--fps", type=float, default=DEFAULT_FPS, help="generated frame rate (default 30)")
    parser.add_argument("--width", type=int, default=DEFAULT_WIDTH, help="generated width (default 640)")
    parser.add_argument("--height", type=int, default=DEFAULT_HEIGHT, help="generated height (default 360)")
    parser.add_argument(
        "--max-new-tokens", type=int, default=DEFAULT_MAX_NEW_TOKENS,
        help="generation cap of every text role, both modes (default %(default)s)",
    )  # fmt: skip
    parser.add_argument("--repeat", type=int, default=1, help="timed runs per mode, best kept (default 1)")
    parser.add_argument(
        "--threads", type=int, default=0,
        help="torch intra-op threads, both modes (default 0: torch's choice; 1 is steadier on a busy CPU)",
    )  # fmt: skip
    parser.add_argument(
        "--decode-ahead", choices=("auto", "on", "off"), default="auto",
        help="ours: decode in a worker thread while the model runs (auto: when a core is free)",
    )  # fmt: skip
    parser.add_argument(
        "--planner", action="store_true", help="also run the planner (off in the official eval)"
    )
    parser.add_argument("--seed", type=int, default=0, help="model seed (default 0)")
    parser.add_argument(
        "--cache-dir", type=Path, default=DEFAULT_CACHE, help="where generated videos are kept"
    )
    parser.add_argument("--device", default="cpu", help="where the model runs (default cpu; e.g. cuda)")
    parser.add_argument(
        "--dtype", default=None, help="override the shape's dtype (float32, bfloat16, float16)"
    )
    parser.add_argument(
        "--decode-threads", type=int, default=None, help="ours: FFmpeg threads (default: device rule)"
    )
    parser.add_argument(
        "--prefetch-answer-clips", choices=("auto", "on", "off"), default="auto",
        help="ours: decode the candidates' answer clips while the verifier runs (auto: device rule)",
    )  # fmt: skip
    parser.add_argument("--sweep", action="store_true", help="also time ours under each decoding policy")


# ---------------------------------------------------------------------------------------------- one query
def run_query(
    agent, clock: Clock, video: Path, fast: bool, options: tuple[str, ...] | None = OPTIONS, **overrides
) -> dict[str, Any]:
    """One timed query (``overrides``: agent options); the result and a per-role breakdown of the wall time."""
    clock.take()
    clock.decoded_frames = clock.vision_calls = 0
    backend = agent.backend
    backend.vision_calls = 0
    roles: dict[str, dict[str, float]] = {}
    marks = [time.perf_counter()]

    def on_step(step) -> None:
        now = time.perf_counter()
        parts = clock.take()
        total = now - marks[-1]
        entry = {"seconds": total, **{p: parts.get(p, 0.0) for p in PARTS}}
        entry["other"] = total - sum(entry[p] for p in PARTS)
        entry[BACKGROUND] = parts.get(BACKGROUND, 0.0)
        roles[step.role.value] = {k: round(v, 3) for k, v in entry.items()}
        marks.append(now)

    started, started_cpu = time.perf_counter(), time.process_time()
    choices = list(options) if options is not None else None
    result = agent.run(video, QUESTION, choices, fast=fast, on_step=on_step, **overrides)
    wall, cpu = time.perf_counter() - started, time.process_time() - started_cpu
    return {
        "seconds": round(wall, 3),
        "cpu_seconds": round(cpu, 3),
        "roles": roles,
        "frames": {step.role.value: step.view.num_frames for step in result.trace if step.view is not None},
        "vision_clips": backend.vision_calls,
        "vision_calls": clock.vision_calls,
        "decoded_frames": clock.decoded_frames,
        "grounder_success": result.grounder_success,
        "moments": [[m.start, m.end, m.score] for m in result.moments],
        "answer": result.answer,
        "response": result.response,
    }


def compare(ours: dict[str, Any], baseline: dict[str, Any], tolerance: float = TOLERANCE) -> dict[str, Any]:
    """Whether two query results agree: every moment within ``tolerance``, the same answer and response."""
    a, b = ours["moments"], baseline["moments"]
    delta = max((abs(x - y) for ma, mb in zip(a, b) for x, y in zip(ma, mb)), default=0.0)
    same_moments = len(a) == len(b) and delta <= tolerance
    same_answer = ours["answer"] == baseline["answer"] and ours["response"] == baseline["response"]
    return {
        "identical_outputs": bool(same_moments and same_answer),
        "max_moment_difference": delta,
        "same_answer": same_answer,
        "moments": len(a),
    }


def ratios(ours: dict[str, Any], baseline: dict[str, Any]) -> dict[str, Any]:
    """baseline / ours for the whole query (wall and CPU) and per role (wall)."""
    out: dict[str, Any] = {
        "baseline_over_ours": round(baseline["seconds"] / ours["seconds"], 3),
        "cpu_baseline_over_ours": round(baseline["cpu_seconds"] / ours["cpu_seconds"], 3),
    }
    out["per_role"] = {
        role: round(baseline["roles"][role]["seconds"] / part["seconds"], 3)
        for role, part in ours["roles"].items()
        if role in baseline["roles"] and part["seconds"] > 0
    }
    return out


# ---------------------------------------------------------------------------------------------- the bench
def run(args: argparse.Namespace) -> dict[str, Any]:
    """Build the model, time one query in both modes, compare; returns the JSON-safe report."""
    previous = torch_threads()
    set_threads(args.threads)
    try:
        return _run(args)
    finally:
        set_threads(previous)


def _run(args: argparse.Namespace) -> dict[str, Any]:
    from videomind.agent import AgentOptions, GenerationSettings, VideoMindAgent
    from videomind.agent.backend import ModelBackend
    from videomind.agent.feeder import decode_ahead_enabled, decode_threads, prefetch_answer_clips
    from videomind.bench.common import SHAPES, build_model, machine_info, parameter_summary
    from videomind.bench.decode import ensure_video
    from videomind.bench.policy import HALF_DTYPES, compare_half, sweep

    shape = SHAPES[args.shape]
    started = time.perf_counter()
    model, processor = build_model(shape, seed=args.seed, dtype=args.dtype, device=args.device)
    build_s = time.perf_counter() - started
    video = args.video or ensure_video(
        args.cache_dir, args.video_minutes * 60, args.fps, args.width, args.height
    )
    warmup = ensure_video(args.cache_dir, WARMUP_SECONDS, args.fps, args.width, args.height)
    clock = Clock()
    ahead = {"auto": None, "on": True, "off": False}[args.decode_ahead]
    prefetch = {"auto": None, "on": True, "off": False}[args.prefetch_answer_clips]
    options = AgentOptions(
        use_planner=args.planner, decode_ahead=ahead, decode_threads=args.decode_threads,
        prefetch_answer_clips=prefetch, generation=GenerationSettings(max_new_tokens=args.max_new_tokens),
    )  # fmt: skip
    agent = VideoMindAgent(ModelBackend(model, processor), options, open_video=timed_opener(clock))
    undo = instrument(model, clock)
    try:
        for fast in (False, True):
            run_query(agent, clock, warmup, fast)
        best: dict[str, dict[str, Any]] = {}
        for _ in range(max(1, args.repeat)):
            for name, fast in (("baseline", False), ("ours", True)):
                log.info("timing %s (fast=%s) on %s", name, fast, video)
                result = run_query(agent, clock, video, fast)
                if name not in best or result["seconds"] < best[name]["seconds"]:
                    best[name] = result
        policy = sweep(partial(run_query, agent, clock, video, True), model.device) if args.sweep else None
    finally:
        undo()
    ours, baseline = best["ours"], best["baseline"]
    dtype = args.dtype or shape.dtype
    meta = _video_meta(video)
    check = (
        compare_half(ours, baseline, meta["duration"]) if dtype in HALF_DTYPES else compare(ours, baseline)
    )
    rates = ratios(ours, baseline)
    return {
        "bench": "agent",
        "shape": shape.name,
        "dtype": dtype,
        "device": str(model.device),
        "parameters": parameter_summary(model),
        "build_seconds": round(build_s, 1),
        "video": meta,
        "question": QUESTION,
        "options": list(OPTIONS),
        "max_new_tokens": args.max_new_tokens,
        "planner": bool(args.planner),
        "repeat": max(1, args.repeat),
        "threads": torch_threads(),
        "decode_ahead": decode_ahead_enabled(ahead, model.device),
        "decode_threads": decode_threads(
            args.decode_threads, model.device, decode_ahead_enabled(ahead, model.device)
        ),
        "prefetch_answer_clips": prefetch_answer_clips(prefetch, model.device),
        "policy_sweep": policy,
        "stream_chunk_frames": options.stream_chunk_frames,
        "modes": {"ours": ours, "baseline": baseline},
        "ratios": rates,
        "identical_outputs": check["identical_outputs"],
        "comparison": check,
        "target_ratio": TARGET_RATIO,
        "target_reached": rates["baseline_over_ours"] >= TARGET_RATIO,
        "machine": machine_info(),
    }


def _video_meta(path: Path) -> dict[str, Any]:
    from videomind.video import open_video

    with open_video(path) as reader:
        return {
            "path": str(path),
            "duration": round(reader.duration, 2),
            "fps": round(reader.fps, 3),
            "frames": reader.num_frames,
            "size": [reader.height, reader.width],
            "megabytes": round(Path(path).stat().st_size / 1e6, 2),
        }


def table(report: dict[str, Any]) -> str:
    """Per-role seconds of both modes (decode / vision / text / other) and the ratio."""
    columns = (*PARTS, "other", BACKGROUND)
    head = f"{'mode':<9}{'role':<10}{'seconds':>9}" + "".join(f"{p:>13}" for p in columns)
    lines = [head]
    for mode in ("baseline", "ours"):
        for role, part in report["modes"][mode]["roles"].items():
            cells = "".join(f"{part.get(p, 0.0):>13.2f}" for p in columns)
            lines.append(f"{mode:<9}{role:<10}{part['seconds']:>9.2f}{cells}")
        lines.append(f"{mode:<9}{'total':<10}{report['modes'][mode]['seconds']:>9.2f}")
    r = report["ratios"]
    lines.append(
        f"baseline/ours {r['baseline_over_ours']:.2f}x wall, {r['cpu_baseline_over_ours']:.2f}x CPU; "
        f"identical outputs: {report['identical_outputs']}"
    )
    return "\n".join(lines)
