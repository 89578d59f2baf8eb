"""``videomind bench memory`` on the tiny shape: fresh processes, report layout and ratios (no size assertions
beyond consistency)."""

from __future__ import annotations

import argparse
import json

import pytest

from videomind.bench import memory as bench


@pytest.fixture(scope="module")
def cache(tmp_path_factory):
    return tmp_path_factory.mktemp("bench_memory")


def _args(folder, *extra):
    parser = argparse.ArgumentParser()
    bench.add_arguments(parser)
    return parser.parse_args(["--shape", "tiny", "--cache-dir", str(folder), *extra])


def test_memory_report(cache):
    report = bench.run(_args(cache, "--cases", "empty", "all_roles"))
    assert report["bench"] == "memory" and report["shape"] == "tiny"
    assert set(report["cases"]) == {"empty", "all_roles"}
    empty, roles = report["cases"]["empty"], report["cases"]["all_roles"]
    assert empty["models"] == 0 and roles["models"] == 1
    assert (
        roles["peak_rss_mb"] >= roles["rss_mb"] * 0.95 and roles["peak_rss_mb"] > empty["peak_rss_mb"] * 0.9
    )
    assert roles["parameter_mb"] > 0 and roles["rss_anon_mb"] > 0
    sizes = report["parameters"]
    assert set(sizes["role_adapters"]) == {"planner", "grounder", "verifier"}
    assert sizes["role_adapters"]["grounder"] > sizes["role_adapters"]["planner"]  # embed_tokens + lm_head
    assert report["ratios"]["all_roles_over_base"] is None  # base was not measured
    json.dumps(report)
    # the checkpoint is written once and reused
    assert (cache / "models" / "tiny-seed0" / "videomind" / "grounder" / "adapter_config.json").is_file()


def test_configurations_that_do_not_fit_are_skipped(cache):
    report = bench.run(_args(cache, "--cases", "four_copies", "--max-gb", "0.000001"))
    assert "skipped" in report["cases"]["four_copies"]


def test_ratios():
    cases = {
        "empty": {"peak_rss_mb": 100.0, "parameter_mb": 0.0},
        "base": {"peak_rss_mb": 300.0, "parameter_mb": 200.0},
        "all_roles": {"peak_rss_mb": 500.0, "parameter_mb": 400.0},
        "four_copies": {"peak_rss_mb": 1300.0, "parameter_mb": 1200.0},
    }
    ratios = bench.memory_ratios(cases)
    assert ratios["all_roles_over_base"] == pytest.approx(500 / 300, abs=1e-3)
    assert ratios["model_all_roles_over_base"] == pytest.approx(2.0)
    assert ratios["four_copies_over_all_roles"] == pytest.approx(2.6)
    assert ratios["model_four_copies_over_all_roles"] == pytest.approx(3.0)
    assert ratios["parameters_four_copies_over_all_roles"] == pytest.approx(3.0)
