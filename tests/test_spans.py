import math

import numpy as np
import pytest
import torch
from hypothesis import given
from hypothesis import strategies as st
from safetensors.torch import load_file

from tests.conftest import ORACLE, load_expected
from videomind import spans

OPS = load_expected("nncore_ops")


def _close(actual: torch.Tensor, expected) -> None:
    exp = torch.tensor(expected, dtype=torch.float32)
    assert torch.allclose(actual, exp, atol=1e-7, equal_nan=True), (actual, exp)


def test_temporal_ops_match_reference():
    ops = OPS["temporal_ops"]
    a, b = ops["A"], ops["B"]
    _close(spans.temporal_area(a), ops["temporal_area_A"])
    _close(spans.temporal_intersection(a, b), ops["temporal_intersection_AB"])
    _close(spans.temporal_iou(a, b), ops["temporal_iou_AB"])
    _close(spans.temporal_iop(a, b), ops["temporal_iof_AB"])
    _close(spans.temporal_iou_aligned(a, b[:5]), ops["temporal_iou_aligned_A_B5"])


@pytest.mark.parametrize("case", sorted(k for k in OPS["nms"] if k != "big_130_rows"))
def test_nms_matches_reference(case):
    data = OPS["nms"][case]
    out = spans.temporal_nms(torch.tensor(data["input"]), OPS["nms_cfg"]["thres"], OPS["nms_cfg"]["top_k"])
    assert torch.equal(out, torch.tensor(data["output"]))


def test_nms_top_k_truncation_matches_reference():
    big = load_file(str(ORACLE / "expected" / "nms.safetensors"))
    out = spans.temporal_nms(big["big_input"])
    assert out.shape == (100, 3)
    assert torch.equal(out, big["big_output"])


def test_nms_hand_case():
    # [0,10] s=.9 suppresses [1,10] (IoU .9) but not [0,5] (IoU .5); [0,5] then stays second.
    rows = torch.tensor([[1.0, 10.0, 0.8], [0.0, 10.0, 0.9], [0.0, 5.0, 0.7]])
    out = spans.temporal_nms(rows)
    assert torch.allclose(out, torch.tensor([[0.0, 10.0, 0.9], [0.0, 5.0, 0.7], [1.0, 10.0, 0.0]]))


@pytest.mark.parametrize(
    ("span", "duration", "min_len", "expected"),
    [
        ((3.0, 1.0), 10.0, None, (1.0, 3.0)),  # ordered
        ((-2.0, 12.0), 10.0, None, (0.0, 10.0)),  # clamped
        ((4.0, 5.0), 10.0, 2.0, (3.5, 5.5)),  # widened around the centre
        ((0.0, 0.5), 10.0, 2.0, (0.0, 2.0)),  # centre pushed inside
        ((9.8, 10.0), 10.0, 2.0, (8.0, 10.0)),
        ((1.0, 2.0), 1.5, 32.0, (0.0, 1.5)),  # video shorter than min_len -> whole video
    ],
)
def test_expand_span(span, duration, min_len, expected):
    assert spans.expand_span(span, duration, min_len) == pytest.approx(expected)


def test_zoom_window_matches_oracle_verifier_case():
    case = load_expected("verifier_A")
    (s1, e1), (ss, se) = spans.zoom_window(case["candidate"], case["duration"], 2.0)
    assert [s1, e1] == pytest.approx(case["window_s1e1"])
    assert (ss, se) == pytest.approx((case["ss"], case["se"]))


def test_fallback_spans():
    assert spans.fallback_spans(60.0, with_verifier=False) == [(0.0, 60.0)]
    assert spans.fallback_spans(60.0, with_verifier=True) == [(0, 20), (10, 30), (20, 40), (30, 50), (40, 60)]


def test_round_to_unit():
    assert spans.round_to_unit(3.26, 0.1) == pytest.approx(3.3)
    assert spans.round_to_unit(5.0, 2.0) == 4.0  # banker's rounding of 2.5, as Python's round
    assert spans.round_to_unit(1.2346, 0.001) == pytest.approx(1.235)


