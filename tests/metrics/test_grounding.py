"""Grounding metrics: hand-computed cases, agreement with videomind.spans, and properties."""

from __future__ import annotations

import math
import random

import numpy as np
import pytest
import torch
from hypothesis import given, settings
from hypothesis import strategies as st

from videomind import spans
from videomind.metrics import grounding as g

# Three samples (seconds).
#  s1: preds (0,10) (20,30) (4,9) vs GT (5,10)
#      IoU: 5/10 = 0.5 ; 0 ; 4/6 = 0.667      IoP: 5/10 = 0.5 ; 0 ; 4/5 = 0.8
#  s2: pred (2,6) vs GT (0,4) and (5,8)
#      IoU: 2/6 = 1/3 and 1/6 -> best 1/3     IoP: 2/4 = 0.5 and 1/4 -> best 0.5
#  s3: no prediction vs GT (1,2) -> everything 0
PREDS = [[(0, 10), (20, 30), (4, 9)], [(2, 6)], []]
GTS = [[(5, 10)], [(0, 4), (5, 8)], [(1, 2)]]


def test_hand_computed_case():
    m = g.grounding_metrics(PREDS, GTS)
    assert m["R1@0.3"] == pytest.approx(200 / 3)  # s1 (0.5) and s2 (1/3)
    assert m["R1@0.5"] == pytest.approx(100 / 3)  # s1 only (0.5 >= 0.5)
    assert m["R1@0.7"] == 0.0
    assert m["R3@0.5"] == pytest.approx(100 / 3)  # s1's best of three is 0.667
    assert m["R3@0.7"] == 0.0  # 0.667 < 0.7
    assert m["R5@0.3"] == pytest.approx(200 / 3)
    assert m["mIoU"] == pytest.approx((0.5 + 1 / 3 + 0) / 3 * 100)  # 27.78
    assert m["R@IoP0.5"] == pytest.approx(200 / 3)  # s1 0.5, s2 0.5
    assert m["R@IoP0.3"] == pytest.approx(200 / 3)
    assert m["mIoP"] == pytest.approx((0.5 + 0.5 + 0) / 3 * 100)  # 33.33


def test_custom_top_k_and_thresholds():
    m = g.grounding_metrics(PREDS, GTS, top_k=(2,), iou_thresholds=(0.6,), iop_thresholds=(0.75,))
    # s1's top-2 are (0,10) 0.5 and (20,30) 0: below 0.6; top-1 IoP 0.5 < 0.75 everywhere
    assert m == {
        "R2@0.6": 0.0,
        "mIoU": pytest.approx(250 / 9),
        "R@IoP0.75": 0.0,
        "mIoP": pytest.approx(100 / 3),
    }


def test_non_finite_counts_as_zero():
    # zero-length pred and GT: IoU 0/0 = NaN -> 0; zero-length pred inside a GT: IoU 0/10 = 0, IoP 0/0 -> 0
    m = g.grounding_metrics([[(3, 3)], [(3, 3)], [(float("nan"), 4)]], [[(3, 3)], [(0, 10)], [(0, 4)]])
    assert m["mIoU"] == 0.0 and m["mIoP"] == 0.0 and m["R1@0.3"] == 0.0


def test_pad_spans_ragged():
    out = g.pad_spans([[(1, 2), (3, 4, 0.9)], None, [(5, 6)]])
    assert out.shape == (3, 2, 2)
    np.testing.assert_array_equal(out[0], [[1, 2], [3, 4]])
    assert np.isnan(out[1]).all()
    np.testing.assert_array_equal(out[2, 0], [5, 6])
    assert np.isnan(out[2, 1]).all()
    assert g.pad_spans([[(1, 2), (3, 4)]], max_len=1).shape == (1, 1, 2)
    assert g.pad_spans([]).shape == (0, 1, 2)


