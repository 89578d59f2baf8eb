import math

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
