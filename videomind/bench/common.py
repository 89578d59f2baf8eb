"""Shared by the benchmarks: what machine and versions a report was measured with, timing, and JSON output."""

from __future__ import annotations

import datetime as _dt
import importlib.metadata
import json
import os
import platform
import subprocess
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

PACKAGES = ("torch", "transformers", "peft", "av", "numpy", "decord")
GIT_TIMEOUT_S = 5


def machine_info() -> dict[str, Any]:
    """CPU, memory, OS, Python, package versions (None when not installed), FFmpeg and git commit."""
    info: dict[str, Any] = {
        "date": _dt.datetime.now(_dt.timezone.utc).isoformat(timespec="seconds"),
        "platform": platform.platform(),
        "python": platform.python_version(),
        "cpu": _cpu_model(),
        "cpus": os.cpu_count(),
        "cpus_usable": len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count(),
        "memory_gb": _memory_gb(),
        "versions": {name: _version(name) for name in PACKAGES},
        "git_commit": _git_commit(),
    }
    try:
        import av

        info["versions"]["ffmpeg"] = str(av.ffmpeg_version_info)
    except (ImportError, AttributeError):
        info["versions"]["ffmpeg"] = None
    try:
        import torch

        info["torch_threads"] = torch.get_num_threads()
    except ImportError:
        pass
    return info


@dataclass(frozen=True)
class Timing:
    """Best wall-clock and best CPU time (all threads of this process) over the runs, in seconds.

    CPU time is the steadier figure on a shared machine: waiting for a busy core inflates wall time only.
    """

    wall: float
    cpu: float


def best_time(fn: Callable[[], Any], repeat: int = 1) -> tuple[Timing, Any]:
    """Time ``repeat`` calls of ``fn``; returns the best times and the last call's result."""
    wall, cpu, result = float("inf"), float("inf"), None
    for _ in range(max(1, repeat)):
        started, started_cpu = time.perf_counter(), time.process_time()
        result = fn()
        wall = min(wall, time.perf_counter() - started)
        cpu = min(cpu, time.process_time() - started_cpu)
    return Timing(wall, cpu), result


def write_json(path: str | Path, data: dict[str, Any]) -> Path:
    """Write ``data`` as indented JSON (parent folders created)."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(data, indent=2) + "\n", encoding="utf-8")
    return path


def _version(name: str) -> str | None:
    """Installed distribution version, without importing the package (transformers takes seconds)."""
    try:
        return importlib.metadata.version(name)
    except importlib.metadata.PackageNotFoundError:
        return None


def _cpu_model() -> str:
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or platform.machine()


def _memory_gb() -> float | None:
    try:
        for line in Path("/proc/meminfo").read_text().splitlines():
            if line.startswith("MemTotal:"):
                return round(int(line.split()[1]) / 1024**2, 1)
    except (OSError, ValueError):
        pass
    return None


def _git_commit() -> str | None:
    root = Path(__file__).resolve().parents[2]
    try:
        out = subprocess.run(
            ["git", "-C", str(root), "rev-parse", "--short", "HEAD"],
            capture_output=True, text=True, timeout=GIT_TIMEOUT_S, check=False,
        )  # fmt: skip
    except (OSError, subprocess.TimeoutExpired):
        return None
    return out.stdout.strip() or None
