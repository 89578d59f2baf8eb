"""``videomind bench score``: how fast ``eval score`` reads and scores predictions.

Writes N synthetic prediction lines (random ground truth, five candidates, multiple-choice responses in several
styles) into shard files in a temporary folder, then times reading + deduplicating the shards and scoring them.
``run(args)`` returns a JSON-safe dict with predictions per second; ``add_arguments(parser)`` declares the options.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import tempfile
import time
from pathlib import Path
from typing import Any

import numpy as np

DEFAULT_SAMPLES = 100_000
DEFAULT_SHARDS = 2
CANDIDATES = 5
OPTIONS = ("red", "green", "blue", "yellow")
RESPONSE_STYLES = (
    "{L}) {t}",
    "({L}) {t}",
    "{L}.",
    "Answer: {L}",
    "The best option is ({L}) {t}",
    "{t}",
    "no idea",
)
FAMILIES = {"grounded_qa": "synthetic", "cgbench": "cgbench", "qvhighlights": "qvhighlights"}


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--samples", type=int, default=DEFAULT_SAMPLES, help="predictions (default %(default)s)"
    )
    parser.add_argument(
        "--shards", type=int, default=DEFAULT_SHARDS, help="shard files (default %(default)s)"
    )
    parser.add_argument(
        "--family", choices=tuple(FAMILIES), default="grounded_qa", help="metric family to score"
    )
    parser.add_argument("--seed", type=int, default=0, help="random seed (default %(default)s)")


def _sample(i: int, duration: float, gt: list[list[float]], answer: int, family: str) -> dict[str, Any]:
    sample: dict[str, Any] = {
        "id": f"s{i:07d}",
        "source": FAMILIES[family],
        "duration": duration,
        "spans": gt,
        "task": ["mcq", f"type{i % 4}"],
        "extra": {},
    }
    if family != "qvhighlights":
        sample.update(question="Which colour?", options=list(OPTIONS), answer="ABCD"[answer])
    else:
        ids = list(range(int(gt[0][0] // 2), int(gt[0][1] // 2)))
        sample["extra"] = {
            "relevant_windows": gt,
            "relevant_clip_ids": ids,
            "saliency_scores": [[2, 3, 4]] * len(ids),
        }
    return sample


def synthetic_lines(n: int, seed: int = 0, family: str = "grounded_qa") -> list[dict[str, Any]]:
    """``n`` prediction lines in the eval/predictions.py schema with random but valid content."""
    rng = np.random.default_rng(seed)
    duration = np.round(rng.uniform(20, 200, n), 1)
    gt_start = rng.uniform(0, 0.7, n) * duration
    gt_end = np.minimum(gt_start + rng.uniform(0.05, 0.3, n) * duration, duration)
    centre = (gt_start + gt_end)[:, None] / 2 + rng.normal(0, 0.1, (n, CANDIDATES)) * duration[:, None]
    half = rng.uniform(0.02, 0.2, (n, CANDIDATES)) * duration[:, None]
    pred = np.clip(np.stack([centre - half, centre + half], -1), 0, duration[:, None, None]).round(2)
    conf = np.sort(rng.uniform(0, 1, (n, CANDIDATES)), 1)[:, ::-1].round(4)
    answer, chosen = rng.integers(0, 4, n), rng.integers(0, 4, n)
    style = rng.integers(0, len(RESPONSE_STYLES), n)
    lines = []
    for i in range(n):
        gt = [[round(float(gt_start[i]), 2), round(float(gt_end[i]), 2)]]
        letter, text = "ABCD"[chosen[i]], OPTIONS[chosen[i]]
        line = {
            "id": f"s{i:07d}",
            "benchmark": FAMILIES[family],
            "sample": _sample(i, float(duration[i]), gt, int(answer[i]), family),
            "pred": pred[i].tolist(),
            "conf": conf[i].tolist(),
            "grounder_success": True,
            "response": RESPONSE_STYLES[style[i]].format(L=letter, t=text)
            if family != "qvhighlights"
            else None,
            "error": None,
            "seconds": 0.0,
        }
        if family == "qvhighlights":
            line["pred_saliency_scores"] = rng.uniform(0, 1, int(duration[i] // 2)).round(3).tolist()
        lines.append(line)
    return lines


def _write_shards(folder: Path, lines: list[dict[str, Any]], shards: int) -> int:
    size = 0
    for k in range(shards):
        path = folder / f"predictions.rank{k}-of-{shards}.jsonl"
        text = "".join(json.dumps(line, separators=(",", ":")) + "\n" for line in lines[k::shards])
        path.write_text(text, encoding="utf-8")
        size += len(text)
    return size


def machine_info() -> dict[str, Any]:
    """``videomind.bench.common.machine_info()`` when that module exists, else versions and CPU count."""
    try:
        from videomind.bench import common
    except ImportError:
        common = None
    if common is not None and hasattr(common, "machine_info"):
        return dict(common.machine_info())
    import torch

    return {
        "python": platform.python_version(),
        "platform": platform.platform(),
        "cpus": os.cpu_count(),
        "numpy": np.__version__,
        "torch": torch.__version__,
    }


def run(args: argparse.Namespace) -> dict[str, Any]:
    """Time reading and scoring ``args.samples`` predictions; returns the measurements."""
    from videomind.eval.benchmarks import BENCHMARKS
    from videomind.eval.score import read_shards, score_lines

    spec = BENCHMARKS[FAMILIES[args.family]].metrics
    lines = synthetic_lines(args.samples, args.seed, args.family)
    with tempfile.TemporaryDirectory(prefix="videomind-bench-score-") as tmp:
        size = _write_shards(Path(tmp), lines, max(1, args.shards))
        del lines
        started = time.perf_counter()
        shards = read_shards(tmp)
        read_done = time.perf_counter()
        report = score_lines(list(shards.lines.values()), spec)
        scored = time.perf_counter()
    read_s, score_s = read_done - started, scored - read_done
    return {
        "bench": "score",
        "family": args.family,
        "samples": report.count,
        "shards": max(1, args.shards),
        "megabytes": round(size / 1e6, 2),
        "read_seconds": round(read_s, 3),
        "score_seconds": round(score_s, 3),
        "predictions_per_second": round(report.count / (read_s + score_s), 1),
        "score_predictions_per_second": round(report.count / score_s, 1),
        "metrics": {k: round(v, 2) for k, v in report.overall.items() if k in spec.headline},
        "machine": machine_info(),
    }


if __name__ == "__main__":  # pragma: no cover - `python -m videomind.bench.score`
    parser = argparse.ArgumentParser(description=__doc__)
    add_arguments(parser)
    print(json.dumps(run(parser.parse_args()), indent=2))
