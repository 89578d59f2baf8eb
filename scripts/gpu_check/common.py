"""What the parts of the GPU check share: their command line, their report, the device and dtype rules."""

from __future__ import annotations

import argparse
import json
import logging
import math
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

log = logging.getLogger("gpu_check")

ROOT = Path(__file__).resolve().parents[2]
ORACLE = ROOT / "tests" / "fixtures" / "oracle"
EXAMPLES = ROOT / "videomind" / "assets" / "examples"
HALF = ("bfloat16", "float16")


def part_arguments(description: str) -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(description=description)
    parser.add_argument("--device", default="cuda", help="cuda or cpu")
    parser.add_argument("--out", type=Path, required=True, help="folder of the part's JSON")
    parser.add_argument("--quick", action="store_true", help="tiny shapes (the CPU run in CI)")
    parser.add_argument("--cache", type=Path, required=True, help="videos, checkpoints and data made once")
    return parser


def run_part(name: str, description: str, body: Callable[[argparse.Namespace], dict[str, Any]]) -> int:
    """Parse the part's arguments, run ``body`` (returns figures with a ``passed`` entry) and write
    ``OUT/<name>.json``; a crash is written too (``passed: false`` and the error) before it propagates."""
    args = part_arguments(description).parse_args()
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(name)s: %(message)s", datefmt="%H:%M:%S")
    args.out.mkdir(parents=True, exist_ok=True)
    args.cache.mkdir(parents=True, exist_ok=True)
    started = time.perf_counter()
    try:
        report = body(args)
    except BaseException as exc:
        write_json(args.out / f"{name}.json", {"passed": False, "error": f"{type(exc).__name__}: {exc}"})
        raise
    report["seconds"] = round(time.perf_counter() - started, 1)
    write_json(args.out / f"{name}.json", report)
    log.info("%s: %s in %.1f s", name, "passed" if report.get("passed") else "FAILED", report["seconds"])
    return 0


def write_json(path: Path, data: Any) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(finite_json(data), indent=2) + "\n", encoding="utf-8")


def finite_json(value: Any) -> Any:
    """NaN / inf as strings, so every report is strict JSON."""
    if isinstance(value, float) and not math.isfinite(value):
        return repr(value)
    if isinstance(value, dict):
        return {k: finite_json(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [finite_json(v) for v in value]
    return value


def prepare_device(device: str):
    """The torch device, float32 kept exact on CUDA (no TF32, as the oracle's tolerances assume)."""
    import torch

    dev = torch.device(device)
    if dev.type == "cuda":
        if not torch.cuda.is_available():
            raise SystemExit("--device cuda but torch sees no CUDA device")
        torch.backends.cuda.matmul.allow_tf32 = False
        torch.backends.cudnn.allow_tf32 = False
    return dev


def dtypes(device) -> list[str]:
    """float32 and the half precisions that make sense there: both on CUDA, bf16 on the CPU (fp16 there is slow
    and inexact, and not what a CPU user runs)."""
    return ["float32", "bfloat16", "float16"] if device.type == "cuda" else ["float32", "bfloat16"]


def attention_implementations() -> list[str]:
    """SDPA always; FlashAttention-2 when ``flash_attn`` imports (and a GPU is there)."""
    import importlib.util

    import torch

    found = importlib.util.find_spec("flash_attn") is not None and torch.cuda.is_available()
    return ["sdpa", "flash_attention_2"] if found else ["sdpa"]


def max_abs(a, b) -> float:
    return float((a.float().cpu() - b.float().cpu()).abs().max())


def all_passed(checks: dict[str, bool]) -> bool:
    return bool(checks) and all(checks.values())
