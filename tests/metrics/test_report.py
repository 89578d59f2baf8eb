"""Whole-benchmark reports: per-task grouping, counts, families, and the printed table."""

from __future__ import annotations

import random

import pytest

from videomind.metrics.report import EvalItem, MetricSpec, build_report, format_table

OPTS = ["red", "green", "blue", "yellow"]


def _items():
    # a: grounded MCQ, task (mcq, colour): top-1 (5,10) vs GT (5,10): IoU 1, IoP 1; answer "B) green" correct
    # b: grounded MCQ, task (mcq, shape): top-1 (0,4) vs GT (2,6): IoU 2/6, IoP 2/4; answer "A" wrong (C)
    # c: grounding only, task (grounding,): (10,20) vs (12,20): IoU .8, IoP .8; the grounder failed (fallback)
    # d: MCQ without grounding, task (mcq, colour): response unparsable
    # e: grounded sample whose run raised: no prediction, counted with IoU 0
    return [
        EvalItem("a", ("mcq", "colour"), [(5, 10)], [(5, 10), (0, 1)], [0.9, 0.1], options=OPTS, answer="B",
                 response="B) green"),
        EvalItem("b", ("mcq", "shape"), [(2, 6)], [(0, 4)], [0.5], options=OPTS, answer="C", response="A"),
        EvalItem("c", ("grounding",), [(12, 20)], [(10, 20)], [0.0], grounder_failed=True),
        EvalItem("d", ("mcq", "colour"), (), None, options=OPTS, answer="A", response="no idea"),
        EvalItem("e", ("grounding",), [(0, 5)], None, error="RuntimeError: boom"),
    ]  # fmt: skip


def test_overall_and_counts():
    r = build_report(_items(), MetricSpec("grounded_qa"))
    assert (r.count, r.failures, r.errors, r.unparsable) == (5, 1, 1, 1)
    o = r.overall
    assert o["grounding_count"] == 4 and o["qa_count"] == 3
    # grounding over a, b, c, e: IoU 1, 1/3, .8, 0 -> R1@0.5 = 2/4, R1@0.3 = 3/4, mIoU = 2.1333 / 4
    assert o["R1@0.5"] == 50.0 and o["R1@0.3"] == 75.0
    assert o["mIoU"] == pytest.approx((1 + 1 / 3 + 0.8) / 4 * 100)
    assert o["mIoP"] == pytest.approx((1 + 0.5 + 0.8) / 4 * 100)
    # QA over a, b, d: only a is correct; a also has IoU and IoP >= .5
    assert o["Acc"] == pytest.approx(100 / 3)
    assert o["Acc@IoU"] == pytest.approx(100 / 3) and o["Acc@GQA"] == pytest.approx(100 / 3)


def test_per_task_groups_count_multi_task_samples_in_each():
    r = build_report(_items(), MetricSpec("grounded_qa"))
    assert sorted(r.per_task) == ["colour", "grounding", "mcq", "shape"]
    colour = r.per_task["colour"]  # a and d
    assert colour["count"] == 2 and colour["unparsable"] == 1 and colour["Acc"] == 50.0
    assert colour["grounding_count"] == 1 and colour["R1@0.7"] == 100.0
    mcq = r.per_task["mcq"]  # a, b, d
    assert mcq["count"] == 3 and mcq["Acc"] == pytest.approx(100 / 3)
    grounding = r.per_task["grounding"]  # c and e: no QA keys at all
    assert grounding["failures"] == 1 and grounding["errors"] == 1 and "Acc" not in grounding
    assert grounding["mIoU"] == pytest.approx(40.0)  # (.8 + 0) / 2


def test_official_parse_mode_changes_unparsable_count():
    items = [EvalItem("x", (), (), None, options=OPTS, answer="B", response="Answer: B")]
    assert build_report(items, MetricSpec("qa")).overall["Acc"] == 100.0
    official = build_report(items, MetricSpec("qa", parse_mode="official")).overall
    assert official["Acc"] == 0.0 and official["unparsable"] == 0  # "answer:" -> "a": parsed, wrong


def test_samples_without_task_are_unknown():
    r = build_report([EvalItem("x", (), [(0, 1)], [(0, 1)])], MetricSpec("grounding"))
    assert list(r.per_task) == ["unknown"] and r.overall["R1@0.7"] == 100.0


