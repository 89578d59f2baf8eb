"""QVHighlights metrics: hand examples for moment-retrieval mAP, buckets and highlight detection, and a
comparison of the vectorised AP with a plain loop over the protocol's steps."""

from __future__ import annotations

import numpy as np
import pytest

from videomind.metrics import highlights as hl
from videomind.metrics.grounding import pad_spans

# Query 1: GT (0,10), (20,30); predictions in score order
#   (0,10) .9: IoU 1 with g0            -> TP at every threshold
#   (21,30) .8: IoU 9/10 = .9 with g1   -> TP for thresholds <= .9, FP at .95
#   (50,60) .7: no overlap              -> FP
#   (0,9) .6: IoU .9 with g0, but g0 is taken; g1 gives 0 -> FP
# thr <= .9: precision 1, 1, 2/3, 1/2 ; recall .5, 1, 1, 1 -> AP = .5 * 1 + .5 * 1 = 1
# thr = .95: TP only for the first -> AP = .5 * 1 = .5      => mAP = (9 * 1 + .5) / 10 = .95
# Query 2: GT (10,20); predictions (30,40) .9 then (10,20) .5 (listed best first by score)
#   FP then TP: precision 0, 1/2 ; recall 0, 1 -> envelope .5 -> AP = .5 at every threshold
Q1 = {"qid": 1, "pred_relevant_windows": [[0, 10, 0.9], [21, 30, 0.8], [50, 60, 0.7], [0, 9, 0.6]]}
Q2 = {"qid": 2, "pred_relevant_windows": [[30, 40, 0.9], [10, 20, 0.5]]}
A1 = {"qid": 1, "duration": 150, "relevant_windows": [[0, 10], [20, 30]]}
A2 = {"qid": 2, "duration": 150, "relevant_windows": [[10, 20]]}


def test_window_ap_hand_example():
    windows = hl.windows_with_scores([Q1["pred_relevant_windows"], Q2["pred_relevant_windows"]])
    ap = hl.window_ap(windows, pad_spans([A1["relevant_windows"], A2["relevant_windows"]]))
    np.testing.assert_allclose(ap[0], [1.0] * 9 + [0.5])
    np.testing.assert_allclose(ap[1], [0.5] * 10)


def test_qvhighlights_metrics_hand_example():
    m = hl.qvhighlights_metrics([Q2, Q1], [A1, A2])  # prediction order does not matter, qids do
    assert m["mAP"] == pytest.approx((95.0 + 50.0) / 2)
    assert m["mAP@0.5"] == pytest.approx(75.0)  # (100 + 50) / 2
    assert m["mAP@0.75"] == pytest.approx(75.0)
    assert m["mAP@0.95"] == pytest.approx(50.0)  # (50 + 50) / 2
    # R1 uses the first window in output order: q1 IoU 1, q2 (30,40) IoU 0
    assert m["R1@0.5"] == 50.0 and m["R1@0.7"] == 50.0 and m["mIoU"] == 50.0
    # R5: q2's second window is exact
    assert m["R5@0.95"] == 100.0
    # buckets: q1 windows are 10 s long (short), q2 10 s (short); middle and long are empty
    assert m["mAP-short"] == pytest.approx(72.5)
    assert "mAP-middle" not in m and "mAP-long" not in m
    assert "HL-mAP" not in m  # no saliency predictions


def test_qid_sets_must_match():
    with pytest.raises(ValueError, match="qids"):
        hl.qvhighlights_metrics([Q1], [A1, A2])


def test_length_buckets_keep_only_windows_in_range():
    gt = pad_spans([[(0, 5), (10, 50)], [(0, 20)]])
    sub, inside = hl.bucket_ground_truth(gt, hl.LENGTH_BUCKETS["long"])  # (30, inf]
    assert inside.tolist() == [True, False]
    np.testing.assert_array_equal(sub[0, 1], [10, 50])
    assert np.isnan(sub[0, 0]).all()
    # q1 predicts (10,50) then (0,5): in the long bucket its top-1 matches exactly; in short only the 2nd window
    windows = hl.windows_with_scores([[(10, 50, 0.9), (0, 5, 0.8)], [(0, 20, 1.0)]])
    cols = hl.moment_columns(windows, gt)
    assert cols["iou-long"][0] == 1.0 and np.isnan(cols["iou-long"][1])
    assert cols["iou-short"][0] == 0.0  # top-1 (10,50) vs (0,5)
    assert cols["ap-short"][0] == pytest.approx(0.5)  # FP then TP
    assert cols["ap-middle"][1] == pytest.approx(1.0)  # (0,20) is 20 s: middle


