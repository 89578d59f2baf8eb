"""``videomind eval score``: merging shards with duplicates, truncated and unreadable lines, missing ids."""

from __future__ import annotations

import json

import pytest

from videomind.cli.main import main
from videomind.eval.benchmarks import BENCHMARKS
from videomind.eval.predictions import PredictionRecord
from videomind.eval.score import read_shards, score_folder
from videomind.records import Sample

OPTS = ["red", "green", "blue", "yellow"]


def _mcq(sid, span, pred, response, answer):
    s = Sample(id=sid, source="synthetic", duration=30.0, spans=[span], question="Which?", options=OPTS,
               answer=answer, task=["mcq"])  # fmt: skip
    return PredictionRecord(sid, "synthetic", s, pred=[pred], conf=[0.9], response=response).to_json()


def _gnd(sid, span, pred):
    s = Sample(id=sid, source="synthetic", duration=30.0, spans=[span], query="a shape", task=["grounding"])
    return PredictionRecord(sid, "synthetic", s, pred=[pred], conf=[0.9]).to_json()


@pytest.fixture
def folder(tmp_path):
    # a: IoU .5, IoP 1, correct        b (last version): IoU 1, correct     d: IoU .5, IoP 1
    # e: (5,15) vs (0,10): IoU 1/3, IoP .5 (written after a partial line of c)     f: IoU 0
    rank0 = [_mcq("a", (0, 10), (0, 5), "B", "B"), _mcq("b", (10, 20), (10, 20), "A", "C")]
    partial_c = _gnd("c", (0, 4), (0, 4))[:25]
    (tmp_path / "predictions.rank0-of-2.jsonl").write_text("\n".join(rank0) + "\n" + partial_c)
    rank1 = [
        _mcq("b", (10, 20), (10, 20), "(C)", "C"),
        _gnd("d", (0, 4), (0, 2)),
        partial_c + _gnd("e", (0, 10), (5, 15)),  # a killed run resumed without starting a new line
        "{not json",
        _gnd("f", (0, 10), (20, 30)),
    ]
    (tmp_path / "predictions.rank1-of-2.jsonl").write_text("\n".join(rank1) + "\n")
    (tmp_path / "expected_ids.json").write_text(json.dumps(["a", "b", "c", "d", "e", "f", "g"]))
    (tmp_path / "notes.txt").write_text("not a shard")
    return tmp_path


def test_read_shards(folder):
    shards = read_shards(folder)
    assert list(shards.lines) == ["a", "b", "d", "e", "f"]
    assert shards.lines["b"]["response"] == "(C)"  # the last line of an id wins
    assert shards.duplicates == 1 and shards.total == 8
    assert shards.truncated == ["predictions.rank0-of-2.jsonl:3", "predictions.rank1-of-2.jsonl:3"]
    assert shards.malformed == ["predictions.rank1-of-2.jsonl:4"]


def test_score_folder_metrics(folder):
    out = score_folder(folder)
    assert out["benchmark"] == "synthetic" and out["count"] == 5
    assert out["missing"] == ["c", "g"] and out["missing_count"] == 2 and out["unexpected_count"] == 0
    o = out["overall"]
    # IoU a .5, b 1, d .5, e 1/3, f 0 ; IoP 1, 1, 1, .5, 0
    assert o["R1@0.3"] == 80.0 and o["R1@0.5"] == 60.0 and o["R1@0.7"] == 20.0
    assert o["mIoU"] == pytest.approx((0.5 + 1 + 0.5 + 1 / 3) / 5 * 100)
    assert o["mIoP"] == pytest.approx(70.0)
    assert o["Acc"] == 100.0 and o["Acc@IoU"] == 100.0  # a (IoU .5) and b (1)
    assert out["per_task"]["grounding"]["count"] == 3 and out["per_task"]["mcq"]["Acc"] == 100.0
    written = json.loads((folder / "metrics.json").read_text())
    assert written["overall"] == pytest.approx(o) and written["failures"] == 0


def test_cli_prints_table_and_writes_metrics(folder, capsys):
    assert main(["eval", "score", str(folder)]) == 0
    text = capsys.readouterr().out
    assert "Synthetic shapes (test): 5 samples from 2 file(s)" in text
    rows = {line.split()[0]: line.split() for line in text.splitlines() if line.split()}
    assert rows["all"][1] == "5" and "46.67" in rows["all"]  # mIoU
    assert rows["grounding"][1] == "3" and rows["mcq"][1] == "2"
    assert "2 expected ids missing" in text and "1 duplicate lines" in text and "2 truncated" in text
    assert (folder / "metrics.json").exists()
    assert main(["eval", "score", str(folder), "--strict", "--no-write"]) == 1  # missing ids, unreadable line


def test_cli_json_and_official_options(folder, capsys):
    assert main(["eval", "score", str(folder), "--json", "--official", "--no-write"]) == 0
    out = json.loads(capsys.readouterr().out)
    assert out["spec"]["parse_mode"] == "official" and out["spec"]["union"] == "official"
    assert out["overall"]["Acc"] == 100.0  # "B" and "(C)" read the same way by check_ans
    assert (
        main(
            ["eval", "score", str(folder), "--json", "--no-write", "--top-k", "2", "--iou-thresholds", "0.4"]
        )
        == 0
    )
    out = json.loads(capsys.readouterr().out)
    assert out["overall"]["R2@0.4"] == 60.0 and "R1@0.5" not in out["overall"]  # a, b, d: IoU .5, 1, .5


