"""Parity with each benchmark's official evaluation script, on excerpts of the real annotation files.

``tests/fixtures/<benchmark>/`` holds 40 entries of the real annotation file(s) as published (README.md: source
repository, commit, license), ``predictions.json`` made from them deterministically (each entry's ``case``: an
exact-threshold IoU tie at 0.3 / 0.5 / 0.7, a zero-length span inside or outside the ground truth, a span past the
video's end, a perturbed or a random span) and ``official.json``: what the official script printed on them, run once
on a fetched copy of its repository (the exact command, repository and commit are in it and below). Our sources load
the excerpts as published, the predictions become prediction lines, ``score_folder`` (what ``videomind eval score``
runs) scores them, and every value must equal the official one to two decimals.

Official scripts (each run with OMP_NUM_THREADS=1, no file of theirs edited):

- QVHighlights: jayleicn/moment_detr @ b7e553ac3b0c898ee6b85e03ee507c064eab89ca,
  ``PYTHONPATH=. python standalone_eval/eval.py --submission_path submission.jsonl
  --gt_path highlight_val_release.jsonl --save_path metrics.json``.
- ReXTime: ReXTime/ReXTime @ cb9f484110ef45299635d18626d5f8447f29f15d, in ``evaluation/``:
  ``python rextime_eval.py --submission_path submission.jsonl --gt_path rextime_val.jsonl --save_path metrics.json``.
- NExT-GQA: doc-doc/NExT-GQA @ 63772e0256ad9e34b83d6a108f1ba2041b924607, in ``code/TempGQA/``:
  ``eval_ground(load_file("gsub_test.json"), load_file("test_ground.json"), load_file("test-res.json"))`` (prints one
  decimal; the same source run with only its ``{:.1f}`` format widened gives the 2-decimal values) and
  ``eval_next.accuracy_metric(load_file("test.csv"), load_file("test-res.json"))`` for Acc.
- Charades-STA: yeliudev/VideoMind @ 6721d2564eeb9ea8ab6c0ab8eaa39bd231ee8927,
  ``python videomind/eval/eval_auto.py DIR --dataset charades_sta`` (torch 2.13 CPU, nncore 0.4.7).
"""

from __future__ import annotations

import json
from pathlib import Path

from videomind.data import get_source
from videomind.eval.predictions import PredictionRecord
from videomind.eval.score import score_folder
from videomind.metrics.highlights import RECALL_THRESHOLDS

FIXTURES = Path(__file__).resolve().parents[1] / "fixtures"
CASES = {"tie0.5", "tie0.3", "tie0.7", "zero_inside", "zero_outside", "past_end", "perturbed", "random"}


def official(bench: str) -> dict:
    return json.loads((FIXTURES / bench / "official.json").read_text())


def predictions(bench: str) -> list[dict]:
    preds = json.loads((FIXTURES / bench / "predictions.json").read_text())
    assert {p["case"] for p in preds} == CASES  # every kind of edge case is in the excerpt
    return preds


def score(tmp_path: Path, bench: str, records: list[PredictionRecord], **overrides) -> dict:
    with open(tmp_path / "predictions.jsonl", "w", encoding="utf-8") as f:
        f.writelines(r.to_json() + "\n" for r in records)
    return score_folder(tmp_path, bench, overrides, write=False)


def assert_parity(ours: dict, values: dict, expected_count: int) -> None:
    compared = {k: v for k, v in values.items() if k in ours}
    assert len(compared) == expected_count, sorted(set(values) - set(ours))
    differ = {k: (v, round(ours[k], 4)) for k, v in compared.items() if f"{ours[k]:.2f}" != f"{v:.2f}"}
    assert differ == {}


def test_qvhighlights_equals_moment_detr_standalone_eval(tmp_path):
    """jayleicn/moment_detr @ b7e553ac3b0c898ee6b85e03ee507c064eab89ca: ``PYTHONPATH=. python
    standalone_eval/eval.py --submission_path submission.jsonl --gt_path highlight_val_release.jsonl --save_path
    metrics.json`` (submission = predictions.json without "case"). R1 at 0.5:0.05:0.95, mAP at each threshold,
    the short / middle / long mAP, HL-mAP and HIT@1 at three saliency levels: 30 values."""
    samples = get_source("qvhighlights", FIXTURES).load("valid")
    preds = {p["qid"]: p for p in predictions("qvhighlights")}
    records = []
    for s in samples:
        p = preds[s.extra["qid"]]
        windows = p["pred_relevant_windows"]
        records.append(PredictionRecord(
            id=s.id, benchmark="qvhighlights", sample=s, pred=[w[:2] for w in windows],
            conf=[w[2] for w in windows], pred_saliency_scores=p["pred_saliency_scores"],
        ))  # fmt: skip
    ours = score(tmp_path, "qvhighlights", records, iou_thresholds=RECALL_THRESHOLDS)["overall"]
    assert_parity(ours, official("qvhighlights")["values"], 30)