def test_tables_agree_with_spans_module():
    rng = random.Random(0)
    pred = [[sorted((rng.uniform(0, 50), rng.uniform(0, 50))) for _ in range(4)]]
    gt = [[sorted((rng.uniform(0, 50), rng.uniform(0, 50))) for _ in range(3)]]
    iou = g.iou_table(g.pad_spans(pred), g.pad_spans(gt))[0]
    iop = g.iop_table(g.pad_spans(pred), g.pad_spans(gt))[0]
    ref_iou = spans.temporal_iou(
        torch.tensor(pred[0], dtype=torch.float64), torch.tensor(gt[0], dtype=torch.float64)
    )
    ref_iop = spans.temporal_iop(
        torch.tensor(pred[0], dtype=torch.float64), torch.tensor(gt[0], dtype=torch.float64)
    )
    np.testing.assert_allclose(iou, ref_iou.numpy(), rtol=1e-12)
    np.testing.assert_allclose(iop, ref_iop.numpy(), rtol=1e-12)


def test_recall_keys():
    assert g.recall_key(1, 0.5) == "R1@0.5"
    assert g.recall_key(5, 0.7) == "R5@0.7"
    assert g.recall_key(1, 0.5, "IoP") == "R@IoP0.5"
    assert g.recall_key(3, 0.35000000000000003, "IoP") == "R3@IoP0.35"


span = st.tuples(st.floats(0, 100), st.floats(0, 100)).map(lambda p: (min(p), max(p)))
sample = st.tuples(st.lists(span, min_size=1, max_size=6), st.lists(span, min_size=1, max_size=3))


@settings(max_examples=60, deadline=None)
@given(st.lists(span, min_size=1, max_size=5), st.lists(span, min_size=1, max_size=5))
def test_iou_symmetric_and_bounded(a, b):
    ab = g.iou_table(g.pad_spans([a]), g.pad_spans([b]))[0]
    ba = g.iou_table(g.pad_spans([b]), g.pad_spans([a]))[0]
    np.testing.assert_allclose(ab, ba.T, atol=1e-12)
    assert ((ab >= 0) & (ab <= 1 + 1e-12)).all()


@settings(max_examples=40, deadline=None)
@given(
    st.lists(
        st.lists(span.filter(lambda s: s[1] - s[0] > 1e-3), min_size=1, max_size=3), min_size=1, max_size=8
    )
)
def test_perfect_prediction_scores_100(gts):
    m = g.grounding_metrics([[gt[0]] for gt in gts], gts)
    assert all(v == pytest.approx(100.0) for v in m.values()), m


@settings(max_examples=60, deadline=None)
@given(st.lists(sample, min_size=1, max_size=6), st.data())
def test_worse_lower_ranked_candidate_never_lowers_recall(samples, data):
    preds, gts = [p for p, _ in samples], [t for _, t in samples]
    before = g.grounding_metrics(preds, gts)
    extended = []
    for p, t in zip(preds, gts):
        worst = float(g.score_grounding([p], [t], len(p)).iou.min())
        extra = data.draw(span)
        if float(g.score_grounding([[extra]], [t], 1).iou[0, 0]) <= worst:
            p = [*p, extra]
        extended.append(p)
    after = g.grounding_metrics(extended, gts)
    for key in before:
        if key.startswith("R1@") or key in ("mIoU", "mIoP", "R@IoP0.3", "R@IoP0.5"):
            assert after[key] == before[key]  # top-1 unchanged
        else:
            assert after[key] >= before[key] - 1e-9


@settings(max_examples=30, deadline=None)
@given(st.lists(sample, min_size=2, max_size=8), st.randoms())
def test_sample_permutation_does_not_change_metrics(samples, rnd):
    shuffled = samples[:]
    rnd.shuffle(shuffled)
    a = g.grounding_metrics([p for p, _ in samples], [t for _, t in samples])
    b = g.grounding_metrics([p for p, _ in shuffled], [t for _, t in shuffled])
    assert a.keys() == b.keys()
    assert all(math.isclose(a[k], b[k], abs_tol=1e-9) for k in a)
