"""QVHighlights metrics by the standard Moment-DETR / UniVTG protocol (REFERENCE.md s.11.4).

Moment retrieval: ``mAP`` (ActivityNet-style detection AP over the first 10 predicted windows, averaged over IoU
thresholds 0.5:0.05:0.95 and queries), ``mAP@0.5``, ``mAP@0.75``, ``R1@θ`` / ``R5@θ`` (θ = 0.3:0.05:0.95) and
``mIoU``, plus ``mAP-{short,middle,long}`` / ``mIoU-{...}`` over ground-truth length buckets. Highlight detection:
``HL-mAP`` and ``HIT@1`` at the "very good" saliency threshold (>= 4) over 2-s clips and 3 annotators, and the same at
Fair (>= 2) and Good (>= 3) as ``HL-mAP-Fair`` ... . Values are in percent.

The benchmark's own file format (one dict per query) is accepted by :func:`qvhighlights_metrics`:
predictions ``{"qid", "pred_relevant_windows": [[s, e, score], ...], "pred_saliency_scores": [...]}`` and
annotations ``{"qid", "duration", "relevant_windows", "relevant_clip_ids", "saliency_scores"}``.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence

import numpy as np

from videomind.metrics.grounding import (
    MOMENT_DETR_RULE,
    PERCENT,
    fmt_threshold,
    iou_table,
    pad_spans,
    pad_values,
    score_grounding,
)

MAP_THRESHOLDS: tuple[float, ...] = tuple(round(0.5 + 0.05 * i, 2) for i in range(10))
RECALL_THRESHOLDS: tuple[float, ...] = tuple(round(0.3 + 0.05 * i, 2) for i in range(14))
RECALL_TOP_K: tuple[int, ...] = (1, 5)
MAX_PRED_WINDOWS = 10
LENGTH_BUCKETS: dict[str, tuple[float, float]] = {
    "short": (0.0, 10.0),
    "middle": (10.0, 30.0),
    "long": (30.0, 150.0),  # the official ranges stop at 150 s, QVHighlights' longest video
}
CLIP_LENGTH = 2.0
ANNOTATORS = 3  # saliency columns of a query without any annotated clip
SALIENCY_LEVELS: dict[str, int] = {"Fair": 2, "Good": 3, "VeryGood": 4}
HEADLINE_LEVEL = "VeryGood"


def interpolated_ap(precision: np.ndarray, recall: np.ndarray) -> np.ndarray:
    """Area under the interpolated precision envelope along the last axis (the ActivityNet rule)."""
    shape = precision.shape[:-1] + (1,)
    mprc = np.concatenate([np.zeros(shape), precision, np.zeros(shape)], axis=-1)
    mrec = np.concatenate([np.zeros(shape), recall, np.ones(shape)], axis=-1)
    mprc = np.flip(np.maximum.accumulate(np.flip(mprc, -1), axis=-1), -1)
    return np.sum((mrec[..., 1:] - mrec[..., :-1]) * mprc[..., 1:], axis=-1)


def window_ap(pred: np.ndarray, gt: np.ndarray, thresholds: Sequence[float] = MAP_THRESHOLDS) -> np.ndarray:
    """Per-query detection AP at each IoU threshold, ``(N, T)``.

    ``pred`` is ``(N, P, 3)`` rows ``[start, end, score]`` (NaN padding), already cut to the first windows in
    output order; they are re-sorted by score (stable) and greedily matched, each to the unmatched ground-truth
    window of highest IoU (``gt`` is ``(N, G, 2)``, NaN padding). Queries without ground truth get 0.
    """
    n, p = pred.shape[:2]
    real = np.isfinite(pred[..., :2]).all(-1)
    order = np.argsort(-np.where(real, pred[..., 2], -np.inf), axis=1, kind="stable")
    pred, real = np.take_along_axis(pred, order[..., None], 1), np.take_along_axis(real, order, 1)
    has_gt = np.isfinite(gt).all(-1)
    iou = np.where(has_gt[:, None, :], iou_table(pred[..., :2], gt), -np.inf)
    gorder = np.flip(np.argsort(iou, axis=2, kind="stable"), 2)  # best first; ties: later window first
    iou = np.take_along_axis(iou, gorder, 2)
    thr = np.asarray(thresholds, dtype=np.float64)[None, :, None]
    locked = np.zeros((n, thr.shape[1], gt.shape[1]), dtype=bool)
    tp = np.zeros((n, thr.shape[1], p), dtype=bool)
    rows = np.arange(n)[:, None]
    for r in range(p):
        free = ~np.take_along_axis(locked, gorder[:, None, r, :], 2)
        ok = (iou[:, None, r, :] >= thr) & free
        hit = ok.any(-1) & real[:, r, None]
        target = gorder[:, r, :][rows, ok.argmax(-1)]
        locked[rows, np.arange(thr.shape[1])[None, :], target] |= hit
        tp[:, :, r] = hit
    fp = real[:, None, :] & ~tp
    tps, fps = np.cumsum(tp, -1, dtype=np.float64), np.cumsum(fp, -1, dtype=np.float64)
    positives = has_gt.sum(1).astype(np.float64)[:, None, None]
    with np.errstate(invalid="ignore", divide="ignore"):
        recall = np.where(positives > 0, tps / positives, 0.0)
        precision = np.where(tps + fps > 0, tps / (tps + fps), 0.0)
    return np.where(positives[:, :, 0] > 0, interpolated_ap(precision, recall), 0.0)


def windows_with_scores(
    preds: Sequence[Sequence[Sequence[float]] | None], confs: Sequence[Sequence[float] | None] | None = None
) -> np.ndarray:
    """``(N, P, 3)`` rows ``[s, e, score]`` of the first ``MAX_PRED_WINDOWS`` predictions (output order). Scores
    come from ``confs`` (or a third value in the windows); missing scores keep the output order."""
    spans = pad_spans(preds, MAX_PRED_WINDOWS)
    if confs is not None:
        scores = pad_values(confs, spans.shape[1])
    else:
        scores = pad_values(
            [[w[2] for w in (ws or ())[:MAX_PRED_WINDOWS] if len(w) > 2] for ws in preds], spans.shape[1]
        )
    rank_scores = -np.arange(spans.shape[1], dtype=np.float64)[None, :].repeat(len(spans), 0)
    return np.concatenate([spans, np.where(np.isfinite(scores), scores, rank_scores)[..., None]], axis=-1)


def bucket_ground_truth(gt: np.ndarray, bucket: tuple[float, float]) -> tuple[np.ndarray, np.ndarray]:
    """Keep only the windows whose length is in ``(lo, hi]``: ``(filtered gt, query-in-bucket mask)``."""
    lo, hi = bucket
    length = gt[..., 1] - gt[..., 0]
    keep = np.isfinite(length) & (length > lo) & (length <= hi)
    return np.where(keep[..., None], gt, np.nan), keep.any(-1)


def moment_columns(windows: np.ndarray, gt: np.ndarray) -> dict[str, np.ndarray]:
    """Per-query moment-retrieval columns: ``ap`` (N, T) and per bucket ``ap-{name}`` / ``iou-{name}`` (NaN
    outside the bucket)."""
    cols = {"ap": window_ap(windows, gt)}
    for name, bucket in LENGTH_BUCKETS.items():
        sub, inside = bucket_ground_truth(gt, bucket)
        ap = window_ap(windows, sub).mean(axis=1)
        top1 = iou_table(windows[:, :1, :2], sub).max(axis=(1, 2))
        cols[f"ap-{name}"] = np.where(inside, ap, np.nan)
        cols[f"iou-{name}"] = np.where(inside, top1, np.nan)
    return cols


def summarise_moments(cols: Mapping[str, np.ndarray], mask: np.ndarray) -> dict[str, float]:
    """``mAP``, ``mAP@θ`` and bucket ``mAP-*`` / ``mIoU-*`` over the queries in ``mask`` (buckets that hold no
    query are left out)."""
    ap = cols["ap"][mask]
    if not len(ap):
        return {}
    per_thr = ap.mean(axis=0) * PERCENT
    out = {"mAP": float(per_thr.mean())}
    out.update({f"mAP@{fmt_threshold(t)}": float(v) for t, v in zip(MAP_THRESHOLDS, per_thr)})
    for name in LENGTH_BUCKETS:
        b_ap, b_iou = cols[f"ap-{name}"][mask], cols[f"iou-{name}"][mask]
        inside = np.isfinite(b_ap)
        if inside.any():
            out[f"mAP-{name}"] = float(b_ap[inside].mean()) * PERCENT
            out[f"mIoU-{name}"] = float(b_iou[inside].mean()) * PERCENT
    return out


def saliency_ap(y_true: np.ndarray, y_score: np.ndarray) -> np.ndarray | float:
    """The protocol's clip-level AP: interpolated precision averaged over the distinct recall levels of the
    precision-recall curve (scikit-learn's curve, ties grouped); 0 or 1 when all labels are equal.

    ``y_true`` is ``(clips,)`` (returns a float) or ``(clips, C)`` binary labels sharing one ranking (returns
    ``(C,)``).
    """
    truth = np.asarray(y_true, dtype=np.float64)
    single = truth.ndim == 1
    truth = truth.reshape(len(truth), -1)
    order = np.argsort(y_score, kind="mergesort")[::-1]
    score, truth = np.asarray(y_score)[order], truth[order]
    ends = np.r_[np.flatnonzero(np.diff(score)), len(score) - 1]
    tps = np.cumsum(truth, axis=0)[ends]
    with np.errstate(invalid="ignore", divide="ignore"):
        precision = np.vstack([(tps / (ends + 1)[:, None])[::-1], np.ones((1, truth.shape[1]))])
        recall = np.vstack([(tps / tps[-1])[::-1], np.zeros((1, truth.shape[1]))])
    precision = np.maximum.accumulate(precision, axis=0)
    steps = np.diff(recall, axis=0) != 0
    ap = (precision[:-1] * steps).sum(0) / np.maximum(steps.sum(0), 1)
    constant = truth.min(0) == truth.max(0)
    ap = np.where(constant, truth[0], ap)
    return float(ap[0]) if single else ap


def saliency_truth(duration: float, clip_ids: Sequence[int], scores: Sequence[Sequence[float]]) -> np.ndarray:
    """``(clips, annotators)`` saliency of the whole video (2-s clips; unlisted clips are 0)."""
    ids = np.asarray(clip_ids, dtype=np.int64).reshape(-1)
    values = (
        np.asarray(scores, dtype=np.float64).reshape(len(ids), -1) if len(ids) else np.zeros((0, ANNOTATORS))
    )
    clips = max(int(duration / CLIP_LENGTH), int(ids.max(initial=-1)) + 1)
    out = np.zeros((clips, values.shape[1]))
    out[ids] = values
    return out


def highlight_query(pred_scores: Sequence[float], truth: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """``(ap, hit)`` of one query for each saliency level (Fair, Good, VeryGood): AP averaged over annotators;
    hit = the top-scored clip is positive for at least one annotator."""
    scores = np.asarray(pred_scores, dtype=np.float64)
    top = int(np.argmax(scores)) if scores.size else truth.shape[0]
    fitted = np.zeros(truth.shape[0])
    fitted[: min(scores.size, truth.shape[0])] = scores[: truth.shape[0]]
    levels = np.asarray(list(SALIENCY_LEVELS.values()), dtype=np.float64)
    binary = (truth[:, None, :] >= levels[None, :, None]).astype(np.float64)  # (clips, levels, annotators)
    hit = binary[top].max(axis=1) if top < truth.shape[0] else np.zeros(len(levels))
    ap = saliency_ap(binary.reshape(truth.shape[0], -1), fitted).reshape(len(levels), -1).mean(axis=1)
    return ap, hit


def summarise_highlights(hl_ap: np.ndarray, hl_hit: np.ndarray, mask: np.ndarray) -> dict[str, float]:
    """``HL-mAP`` / ``HIT@1`` (very good) and ``-Fair`` / ``-Good`` variants over queries with saliency (rows of
    ``hl_ap`` that are NaN have no saliency prediction or truth)."""
    ap, hit = hl_ap[mask], hl_hit[mask]
    ok = np.isfinite(ap).all(axis=1)
    if not ok.any():
        return {}
    out = {}
    for i, name in enumerate(SALIENCY_LEVELS):
        suffix = "" if name == HEADLINE_LEVEL else f"-{name}"
        out[f"HL-mAP{suffix}"] = float(ap[ok, i].mean()) * PERCENT
        out[f"HIT@1{suffix}"] = float(hit[ok, i].mean()) * PERCENT
    return out


def summarise_recall(windows: np.ndarray, gt: np.ndarray) -> dict[str, float]:
    """``R1@θ``, ``R5@θ`` (θ = 0.3:0.05:0.95) and ``mIoU`` of the top-1 window, by Moment-DETR's R1 rule."""
    scores = score_grounding(windows[..., :2], gt, max(RECALL_TOP_K), MOMENT_DETR_RULE)
    out = {}
    for k in RECALL_TOP_K:
        best = scores.best_iou(k)
        out.update(
            {f"R{k}@{fmt_threshold(t)}": float(np.mean(best >= t)) * PERCENT for t in RECALL_THRESHOLDS}
        )
    out["mIoU"] = float(scores.iou[:, 0].mean()) * PERCENT
    return out


def qvhighlights_metrics(preds: Sequence[Mapping], annos: Sequence[Mapping]) -> dict[str, float]:
    """All QVHighlights metrics from the benchmark's own formats (see the module docstring).

    Like the official evaluator, the qid sets of predictions and annotations must be equal.
    """
    by_qid = {p["qid"]: p for p in preds}
    if set(by_qid) != {a["qid"] for a in annos}:
        raise ValueError("qids of predictions and annotations differ; score the same set of queries")
    ordered = [by_qid[a["qid"]] for a in annos]
    windows = windows_with_scores([p.get("pred_relevant_windows") for p in ordered])
    gt = pad_spans([a["relevant_windows"] for a in annos])
    everything = np.ones(len(annos), dtype=bool)
    out = summarise_recall(windows, gt)
    out.update(summarise_moments(moment_columns(windows, gt), everything))
    if all(p.get("pred_saliency_scores") is not None for p in ordered) and all(
        "saliency_scores" in a for a in annos
    ):
        pairs = [
            highlight_query(
                p["pred_saliency_scores"],
                saliency_truth(a["duration"], a["relevant_clip_ids"], a["saliency_scores"]),
            )
            for p, a in zip(ordered, annos)
        ]
        out.update(
            summarise_highlights(np.stack([x[0] for x in pairs]), np.stack([x[1] for x in pairs]), everything)
        )
    return out