span_st = st.tuples(st.floats(0, 100), st.floats(0, 100)).map(lambda t: (min(t), max(t)))


@given(span_st, span_st)
def test_iou_symmetric_and_bounded(a, b):
    ab = float(spans.temporal_iou([a], [b])[0, 0])
    ba = float(spans.temporal_iou([b], [a])[0, 0])
    if math.isnan(ab):
        assert math.isnan(ba)
    else:
        assert ab == pytest.approx(ba, abs=1e-6)
        assert -1e-6 <= ab <= 1 + 1e-6


# --- Evaluation rules (IoURule / rule_scores): what each official script computes -----------------------------


def _rule_scores(pred, gt, rule):
    iou, iop = spans.rule_scores(np.asarray([pred], float), np.asarray([gt], float), rule)
    return iou[0], iop[0]


def test_exact_tie_depends_on_the_union():
    # [0, 2.7] vs [0, 5.4]: IoU 0.5 in real numbers
    hull, _ = _rule_scores([[0, 2.7]], [[0, 5.4]], spans.IoURule(union=spans.UNION_HULL))
    summed, _ = _rule_scores([[0, 2.7]], [[0, 5.4]], spans.IoURule())
    assert hull[0] == 0.5  # 2.7 / (5.4 - 0)
    assert summed[0] == 2.7 / (2.7 + 5.4 - 2.7) < 0.5  # 0.49999999999999994


def test_float32_rule_compares_thresholds_in_float32():
    rule = spans.IoURule(float32=True)
    iou, _ = _rule_scores([[0.0, 1.0]], [[0.3, 1.0]], rule)  # 0.7 in real numbers
    assert iou.dtype == np.float32 and iou[0] == np.float32(0.7)
    assert iou[0] >= rule.threshold(0.7)  # torch: float32 tensor >= 0.7 compares with float32(0.7)
    assert not float(iou[0]) >= 0.7  # the same value is below 0.7 in float64


def test_zero_length_prediction_rules():
    inside = spans.IoURule(union=spans.UNION_HULL, point=spans.POINT_INSIDE)
    iou, iop = _rule_scores([[3, 3], [5, 5], [12, 12]], [[2, 5], [8, 10]], inside)
    np.testing.assert_array_equal(iou, [0, 0, 0])
    np.testing.assert_array_equal(iop, [1, 1, 0])  # bounds included (get_tIoU), outside both spans 0
    iou, iop = _rule_scores([[3, 3]], [[2, 5]], spans.IoURule())
    assert iou[0] == 0 and iop[0] == 0  # 0 / 0 -> 0 (nncore temporal_iof + isfinite)


def test_first_argmax_picks_the_span_of_highest_summed_iou():
    # Moment-DETR: choose the ground-truth window by |p|+|g|-overlap IoU, then score it with the hull union
    rule = spans.IoURule(union=spans.UNION_HULL, pick=spans.PICK_FIRST_ARGMAX)
    iou, _ = _rule_scores([[0, 4]], [[10, 12], [2, 6], [0, 8]], rule)
    assert iou[0] == 0.5  # [0, 8] (0.5) over [2, 6] (1/3) and [10, 12] (0)
    iou, _ = _rule_scores([[0, 2.7]], [[7, 9], [0, 5.4]], rule)
    assert iou[0] == 0.5  # chosen by the summed IoU (0.4999...), scored with the hull union


def test_padding_and_reversed_spans_score_zero():
    pred = np.array([[[0, 4], [np.nan, np.nan]]], float)
    gt = np.array([[[0, 4], [np.nan, np.nan]]], float)
    iou, iop = spans.rule_scores(pred, gt, spans.IoURule())
    np.testing.assert_array_equal(iou, [[1, 0]])
    np.testing.assert_array_equal(iop, [[1, 0]])
    iou, iop = _rule_scores(
        [[4, 0]], [[0, 4]], spans.IoURule(union=spans.UNION_HULL, point=spans.POINT_INSIDE)
    )
    assert iou[0] == 0 and iop[0] == 0


def test_bad_rule_is_refused():
    with pytest.raises(ValueError, match="union"):
        spans.IoURule(union="intersection")
