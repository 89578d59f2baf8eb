"""``python -m scripts.gpu_check [--device cuda|cpu] [--quick] [--out DIR]``: run the GPU check's parts in order,
each in its own process group with a time limit, and keep ``OUT/summary.json`` up to date after every part."""

from __future__ import annotations

import argparse
import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

from scripts.gpu_check.benches import bench_figures
from scripts.gpu_check.common import ROOT, write_json
from scripts.gpu_check.plan import FULL_BUDGET_S, QUICK_BUDGET_S, Part, parts
from scripts.gpu_check.pytest_report import pytest_figures

MIN_PART_S = 15  # a part is not started with less time than this left


def arguments(argv: list[str]) -> argparse.Namespace:
    parser = argparse.ArgumentParser(prog="python -m scripts.gpu_check", description=__doc__)
    parser.add_argument("--device", default="cuda", choices=("cuda", "cpu"))
    parser.add_argument("--quick", action="store_true", help="tiny shapes everywhere (CI runs it on the CPU)")
    parser.add_argument("--out", type=Path, default=ROOT / "runs" / "gpu-check")
    parser.add_argument("--cache", type=Path, default=ROOT / "runs" / "gpu-check-cache",
                        help="videos, checkpoints and data made once (keep it out of OUT: the 2b checkpoint is GBs)")  # fmt: skip
    parser.add_argument("--budget", type=float, default=None, help="seconds for the whole run")
    parser.add_argument("--parts", nargs="+", default=None, help="run only these parts")
    return parser.parse_args(argv)


def environment(device: str) -> dict[str, str]:
    """Children import the project from this tree (installed or not) and the wheels ``make gpu-check`` unpacked."""
    paths = [str(ROOT), str(ROOT / ".gpu-site"), os.environ.get("PYTHONPATH", "")]
    env = os.environ | {
        "PYTHONPATH": os.pathsep.join(p for p in paths if p),
        "TOKENIZERS_PARALLELISM": "false",
    }
    env["VIDEOMIND_TEST_DEVICE"] = device  # the pytest part's device-dependent tests
    if device == "cpu":
        env["CUDA_VISIBLE_DEVICES"] = ""  # the CPU run stays on the CPU even where a GPU is visible
    return env


