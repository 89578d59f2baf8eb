"""The prediction-line schema: JSON round trip and construction from agent results."""

from __future__ import annotations

import json

from videomind.eval.predictions import PredictionRecord
from videomind.records import AgentResult, AgentStep, Moment, Role, Sample

SAMPLE = Sample(id="v1_q3", source="nextgqa", duration=30.0, spans=[(4, 9)], question="Why?",
                options=["a", "b", "c", "d", "e"], answer="C", task=["CW"], extra={"qid": 3})  # fmt: skip


def test_json_round_trip_and_id_first():
    rec = PredictionRecord(
        "v1_q3", "nextgqa", SAMPLE, pred=[[4.0, 9.0]], conf=[0.8], response="C) c", answer="C"
    )
    line = rec.to_json()
    assert line.startswith('{"id":"v1_q3"') and "\n" not in line
    back = PredictionRecord.from_dict(json.loads(line))
    assert back == rec
    assert back.sample.spans == ((4.0, 9.0),) and back.sample.extra == {"qid": 3}


def test_from_result_keeps_grounder_ranking_and_confidences():
    candidates = [Moment(0, 5, 0.9), Moment(4, 9, 0.7), Moment(20, 25, 0.4)]
    # the verifier put (4,9) first; a verified moment's score is the verifier's
    moments = [Moment(4, 9, 0.95), Moment(0, 5, 0.30), Moment(20, 25, 0.10)]
    result = AgentResult(
        question="Why?", duration=30.0, answer="C", response="C) c", moments=moments, candidates=candidates,
        verifier_scores=[0.30, 0.95, 0.10], grounder_success=True,
        trace=[AgentStep(Role.GROUNDER, "p", "r"), AgentStep(Role.ANSWERER, "p2", "C) c", "C")],
    )  # fmt: skip
    rec = PredictionRecord.from_result("nextgqa", SAMPLE, result, seconds=1.5)
    assert rec.pred == [[4.0, 9.0], [0.0, 5.0], [20.0, 25.0]]
    assert rec.conf == [0.7, 0.9, 0.4]  # grounder confidences in the verified order (the official `conf`)
    assert rec.pred_ori == [[0.0, 5.0], [4.0, 9.0], [20.0, 25.0]] and rec.conf_ori == [0.9, 0.7, 0.4]
    assert rec.verifier_scores == [0.30, 0.95, 0.10] and rec.grounder_success is True
    assert [s["role"] for s in rec.trace] == ["grounder", "answerer"] and rec.seconds == 1.5
    json.loads(rec.to_json())  # JSON-safe


def test_from_result_without_grounding_or_verifier():
    result = AgentResult(question="Why?", duration=30.0, answer="A", response="A")
    rec = PredictionRecord.from_result("videomme", SAMPLE, result)
    assert rec.pred is None and rec.conf is None and rec.pred_ori is None
    unverified = AgentResult(question="q", duration=30.0, moments=[Moment(1, 2, 0.5)], grounder_success=False)
    rec = PredictionRecord.from_result("charades_sta", SAMPLE, unverified)
    assert (
        rec.pred == [[1.0, 2.0]]
        and rec.conf == [0.5]
        and rec.pred_ori is None
        and rec.grounder_success is False
    )


def test_failed_record_keeps_the_error():
    rec = PredictionRecord.failed("nextgqa", SAMPLE, RuntimeError("video unreadable"), seconds=0.2)
    assert rec.error == "RuntimeError: video unreadable" and rec.pred is None and rec.response is None
    assert json.loads(rec.to_json())["error"] == "RuntimeError: video unreadable"
