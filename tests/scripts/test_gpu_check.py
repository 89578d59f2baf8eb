"""The GPU check's own logic without running it (CI runs `make gpu-check DEVICE=cpu QUICK=1` itself): the plan,
how bench and pytest reports become the summary's figures, and strict JSON."""

from __future__ import annotations

import json

from scripts.gpu_check.benches import bench_figures
from scripts.gpu_check.common import finite_json
from scripts.gpu_check.fidelity import HALF_TOLERANCES, checks_for
from scripts.gpu_check.plan import FULL_BUDGET_S, bench_arguments, parts
from scripts.gpu_check.pytest_report import pytest_figures


def test_plan_runs_every_part_and_fits_the_device_budget():
    names = [p.name for p in parts(quick=False, device="cuda")]
    assert names == ["env", "pytest", "fidelity", "agent", "training", "predict", "bench_agent", "bench_memory",
                     "bench_scale"]  # fmt: skip
    assert FULL_BUDGET_S <= 8 * 60
    full, quick = bench_arguments(False, "cuda"), bench_arguments(True, "cpu")
    assert full["agent"][:2] == ["--shape", "2b"] and "--sweep" in full["agent"]
    assert full["scale"][-3:] == ["1", "15", "60"]
    assert all("tiny" in args for args in quick.values())


def test_pytest_report_counts_and_names_failures(tmp_path):
    junit = tmp_path / "pytest.xml"
    junit.write_text(
        '<testsuites><testsuite tests="3" failures="1" errors="0" skipped="1">'
        '<testcase classname="tests.model.test_oracle" name="test_a"/>'
        '<testcase classname="tests.model.test_oracle" name="test_b"><failure message="x"/></testcase>'
        '<testcase classname="tests.model.test_devices" name="test_c"><skipped/></testcase>'
        "</testsuite></testsuites>"
    )
    out = pytest_figures(junit, 1)
    assert out["ran"] == 2 and out["failed"] == ["tests.model.test_oracle::test_b"] and out["passed"] is False
    assert pytest_figures(tmp_path / "missing.xml", 4)["passed"] is False


def test_bench_failures_and_agent_figures():
    assert bench_figures("bench_agent", {"passed": False}, 1)["passed"] is False
    report = {
        "bench": "agent", "shape": "2b", "dtype": "bfloat16", "device": "cuda:0", "identical_outputs": True,
        "ratios": {"baseline_over_ours": 2.4, "cpu_baseline_over_ours": 1.5, "per_role": {}}, "target_ratio": 2.0,
        "target_reached": True, "comparison": {}, "decode_ahead": True, "decode_threads": 0,
        "prefetch_answer_clips": False, "policy_sweep": None, "video": {},
        "modes": {m: {"seconds": 1.0, "roles": {}, "decoded_frames": 5} for m in ("ours", "baseline")},
    }  # fmt: skip
    out = bench_figures("bench_agent", report, 0)
    assert (
        out["passed"]
        and out["baseline_over_ours"] == 2.4
        and out["seconds"] == {"ours": 1.0, "baseline": 1.0}
    )


def test_half_precision_checks_hold_the_stated_tolerances():
    tol = HALF_TOLERANCES["bfloat16"]
    figures = {
        "planner": {"finite": True, "decided_steps_agree": True},
        "grounder": {"finite": True, "top1_span_delta": tol["span"] / 2, "top_rows_matched_within": tol["span"] / 2,
                     "head_fired": True},
        "verifier": {"finite": True, "same_ranking": True, "score_max_abs": tol["score"] / 2,
                     "batched_vs_single_max_abs": 0.0, "batched_same_ranking": True},
        "training": {"loss": 17.7, "loss_rel": 1e-4},
    }  # fmt: skip
    assert all(checks_for("bfloat16", figures).values())
    figures["verifier"]["same_ranking"] = False
    assert not checks_for("bfloat16", figures)["verifier_ranking"]
    figures["training"]["loss"] = float("nan")
    assert not checks_for("bfloat16", figures)["finite"]


def test_reports_are_strict_json():
    text = json.dumps(finite_json({"score": float("nan"), "rows": [[1.0, float("inf")]]}), allow_nan=False)
    assert json.loads(text) == {"score": "nan", "rows": [[1.0, "inf"]]}