def test_cgbench_family_uses_set_iou_and_union_rule():
    # two overlapping predictions above conf_thr .5 and one clue (0,15): correct IoU 1, official 4/3
    item = EvalItem(
        "x", ("t",), [(0, 15)], [(0, 10), (5, 15)], [0.9, 0.8], options=OPTS, answer="A", response="A"
    )
    spec = MetricSpec("cgbench", top_k=(1,), iou_thresholds=(0.1, 0.2, 0.3, 0.4, 0.5), conf_thr=0.5)
    correct = build_report([item], spec).overall
    assert correct["mIoU"] == pytest.approx(100.0) and correct["rec.@IoU"] == 100.0
    assert correct["long-acc."] == 100.0 and correct["acc.@IoU"] == 100.0
    official = build_report([item], spec.with_(union="official")).overall
    assert official["mIoU"] == pytest.approx(400 / 3)  # the published formula's double count
    top1 = build_report([item], spec.with_(conf_thr=-1.0)).overall
    assert top1["mIoU"] == pytest.approx(200 / 3)  # (0,10) vs (0,15)


def test_rtl_precision_and_task_mean():
    items = [EvalItem("x", (), [(0, 10)], [(0, 6)]), EvalItem("y", (), [(0, 10)], [(0, 4)])]
    r = build_report(items, MetricSpec("rtl", headline=("P@0.5", "mIoU"))).overall
    assert r["P@0.5"] == 50.0 and r["mIoU"] == pytest.approx(50.0)  # IoU .6 and .4
    # M-Avg: task accuracies 100 (t1: 1/1) and 50 (t2: 1/2) -> 75, while overall Acc is 2/3
    qa_items = [
        EvalItem("a", ("t1",), options=OPTS, answer="A", response="A"),
        EvalItem("b", ("t2",), options=OPTS, answer="A", response="A"),
        EvalItem("c", ("t2",), options=OPTS, answer="A", response="B"),
    ]
    o = build_report(qa_items, MetricSpec("qa", task_mean=True)).overall
    assert o["M-Avg"] == pytest.approx(75.0) and o["Acc"] == pytest.approx(200 / 3)


def test_qvhighlights_family_and_verifier_effect():
    items = [
        EvalItem("q1", (), [(0, 10), (20, 30)], [(0, 10), (21, 30), (50, 60), (0, 9)], [0.9, 0.8, 0.7, 0.6]),
        EvalItem("q2", (), [(10, 20)], [(30, 40), (10, 20)], [0.9, 0.5], pred_ori=[(10, 20)]),
    ]
    spec = MetricSpec("qvhighlights", top_k=(1, 5), iou_thresholds=(0.5, 0.7))
    r = build_report(items, spec)
    assert r.overall["mAP"] == pytest.approx(72.5)  # hand-computed in test_highlights.py
    assert r.overall["R1@0.5"] == 50.0 and r.overall["R5@0.7"] == 100.0
    assert r.verifier == {"samples": 1, "iou_raise": 0, "iou_lower": 1, "iop_raise": 0, "iop_lower": 1}


def test_permutation_of_samples_does_not_change_report():
    items = _items() * 3
    shuffled = items[:]
    random.Random(1).shuffle(shuffled)
    a, b = build_report(items, MetricSpec("grounded_qa")), build_report(shuffled, MetricSpec("grounded_qa"))
    assert a.overall == pytest.approx(b.overall) and a.per_task.keys() == b.per_task.keys()
    for task in a.per_task:
        assert a.per_task[task] == pytest.approx(b.per_task[task])


def test_empty_and_bad_spec():
    assert build_report([]).count == 0
    with pytest.raises(ValueError, match="family"):
        MetricSpec("bleu")
    with pytest.raises(ValueError, match="union"):
        MetricSpec(union="approx")


def test_format_table_has_a_row_per_task_and_all():
    r = build_report(_items(), MetricSpec("grounded_qa", headline=("R1@0.5", "mIoU", "Acc")))
    text = format_table(r)
    lines = text.splitlines()
    assert lines[0].split() == [
        "Task", "#Samples", "Failed", "Errors", "Unparsable", "Zero-length", "R1@0.5", "mIoU", "Acc"
    ]  # fmt: skip
    assert [line.split()[0] for line in lines[2:]] == ["colour", "grounding", "mcq", "shape", "all"]
    assert lines[-1].split()[1:6] == ["5", "1", "1", "1", "0"]
    assert "53.33" in lines[-1]  # mIoU (1 + 1/3 + .8) / 4
    assert lines[3].split()[-1] == "-"  # the grounding task has no Acc