def test_saliency_ap_hand_example():
    # ranking by score: pos, neg, pos, neg -> precision 1, 1/2, 2/3, 1/2 at recall .5, .5, 1, 1
    # AP = mean of the interpolated precision at the two recall levels = (1 + 2/3) / 2
    assert hl.saliency_ap(np.array([1.0, 0, 1, 0]), np.array([0.9, 0.8, 0.7, 0.1])) == pytest.approx(5 / 6)
    assert hl.saliency_ap(np.zeros(3), np.array([0.1, 0.2, 0.3])) == 0.0
    assert hl.saliency_ap(np.ones(3), np.array([0.1, 0.2, 0.3])) == 1.0
    # ties are one threshold: scores .5 .5 for pos, neg -> precision 1/2 at recall 1 -> AP .5
    assert hl.saliency_ap(np.array([1.0, 0.0]), np.array([0.5, 0.5])) == pytest.approx(0.5)


def test_highlight_query_hand_example():
    # duration 10 -> 5 clips of 2 s; clips 1 and 2 annotated by 3 annotators
    truth = hl.saliency_truth(10.0, [1, 2], [[4, 2, 3], [1, 4, 4]])
    assert truth.shape == (5, 3)
    ap, hit = hl.highlight_query([0.1, 0.9, 0.5, 0.2, 0.3], truth)
    # VeryGood (>= 4): annotator 0 marks clip 1, annotators 1 and 2 mark clip 2. The top clip is 1 -> hit.
    # AP: a0 1 (clip 1 ranked first), a1 and a2 1/2 (clip 2 ranked second) -> (1 + .5 + .5) / 3
    assert ap[2] == pytest.approx(2 / 3) and hit[2] == 1.0
    # Fair (>= 2): clip 1 positive for all, clip 2 for a1 and a2 -> every AP is 1
    assert ap[0] == pytest.approx(1.0) and hit[0] == 1.0
    # no annotated clip: every label is 0 -> AP 0 and no hit
    ap, hit = hl.highlight_query([0.3, 0.2], hl.saliency_truth(4.0, [], []))
    assert ap.tolist() == [0.0, 0.0, 0.0] and hit.tolist() == [0.0, 0.0, 0.0]
    # a prediction longer than the video is cut; the top clip outside the video is a miss
    ap, hit = hl.highlight_query([0, 0, 0, 0, 0, 1.0], truth)
    assert hit.tolist() == [0.0, 0.0, 0.0]


def test_highlight_metrics_in_official_format():
    preds = [dict(Q1, pred_saliency_scores=[0.1, 0.9, 0.5, 0.2, 0.3])]
    annos = [dict(A1, duration=10, relevant_clip_ids=[1, 2], saliency_scores=[[4, 2, 3], [1, 4, 4]])]
    m = hl.qvhighlights_metrics(preds, annos)
    assert m["HL-mAP"] == pytest.approx(200 / 3) and m["HIT@1"] == 100.0
    assert m["HL-mAP-Fair"] == pytest.approx(100.0) and m["HIT@1-Good"] == 100.0


def _loop_ap(pred, gt, thr):
    """The protocol written as a plain loop: sort by score, match greedily in IoU order, interpolate."""
    pred = sorted(pred, key=lambda w: -w[2])
    locked, tp = [False] * len(gt), []
    for s, e, _ in pred:
        ious = [max(0.0, min(e, ge) - max(s, gs)) / (max(e, ge) - min(s, gs)) for gs, ge in gt]
        hit = False
        for j in sorted(range(len(gt)), key=lambda j: ious[j], reverse=True):
            if ious[j] < thr:
                break
            if not locked[j]:
                locked[j] = hit = True
                break
        tp.append(hit)
    tps = np.cumsum(tp)
    prec, rec = tps / np.arange(1, len(tp) + 1), tps / len(gt)
    mprc, mrec = np.r_[0, prec, 0], np.r_[0, rec, 1]
    for i in range(len(mprc) - 2, -1, -1):
        mprc[i] = max(mprc[i], mprc[i + 1])
    idx = np.flatnonzero(mrec[1:] != mrec[:-1]) + 1
    return float(np.sum((mrec[idx] - mrec[idx - 1]) * mprc[idx]))


def test_vectorised_ap_matches_loop_on_random_queries():
    rng = np.random.default_rng(0)
    preds, gts = [], []
    for _ in range(60):
        starts = rng.uniform(0, 100, rng.integers(1, 11))
        preds.append([[s, s + rng.uniform(1, 30), rng.uniform()] for s in starts])
        gstarts = rng.uniform(0, 100, rng.integers(1, 4))
        gts.append([[s, s + rng.uniform(2, 30)] for s in gstarts])
    ap = hl.window_ap(hl.windows_with_scores(preds), pad_spans(gts))
    for i, (p, t) in enumerate(zip(preds, gts)):
        for j, thr in enumerate(hl.MAP_THRESHOLDS):
            assert ap[i, j] == pytest.approx(_loop_ap(p, t, thr), abs=1e-12)