class Runner:
    def __init__(self, args: argparse.Namespace) -> None:
        self.args = args
        self.env = environment(args.device)
        self.started = time.perf_counter()
        budget = args.budget or (QUICK_BUDGET_S if args.quick else FULL_BUDGET_S)
        self.deadline = self.started + budget
        self.log = (args.out / "gpu-check.log").open("a", encoding="utf-8")
        self.summary: dict[str, Any] = {
            "passed": False, "complete": False, "device": args.device, "quick": args.quick,
            "budget_seconds": budget, "out": str(args.out), "parts": {},
        }  # fmt: skip
        self.prepare: subprocess.Popen | None = None

    def say(self, message: str) -> None:
        line = f"[gpu-check {time.perf_counter() - self.started:6.1f}s] {message}"
        print(line, flush=True)
        self.log.write(line + "\n")
        self.log.flush()

    def command(self, part: Part) -> list[str]:
        a, py = self.args, sys.executable
        common = ["--device", a.device, "--out", str(a.out), "--cache", str(a.cache)] + ["--quick"] * a.quick
        if part.kind == "env":
            return [py, "-c", "import json; from videomind.bench.common import machine_info; "
                    "print(json.dumps(machine_info()))"]  # fmt: skip
        if part.kind == "pytest":
            junit = a.out / "pytest.xml"
            return [py, "-m", "pytest", "-q", "-p", "no:cacheprovider", f"--junitxml={junit}", *part.argv]
        if part.kind == "bench":
            return [py, "-m", "videomind", "bench", *part.argv, "--device", a.device,
                    "--cache-dir", str(a.cache / "bench"), "--json", str(a.out / f"{part.name}.json")]  # fmt: skip
        return [py, "-m", f"scripts.gpu_check.{part.name}", *common]

    def run(self, command: list[str], timeout: float, env: dict[str, str]) -> tuple[int, str]:
        """Run in a new process group (killed whole on timeout); output to the log; returns (code, stdout)."""
        with subprocess.Popen(command, cwd=ROOT, env=env, stdout=subprocess.PIPE, stderr=self.log,
                              text=True, start_new_session=True) as proc:  # fmt: skip
            try:
                out, _ = proc.communicate(timeout=timeout)
            except subprocess.TimeoutExpired:
                os.killpg(proc.pid, signal.SIGKILL)
                out, _ = proc.communicate()
                return 124, out
        self.log.write(out[-20000:])
        return proc.returncode, out

    def start_prepare(self) -> None:
        command = [sys.executable, "-m", "scripts.gpu_check.prepare", "--cache", str(self.args.cache / "bench"),
                   "--device", self.args.device] + ["--quick"] * self.args.quick  # fmt: skip
        log = (self.args.out / "prepare.log").open("w", encoding="utf-8")
        self.prepare = subprocess.Popen(command, cwd=ROOT, env=self.env, stdout=log, stderr=log,
                                        start_new_session=True)  # fmt: skip
        self.say("preparing the benches' videos and checkpoint in the background")

    def wait_prepared(self) -> str | None:
        """None when the benches' inputs are ready, else why not."""
        if self.prepare is None:
            return "not prepared"
        try:
            code = self.prepare.wait(timeout=max(1.0, self.deadline - time.perf_counter() - MIN_PART_S))
        except subprocess.TimeoutExpired:
            os.killpg(self.prepare.pid, signal.SIGKILL)
            return "preparing the videos and checkpoint ran out of time"
        return None if code == 0 else f"preparing failed ({code}); see prepare.log"

    def part(self, part: Part) -> dict[str, Any]:
        left = self.deadline - time.perf_counter()
        if left < MIN_PART_S:
            return {"passed": False, "not_run": f"out of time ({left:.0f} s left of the budget)"}
        if part.needs_prepared and (problem := self.wait_prepared()):
            return {"passed": False, "not_run": problem}
        timeout = min(part.cap_s, self.deadline - time.perf_counter())
        self.say(f"{part.name}: starting (limit {timeout:.0f} s)")
        started = time.perf_counter()
        code, out = self.run(self.command(part), timeout, self.env)
        seconds = round(time.perf_counter() - started, 1)
        result = self.collect(part, code, out)
        result.update(seconds=seconds, exit_code=code)
        if code == 124:
            result.update(passed=False, timed_out=f"killed after {timeout:.0f} s")
        self.say(f"{part.name}: {'passed' if result.get('passed') else 'FAILED'} in {seconds} s")
        return result

    def collect(self, part: Part, code: int, out: str) -> dict[str, Any]:
        if part.kind == "env":
            lines = out.strip().splitlines()
            self.summary["machine"] = json.loads(lines[-1]) if code == 0 and lines else None
            return {"passed": code == 0}
        if part.kind == "pytest":
            return pytest_figures(self.args.out / "pytest.xml", code)
        path = self.args.out / f"{part.name}.json"
        report = json.loads(path.read_text()) if path.is_file() else {"passed": False, "error": "no report"}
        if part.kind == "bench":
            return bench_figures(part.name, report, code)
        report.setdefault("passed", False)
        report["passed"] = bool(report["passed"]) and code == 0
        return report

    def write(self) -> None:
        self.summary["wall_seconds"] = round(time.perf_counter() - self.started, 1)
        write_json(self.args.out / "summary.json", self.summary)


def main(argv: list[str]) -> int:
    args = arguments(argv)
    args.out.mkdir(parents=True, exist_ok=True)
    args.cache.mkdir(parents=True, exist_ok=True)
    runner = Runner(args)
    plan = [p for p in parts(args.quick, args.device) if args.parts is None or p.name in args.parts]
    runner.say(
        f"device {args.device}, {'quick' if args.quick else 'full'} run, parts: {[p.name for p in plan]}"
    )
    if any(p.needs_prepared for p in plan):
        runner.start_prepare()
    try:
        for part in plan:
            runner.summary["parts"][part.name] = runner.part(part)
            runner.write()
    finally:
        if runner.prepare is not None and runner.prepare.poll() is None:
            os.killpg(runner.prepare.pid, signal.SIGKILL)
    results = runner.summary["parts"]
    runner.summary["complete"] = all("not_run" not in r and "timed_out" not in r for r in results.values())
    runner.summary["passed"] = runner.summary["complete"] and all(r.get("passed") for r in results.values())
    runner.write()
    failed = [name for name, r in results.items() if not r.get("passed")]
    runner.say(f"summary: {'PASSED' if runner.summary['passed'] else 'FAILED ' + str(failed)} "
               f"in {runner.summary['wall_seconds']} s -> {args.out / 'summary.json'}")  # fmt: skip
    print(
        f"gpu-check: {len(results) - len(failed)} passed, {len(failed)} failed"
    )  # the plain closing line CI reads
    return 0 if runner.summary["passed"] else 1


if __name__ == "__main__":
    raise SystemExit(main(sys.argv[1:]))
