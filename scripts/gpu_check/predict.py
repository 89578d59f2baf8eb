"""GPU check, part ``predict``: ``videomind eval predict`` under ``torchrun --nproc_per_node 1`` on the device.

The embedded tiny model predicts a small generated synthetic test set (launched as ``python -m torch.distributed.run
--standalone --nproc_per_node 1 -m videomind eval predict synthetic ...``, so RANK / WORLD_SIZE come from the
launcher), then ``eval score`` reads the shard. Passes when the launcher exits 0, every sample has exactly one
line, none recorded an error, and the metrics are computed.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

from scripts.gpu_check.common import ROOT, all_passed, run_part

TIMEOUT_S = 300


def test_set(cache: Path, videos: int) -> Path:
    from videomind.data.synthetic import make_dataset

    root = cache / "predict_data"
    if not (root / "done").is_file():
        make_dataset(root / "synthetic", n_videos=videos, seed=5, preset="easy", splits=("test",),
                     size=(56, 56), fps=2.0, duration=(8, 12))  # fmt: skip
        (root / "done").write_text("")
    return root


def body(args) -> dict[str, Any]:
    from videomind.eval.score import score_folder

    data = test_set(args.cache, 2 if args.quick else 4)
    out = args.out / "predict"
    for stale in out.glob("*.jsonl"):  # a rerun predicts again (predict resumes by default)
        stale.unlink()
    limit = 3 if args.quick else 8
    command = [sys.executable, "-m", "torch.distributed.run", "--standalone", "--nproc_per_node", "1",
               "-m", "videomind", "-q", "eval", "predict", "synthetic", "--data-root", str(data), "--out", str(out),
               "--limit", str(limit), "--device", args.device, "--no-progress", "--max-new-tokens", "8"]  # fmt: skip
    started = time.perf_counter()
    done = subprocess.run(command, cwd=ROOT, capture_output=True, text=True, timeout=TIMEOUT_S,
                          env=os.environ | {"PYTHONWARNINGS": "ignore"}, check=False)  # fmt: skip
    seconds = time.perf_counter() - started
    lines = [
        json.loads(line) for path in sorted(out.glob("*.jsonl")) for line in path.read_text().splitlines()
    ]
    ids = [line["id"] for line in lines]
    errors = [line["error"] for line in lines if line.get("error")]
    metrics = score_folder(out, None, {}, write=False)["overall"] if lines else {}
    checks = {
        "launcher_ok": done.returncode == 0,
        "one_line_per_sample": len(ids) == limit == len(set(ids)),
        "no_errors": not errors,
        "metrics": bool(metrics),
    }
    return {
        "command": " ".join(command[1:]),
        "seconds_under_torchrun": round(seconds, 1),
        "files": [p.name for p in sorted(out.glob("*.jsonl"))],
        "samples": len(ids),
        "errors": errors[:5],
        "metrics": metrics,
        "stderr_tail": done.stderr[-2000:] if done.returncode else "",
        "checks": checks,
        "passed": all_passed(checks),
    }


if __name__ == "__main__":
    raise SystemExit(run_part("predict", __doc__.splitlines()[0], body))
