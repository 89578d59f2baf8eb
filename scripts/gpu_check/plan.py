"""What the GPU check runs, in order, with each part's time cap: the full run (a GPU, at most 8 minutes) and the
quick one (tiny shapes; ``make gpu-check DEVICE=cpu QUICK=1`` in CI)."""

from __future__ import annotations

from dataclasses import dataclass, field, replace

FULL_BUDGET_S = 480  # the whole run, parts after the budget are skipped (and the run does not pass)
QUICK_BUDGET_S = 1500  # a safety net only: the quick run takes a few minutes of CPU time
QUICK_CAP_FACTOR = 3

ORACLE_TESTS = ["tests/model/test_oracle.py", "tests/agent/test_backend.py"]
DEVICE_TESTS = ["tests/model/test_devices.py", "tests/agent/test_devices.py"]


@dataclass(frozen=True)
class Part:
    name: str
    cap_s: int  # time limit of the part's process
    kind: str  # "module" (scripts.gpu_check.<name>), "pytest", "bench" or "env"
    argv: list[str] = field(default_factory=list)  # pytest / bench arguments
    needs_prepared: bool = False  # waits for the videos and checkpoint made in the background


def bench_arguments(quick: bool, device: str) -> dict[str, list[str]]:
    """Arguments of ``videomind bench agent|memory|scale`` (``--device``, ``--cache-dir`` and ``--json`` added by
    the driver). ``prepare`` reads the same lists to make their videos and checkpoint ahead."""
    if quick:
        small = ["--fps", "4", "--width", "96", "--height", "64"]
        return {
            "agent": ["--shape", "tiny", "--video-minutes", "0.2", *small, "--max-new-tokens", "3", "--threads", "1",
                      "--dtype", "bfloat16", "--sweep"],
            "memory": ["--shape", "tiny", "--cases", "base", "all_roles"],
            "scale": ["--shape", "tiny", "--minutes", "0.1", "0.2", *small, "--threads", "1"],
        }  # fmt: skip
    return {
        # Qwen2-VL-2B's shape in bf16 on the 1-minute video the CPU figure was measured on (640x360, 30 fps)
        "agent": ["--shape", "2b", "--video-minutes", "1", "--sweep"],
        # four separate 2B models are left out: on a GPU memory is the parameters, whose ratio the CPU run gives
        "memory": ["--shape", "2b", "--cases", "empty", "base", "all_roles"],
        "scale": ["--shape", "tiny", "--minutes", "1", "15", "60"],
    }


def parts(quick: bool, device: str) -> list[Part]:
    benches = bench_arguments(quick, device)
    if quick:  # the plumbing only: `make test` runs these tests on the CPU anyway
        tests = [ORACLE_TESTS[0], DEVICE_TESTS[0], "-k", "verifier_scores or seeded or auto_dtype"]
    else:
        tests = [*ORACLE_TESTS, *DEVICE_TESTS, "tests/agent/test_end_to_end.py"]
    plan = [
        Part("env", 60, "env"),
        Part("pytest", 150, "pytest", tests),
        Part("fidelity", 90, "module"),
        Part("agent", 90, "module"),
        Part("training", 150, "module"),
        Part("predict", 120, "module"),
        Part("bench_agent", 240, "bench", ["agent", *benches["agent"]], needs_prepared=True),
        Part("bench_memory", 180, "bench", ["memory", *benches["memory"]], needs_prepared=True),
        Part("bench_scale", 180, "bench", ["scale", *benches["scale"]], needs_prepared=True),
    ]
    if quick:  # tiny work, but a shared CPU (CI, a busy developer machine) can be several times slower than a GPU host
        plan = [replace(p, cap_s=p.cap_s * QUICK_CAP_FACTOR) for p in plan]
    return plan
