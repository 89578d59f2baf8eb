"""``videomind bench score``: the synthetic predictions are valid lines and the run reports its rate."""

from __future__ import annotations

import argparse
import json

from videomind.bench import score as bench
from videomind.eval.predictions import PredictionRecord


def _args(**kw):
    parser = argparse.ArgumentParser()
    bench.add_arguments(parser)
    return parser.parse_args([f"--{k}={v}" for k, v in kw.items()])


def test_synthetic_lines_follow_the_schema():
    lines = bench.synthetic_lines(50, seed=3)
    assert len({line["id"] for line in lines}) == 50
    rec = PredictionRecord.from_dict(json.loads(json.dumps(lines[0])))
    assert rec.sample.answer in "ABCD" and len(rec.pred) == bench.CANDIDATES
    assert all(0 <= s <= e <= line["sample"]["duration"] for line in lines for s, e in line["pred"])


def test_run_reports_rate_and_metrics():
    out = bench.run(_args(samples=400, shards=3))
    assert out["samples"] == 400 and out["shards"] == 3
    assert (
        out["predictions_per_second"] > 0
        and out["score_predictions_per_second"] >= out["predictions_per_second"]
    )
    assert set(out["metrics"]) == {"R1@0.3", "R1@0.5", "R1@0.7", "mIoU", "mIoP", "Acc", "Acc@IoU", "Acc@GQA"}
    assert 0 < out["metrics"]["Acc"] < 100  # random answers: about a quarter right
    assert isinstance(out["machine"], dict) and out["machine"]
    json.dumps(out)


def test_run_other_families():
    assert "mAP" in bench.run(_args(samples=30, family="qvhighlights"))["metrics"]
    assert "acc.@IoU" in bench.run(_args(samples=30, family="cgbench"))["metrics"]