def test_cli_errors_exit_2(tmp_path, capsys):
    assert main(["eval", "score", str(tmp_path)]) == 2  # no shard files
    other = Sample(id="z", source="tacos", duration=9.0, spans=[(0, 1)], query="q")
    lines = [_gnd("a", (0, 1), (0, 1)), PredictionRecord("z", "tacos", other, pred=[[0, 1]]).to_json()]
    (tmp_path / "p.jsonl").write_text("\n".join(lines) + "\n")
    assert main(["eval", "score", str(tmp_path)]) == 2  # two benchmarks mixed
    assert main(["eval", "score", str(tmp_path), "--benchmark", "tacos", "--no-write"]) == 0
    assert main(["eval", "score", str(tmp_path), "--benchmark", "nope"]) == 2


def test_cli_list(capsys):
    assert main(["eval", "list"]) == 0
    text = capsys.readouterr().out
    assert "charades_sta" in text and "qvhighlights:valid" in text and "custom:test" in text
    assert len(text.splitlines()) == len(BENCHMARKS)  # one line per benchmark, no header


def test_qvhighlights_lines_use_the_annotation_fields(tmp_path):
    # the hand example of tests/metrics/test_highlights.py, as prediction lines: mAP 72.5; q1 has saliency
    # (duration 10 -> 5 clips; VeryGood AP 2/3, hit 1: see test_highlight_query_hand_example)
    extra1 = {"qid": 1, "vid": "v1", "relevant_windows": [[0, 10], [20, 30]], "relevant_clip_ids": [1, 2],
              "saliency_scores": [[4, 2, 3], [1, 4, 4]]}  # fmt: skip
    extra2 = {"qid": 2, "vid": "v2", "relevant_windows": [[10, 20]]}
    s1 = Sample(
        id="1", source="qvhighlights", duration=10.0, spans=[(0, 10), (20, 30)], query="q", extra=extra1
    )
    s2 = Sample(id="2", source="qvhighlights", duration=150.0, spans=[(10, 20)], query="q", extra=extra2)
    lines = [
        PredictionRecord("1", "qvhighlights", s1, pred=[[0, 10], [21, 30], [50, 60], [0, 9]],
                         conf=[0.9, 0.8, 0.7, 0.6], pred_saliency_scores=[0.1, 0.9, 0.5, 0.2, 0.3]),
        PredictionRecord("2", "qvhighlights", s2, pred=[[30, 40], [10, 20]], conf=[0.9, 0.5]),
    ]  # fmt: skip
    (tmp_path / "p.jsonl").write_text("".join(r.to_json() + "\n" for r in lines))
    o = score_folder(tmp_path, write=False)["overall"]
    assert o["mAP"] == pytest.approx(72.5) and o["mAP@0.5"] == pytest.approx(75.0)
    assert o["R1@0.5"] == 50.0 and o["R1@0.7"] == 50.0
    assert o["HL-mAP"] == pytest.approx(200 / 3) and o["HIT@1"] == 100.0


def test_counts_unparsable_failed_zero_length_and_ground_truth_as_annotated(tmp_path, capsys):
    # g1: zero-length top-1 inside the span; g2: the grounder failed (fallback used); m1: unparsable answer.
    # g3's ground truth [8, 12] runs past the 10 s video: the source clamped it to [8, 10] and kept the original in
    # raw_spans; the prediction [8, 12] is scored against the original (IoU 1), not the clamped span (IoU 0.5).
    def gnd(sid, span, pred, **kw):
        s = Sample(
            id=sid, source="synthetic", duration=10.0, spans=[span], query="q", task=["grounding"], **kw
        )
        return PredictionRecord(sid, "synthetic", s, pred=[pred], conf=[0.9], grounder_success=sid != "g2")

    lines = [
        gnd("g1", (0, 4), (2, 2)),
        gnd("g2", (0, 4), (0, 4)),
        gnd("g3", (8, 10), (8, 12), extra={"raw_spans": [[8, 12]]}),
        PredictionRecord.from_dict(json.loads(_mcq("m1", (0, 10), (0, 10), "no idea", "B"))),
    ]
    (tmp_path / "p.jsonl").write_text("".join(r.to_json() + "\n" for r in lines))
    assert main(["eval", "score", str(tmp_path)]) == 0
    out = capsys.readouterr().out
    header = next(line for line in out.splitlines() if line.startswith("Task"))
    assert header.split()[1:6] == ["#Samples", "Failed", "Errors", "Unparsable", "Zero-length"]
    assert "1 unparsable answer(s), 1 grounder failure(s), 0 error(s), 1 zero-length top-1 span(s)" in out
    metrics = json.loads((tmp_path / "metrics.json").read_text())
    assert (metrics["unparsable"], metrics["failures"], metrics["zero_length"]) == (1, 1, 1)
    assert metrics["per_task"]["grounding"]["zero_length"] == 1
    assert metrics["per_task"]["grounding"]["mIoU"] == pytest.approx(200 / 3)  # g1 0, g2 1, g3 1


def test_iou_rule_option_overrides_the_benchmark_rule(tmp_path, capsys):
    # a zero-length prediction inside the span: IoP 1 by NExT-GQA's rule (the nextgqa benchmark's), 0 by VideoMind's
    s = Sample(id="n1", source="nextgqa", duration=20.0, spans=[(2, 8)], query="q")
    (tmp_path / "p.jsonl").write_text(
        PredictionRecord("n1", "nextgqa", s, pred=[[5, 5]], conf=[1.0]).to_json() + "\n"
    )
    assert main(["eval", "score", str(tmp_path), "--json", "--no-write"]) == 0
    out = json.loads(capsys.readouterr().out)
    assert out["overall"]["mIoP"] == 100.0 and out["spec"]["iou_rule"]["name"] == "nextgqa"
    assert main(["eval", "score", str(tmp_path), "--json", "--no-write", "--iou-rule", "videomind"]) == 0
    assert json.loads(capsys.readouterr().out)["overall"]["mIoP"] == 0.0
