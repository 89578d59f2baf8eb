"""GPU check, background step: make the benches' videos and checkpoint while the first parts use the GPU.

Reads the same argument lists the benches get (``plan.bench_arguments``) with the benches' own parsers, and calls
their own ``ensure_video`` / ``ensure_checkpoint``, so the benches find everything in the cache. Runs on the CPU
only; the driver waits for it before the first bench (whose timings must not share the CPU with it).
"""

from __future__ import annotations

import argparse
import logging
import sys
import time
from pathlib import Path

from scripts.gpu_check.plan import bench_arguments


def parsed(module, argv: list[str]) -> argparse.Namespace:
    parser = argparse.ArgumentParser()
    module.add_arguments(parser)
    return parser.parse_args(argv)


def prepare(cache: Path, quick: bool, device: str) -> None:
    from videomind.bench import agent, memory, scale
    from videomind.bench.decode import ensure_video

    argv = bench_arguments(quick, device)
    a = parsed(agent, argv["agent"])
    ensure_video(cache, a.video_minutes * 60, a.fps, a.width, a.height)
    ensure_video(cache, agent.WARMUP_SECONDS, a.fps, a.width, a.height)
    s = parsed(scale, argv["scale"])
    gop = max(1, round(s.gop_seconds * s.fps))
    for seconds in [scale.WARMUP_SECONDS, *(m * 60 for m in s.minutes)]:
        ensure_video(cache, seconds, s.fps, s.width, s.height, gop)
    m = parsed(memory, argv["memory"])
    memory.ensure_checkpoint(cache, m.shape, m.seed)


def main(argv: list[str]) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--cache", type=Path, required=True)
    parser.add_argument("--quick", action="store_true")
    parser.add_argument("--device", default="cuda")
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(name)s: %(message)s", datefmt="%H:%M:%S")
    started = time.perf_counter()
    prepare(args.cache, args.quick, args.device)
    logging.getLogger("gpu_check").info("prepared in %.1f s", time.perf_counter() - started)
    return 0


if __name__ == "__main__":
    raise SystemExit(main(sys.argv[1:]))
