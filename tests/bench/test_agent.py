"""``videomind bench agent`` on the tiny shape: it runs both modes and reports correctly (no timing assertions)."""

from __future__ import annotations

import json
import os

import pytest

from videomind.bench import agent as bench
from videomind.cli.main import main

TINY = ["--shape", "tiny", "--video-minutes", "0.2", "--fps", "4", "--width", "96", "--height", "64",
        "--max-new-tokens", "3", "--threads", "1"]  # fmt: skip


@pytest.fixture(scope="module")
def report(tmp_path_factory):
    folder = tmp_path_factory.mktemp("bench_agent")
    out = folder / "agent.json"
    assert main(["bench", "agent", *TINY, "--cache-dir", str(folder / "cache"), "--json", str(out)]) == 0
    return json.loads(out.read_text())


def test_report_layout(report, capsys):
    assert report["bench"] == "agent" and report["shape"] == "tiny" and report["max_new_tokens"] == 3
    assert report["video"]["duration"] == pytest.approx(12.0, abs=0.5)
    assert set(report["modes"]) == {"ours", "baseline"}
    for mode in report["modes"].values():
        assert mode["seconds"] > 0 and mode["cpu_seconds"] > 0
        assert list(mode["roles"]) == ["grounder", "verifier", "answerer"]
        for part in mode["roles"].values():
            assert set(part) == {"seconds", *bench.PARTS, "other", bench.BACKGROUND}
            assert part["seconds"] >= 0 and all(part[p] >= 0 for p in bench.PARTS)
        assert len(mode["moments"]) >= 2 and mode["decoded_frames"] > 0
    assert report["parameters"]["total"] > report["parameters"]["base"] > 0
    assert report["machine"]["versions"]["torch"] and report["threads"] == 1
    # --threads 1 leaves a core for decoding ahead on any machine with two or more
    assert report["decode_ahead"] is ((os.cpu_count() or 1) > 1)


def test_outputs_identical_and_ratios_positive(report):
    assert report["identical_outputs"] is True
    assert report["comparison"]["max_moment_difference"] <= 1e-5 and report["comparison"]["same_answer"]
    ours, baseline = report["modes"]["ours"], report["modes"]["baseline"]
    ratios = report["ratios"]
    assert ratios["baseline_over_ours"] == pytest.approx(baseline["seconds"] / ours["seconds"], rel=0.01)
    assert ratios["cpu_baseline_over_ours"] > 0 and all(v > 0 for v in ratios["per_role"].values())
    assert isinstance(report["target_reached"], bool)
    # the structure the modes differ in: ours encodes no clip twice, feeds the tower in pieces (more, smaller
    # calls) and decodes fewer frames
    assert (
        ours["vision_clips"] <= baseline["vision_clips"]
        and baseline["vision_clips"] == baseline["vision_calls"]
    )
    assert ours["vision_calls"] >= ours["vision_clips"]
    assert ours["decoded_frames"] < baseline["decoded_frames"]


def test_compare_flags_differences():
    a = {"moments": [[0.0, 2.0, 0.5]], "answer": "A", "response": "A)"}
    assert bench.compare(a, dict(a))["identical_outputs"] is True
    assert bench.compare(a, dict(a, moments=[[0.0, 2.0, 0.50002]]))["identical_outputs"] is False
    assert bench.compare(a, dict(a, answer="B"))["identical_outputs"] is False
    assert bench.compare(a, dict(a, moments=[]))["identical_outputs"] is False


def test_table_names_both_modes(report):
    text = bench.table(report)
    assert "baseline" in text and "ours" in text and "identical outputs: True" in text
