"""The ablation runner on a tiny random checkpoint: every setting runs, is scored and reported."""

import json

from videomind.eval.ablation import SETTINGS, markdown_table, run_ablation, spread


def test_spread_takes_evenly_and_deterministically():
    items = list(range(10))
    assert spread(items, 3) == [0, 3, 6]
    assert spread(items, None) == items and spread(items, 50) == items


def test_every_setting_runs_and_is_reported(world, tmp_path):
    data, ckpt, _ = world
    # random weights never stop talking: cap generation for the test
    report = run_ablation(ckpt, data, tmp_path, limit_grounding=3, limit_mcq=3, limit_qa=2, limit_planning=3,
                          device="cpu", max_new_tokens=8)  # fmt: skip
    assert list(report["settings"]) == list(SETTINGS)
    for name, metrics in report["settings"].items():
        assert (tmp_path / name / "predictions.jsonl").is_file()
        assert "Acc" in metrics, name
    assert report["settings"]["answerer"]["count"] == 5  # questions only
    assert report["settings"]["grounder"]["count"] == 8 and "R1@0.5" in report["settings"]["grounder"]
    assert set(report["grounder_top1_before_verifier"]) >= {"R1@0.5", "mIoU"}
    assert report["planner"]["count"] == 3 and 0 <= report["planner"]["valid_json"] <= 100
    assert json.loads((tmp_path / "ablation.json").read_text()) == report
    table = markdown_table(report)
    assert table.count("\n") == len(SETTINGS) + 1 and "full agent" in table
    blind = [json.loads(line) for line in (tmp_path / "blind" / "predictions.jsonl").read_text().splitlines()]
    assert all(line["error"] is None for line in blind)