def test_rextime_equals_rextime_eval(tmp_path):
    """ReXTime/ReXTime @ cb9f484110ef45299635d18626d5f8447f29f15d, in evaluation/: ``python rextime_eval.py
    --submission_path submission.jsonl --gt_path rextime_val.jsonl --save_path metrics.json`` (submission lines
    {qid, pred_relevant_windows, ans}). R1 at 0.3:0.05:0.95, mIoU, VQA (Acc) and VQA,mIoU@0.5 (Acc@IoU): 17 values.
    The GitHub release is read as published (no option texts: 4 options by count)."""
    samples = get_source("rextime", FIXTURES).load("valid")
    preds = {p["qid"]: p for p in predictions("rextime")}
    records = []
    for s in samples:
        p = preds[s.id.rsplit("/", 1)[1]]
        records.append(PredictionRecord(
            id=s.id, benchmark="rextime", sample=s, pred=p["pred"], conf=p["conf"],
            response=p["ans"] or "unknown", answer=p["ans"],
        ))  # fmt: skip
    thresholds = tuple(round(0.3 + 0.05 * i, 2) for i in range(14))
    out = score(tmp_path, "rextime", records, iou_thresholds=thresholds)
    assert out["unparsable"] == sum(p["ans"] is None for p in preds.values()) > 0
    assert_parity(out["overall"], official("rextime")["values"], 17)


def test_nextgqa_equals_eval_ground(tmp_path):
    """doc-doc/NExT-GQA @ 63772e0256ad9e34b83d6a108f1ba2041b924607, in code/TempGQA/: ``eval_ground(
    load_file("gsub_test.json"), load_file("test_ground.json"), load_file("test-res.json"))`` with test_ground.json
    = {key: pred[0]} and test-res.json = {key: {answer, prediction}}, and ``eval_next.accuracy_metric(
    load_file("test.csv"), load_file("test-res.json"))``. Acc&GQA, mIoP, TIoP@0.3/0.5, mIoU, TIoU@0.3/0.5, Acc:
    8 values, equal to 2 decimals, and the printed one-decimal line itself. A zero-length prediction inside a
    ground-truth span has IoP 1 here (get_tIoU)."""
    samples = get_source("nextgqa", FIXTURES).load("test")
    preds = {p["key"]: p for p in predictions("nextgqa")}
    records = []
    for s in samples:
        p = preds[s.id.rsplit("/", 1)[1]]
        assert p["answer"] == s.answer
        records.append(PredictionRecord(
            id=s.id, benchmark="nextgqa", sample=s, pred=p["pred"], conf=p["conf"],
            response=p["prediction"] or "unknown", answer=p["prediction"],
        ))  # fmt: skip
    ours = score(tmp_path, "nextgqa", records)["overall"]
    expected = official("nextgqa")
    assert_parity(ours, expected["values"], 8)
    names = ["Acc@GQA", "mIoP", "R@IoP0.3", "R@IoP0.5", "mIoU", "R1@0.3", "R1@0.5"]
    printed = expected["printed"]["eval_ground"].splitlines()[1].split()
    assert [f"{ours[n]:.1f}" for n in names] == printed


def test_charades_sta_equals_videomind_eval_auto(tmp_path):
    """yeliudev/VideoMind @ 6721d2564eeb9ea8ab6c0ab8eaa39bd231ee8927: ``python videomind/eval/eval_auto.py DIR
    --dataset charades_sta`` on DIR/preds.json = [{pred, conf, span: [[start, end]] as annotated}]. R{1,3,5}@{0.3,
    0.5,0.7}, mIoU, R1@IoP{0.3,0.5,0.7}, mIoP: 14 values. Half of the 40 ground-truth spans end past the video's
    length (Charades_v1_test.csv), which our loader reads as the durations."""
    samples = get_source("charades_sta", FIXTURES).load("test")
    assert sum(s.spans != tuple(map(tuple, s.extra.get("raw_spans", s.spans))) for s in samples) == 21
    preds = predictions("charades_sta")
    records = [
        PredictionRecord(id=s.id, benchmark="charades_sta", sample=s, pred=p["pred"], conf=p["conf"])
        for s, p in zip(samples, preds, strict=True)
    ]
    out = score(tmp_path, "charades_sta", records, iop_thresholds=(0.3, 0.5, 0.7))
    assert out["zero_length"] == sum(p["case"].startswith("zero") for p in preds) == 10
    assert_parity(out["overall"], official("charades_sta")["values"], 14)
