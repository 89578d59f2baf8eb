"""Temporal grounding metrics (REFERENCE.md s.11.3): recall at IoU / IoP thresholds, mIoU and mIoP.

Per sample there is a ragged list of predicted spans (best first) and of ground-truth spans (as annotated, never
clamped), in seconds. They are padded into ``(N, L, 2)`` arrays once (:func:`pad_spans`); every metric is then a
vectorised reduction. How a prediction is scored against the ground truth is an :class:`videomind.spans.IoURule`:
each benchmark names the rule of its official script (``VIDEOMIND_RULE``, ``MOMENT_DETR_RULE``, ``NEXTGQA_RULE``
below; the benchmark table says which). Non-finite values (zero-length spans, padding) count as 0. Metric values are
in percent, like the paper.

>>> s = score_grounding([[(0, 10), (20, 30)]], [[(5, 10)]], max_rank=2)
>>> summarise_grounding(s, top_k=(1,), iou_thresholds=(0.5,), iop_thresholds=(0.5,))["R1@0.5"]
100.0
"""

from __future__ import annotations

import itertools
from collections.abc import Iterable, Sequence
from dataclasses import dataclass

import numpy as np

from videomind.spans import PICK_FIRST_ARGMAX, POINT_INSIDE, UNION_HULL, IoURule, rule_scores

# videomind/eval/eval_auto.py (yeliudev/VideoMind): nncore temporal_iou / temporal_iof on torch.Tensor (float32),
# |p| + |g| - overlap, best ground-truth span, zero-length prediction 0 (0/0 -> 0).
VIDEOMIND_RULE = IoURule(float32=True, name="videomind")
# standalone_eval/eval.py compute_mr_r1 (jayleicn/moment_detr), also ReXTime's rextime_eval.py: the ground-truth
# window of highest |p|+|g|-overlap IoU (np.argmax), then max(end)-min(start) as the union, float64.
MOMENT_DETR_RULE = IoURule(union=UNION_HULL, pick=PICK_FIRST_ARGMAX, name="moment_detr")
# code/TempGQA/eval_ground.py get_tIoU (doc-doc/NExT-GQA): max(end)-min(start), float64, best span; a zero-length
# prediction has IoU 0 and IoP 1 when it lies inside a ground-truth span.
NEXTGQA_RULE = IoURule(union=UNION_HULL, point=POINT_INSIDE, name="nextgqa")
# |p| + |g| - overlap in float64: the detection matching of QVHighlights' mAP.
EXACT_RULE = IoURule(name="exact")
IOU_RULES = {r.name: r for r in (VIDEOMIND_RULE, MOMENT_DETR_RULE, NEXTGQA_RULE, EXACT_RULE)}

DEFAULT_TOP_K: tuple[int, ...] = (1, 3, 5)
DEFAULT_IOU_THRESHOLDS: tuple[float, ...] = (0.3, 0.5, 0.7)
DEFAULT_IOP_THRESHOLDS: tuple[float, ...] = (0.3, 0.5)
PERCENT = 100.0

SpanLists = Sequence[Sequence[Sequence[float]]]


def fmt_threshold(thr: float) -> str:
    """``0.5 -> "0.5"``, ``0.75 -> "0.75"`` (thresholds are printed with at most two decimals)."""
    return f"{round(float(thr), 2):g}"


def recall_key(k: int, thr: float, kind: str = "IoU") -> str:
    """Metric key of a recall: ``R1@0.5`` (IoU), ``R@IoP0.5`` (top-1 IoP), ``R5@IoP0.5``."""
    if kind == "IoU":
        return f"R{k}@{fmt_threshold(thr)}"
    return f"R{'' if k == 1 else k}@{kind}{fmt_threshold(thr)}"


def pad_spans(span_lists: SpanLists, max_len: int | None = None) -> np.ndarray:
    """Pad ragged span lists into a float64 ``(N, L, 2)`` array filled with NaN (``L >= 1``).

    Only the first two numbers of each span are read (QVHighlights windows carry a score as third value);
    ``None`` counts as an empty list and lists are cut to ``max_len``. A padded array passes through.
    """
    if isinstance(span_lists, np.ndarray) and span_lists.ndim == 3:  # already padded
        return span_lists[:, :max_len, :2].astype(np.float64)
    cut = [list(s or ())[:max_len] if max_len is not None else list(s or ()) for s in span_lists]
    lengths = np.fromiter((len(s) for s in cut), dtype=np.int64, count=len(cut))
    width = max(int(lengths.max(initial=0)), 1)
    out = np.full((len(cut), width, 2), np.nan)
    total = int(lengths.sum())
    if total:
        flat = np.fromiter(
            itertools.chain.from_iterable((sp[0], sp[1]) for s in cut for sp in s),
            dtype=np.float64,
            count=2 * total,
        )
        rows = np.repeat(np.arange(len(cut)), lengths)
        starts = np.repeat(np.cumsum(lengths) - lengths, lengths)
        out[rows, np.arange(total) - starts] = flat.reshape(-1, 2)
    return out


def pad_values(value_lists: Sequence[Sequence[float] | None], width: int) -> np.ndarray:
    """Pad ragged per-sample values (e.g. confidences) into a float64 ``(N, width)`` array filled with NaN."""
    out = np.full((len(value_lists), max(width, 1)), np.nan)
    for i, values in enumerate(value_lists):
        row = list(values or ())[:width]
        out[i, : len(row)] = row
    return out


def _pairs(pred: np.ndarray, gt: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    n, k, g = pred.shape[0], pred.shape[1], gt.shape[1]
    a = np.broadcast_to(pred[:, :, None, :], (n, k, g, 2)).reshape(-1, 2)
    b = np.broadcast_to(gt[:, None, :, :], (n, k, g, 2)).reshape(-1, 2)
    return a, b


def _finite_or_zero(x: np.ndarray) -> np.ndarray:
    return np.where(np.isfinite(x), x, 0.0)


def iou_table(pred: np.ndarray, gt: np.ndarray) -> np.ndarray:
    """IoU (|p| + |g| - overlap, float64) of every prediction with every ground-truth span of its sample,
    ``(N, K, G)``; non-finite -> 0."""
    a, b = _pairs(pred, gt)
    with np.errstate(invalid="ignore", divide="ignore"):
        inter = np.clip(np.minimum(a[:, 1], b[:, 1]) - np.maximum(a[:, 0], b[:, 0]), 0.0, None)
        iou = inter / ((a[:, 1] - a[:, 0]) + (b[:, 1] - b[:, 0]) - inter)
    return _finite_or_zero(iou.reshape(pred.shape[0], pred.shape[1], gt.shape[1]))


def iop_table(pred: np.ndarray, gt: np.ndarray) -> np.ndarray:
    """Intersection over the *predicted* length (nncore ``temporal_iof``), ``(N, K, G)``; non-finite -> 0."""
    a, b = _pairs(pred, gt)
    with np.errstate(invalid="ignore", divide="ignore"):
        inter = np.clip(np.minimum(a[:, 1], b[:, 1]) - np.maximum(a[:, 0], b[:, 0]), 0.0, None)
        iop = inter / (a[:, 1] - a[:, 0])
    return _finite_or_zero(iop.reshape(pred.shape[0], pred.shape[1], gt.shape[1]))


@dataclass(frozen=True)
class GroundingScores:
    """Per-sample, per-rank scores: ``iou[i, r]`` is the IoU of sample i's r-th prediction against its ground truth
    as ``rule`` picks it (0 when the sample has fewer predictions); ``iop`` likewise. Arrays are in the rule's
    dtype, so thresholds compare as the official script compares them (``rule.threshold``)."""

    iou: np.ndarray
    iop: np.ndarray
    rule: IoURule = VIDEOMIND_RULE

    def __len__(self) -> int:
        return self.iou.shape[0]

    def best_iou(self, k: int) -> np.ndarray:
        """Best IoU among the top-``k`` predictions, ``(N,)``."""
        return self.iou[:, :k].max(axis=1)

    def best_iop(self, k: int) -> np.ndarray:
        return self.iop[:, :k].max(axis=1)


def score_grounding(
    preds: SpanLists, gts: SpanLists, max_rank: int = max(DEFAULT_TOP_K), rule: IoURule = VIDEOMIND_RULE
) -> GroundingScores:
    """Score every sample's first ``max_rank`` predictions against its ground truth by ``rule``."""
    pred, gt = pad_spans(preds, max_rank), pad_spans(gts)
    return GroundingScores(*rule_scores(pred, gt, rule), rule)


def _pct(hits: np.ndarray) -> float:
    return float(np.mean(hits)) * PERCENT if hits.size else 0.0


def _mean_pct(values: np.ndarray) -> float:
    """Mean in percent of float32 or float64 values, summed in float64 (as ``sum(tensor.item() ...)``)."""
    return float(np.mean(values.astype(np.float64))) * PERCENT if values.size else 0.0


def summarise_grounding(
    scores: GroundingScores,
    mask: np.ndarray | None = None,
    top_k: Iterable[int] = DEFAULT_TOP_K,
    iou_thresholds: Iterable[float] = DEFAULT_IOU_THRESHOLDS,
    iop_thresholds: Iterable[float] = DEFAULT_IOP_THRESHOLDS,
) -> dict[str, float]:
    """``R{k}@{thr}`` and ``mIoU`` (top-1), ``R@IoP{thr}`` (top-1) and ``mIoP`` over the samples in ``mask``."""
    iou, iop = (scores.iou, scores.iop) if mask is None else (scores.iou[mask], scores.iop[mask])
    at = scores.rule.threshold
    out: dict[str, float] = {}
    for k in top_k:
        best = iou[:, :k].max(axis=1)
        for thr in iou_thresholds:
            out[recall_key(k, thr)] = _pct(best >= at(thr))
    out["mIoU"] = _mean_pct(iou[:, 0])
    for thr in iop_thresholds:
        out[recall_key(1, thr, "IoP")] = _pct(iop[:, 0] >= at(thr))
    out["mIoP"] = _mean_pct(iop[:, 0])
    return out


def grounding_metrics(
    preds: SpanLists,
    gts: SpanLists,
    top_k: Iterable[int] = DEFAULT_TOP_K,
    iou_thresholds: Iterable[float] = DEFAULT_IOU_THRESHOLDS,
    iop_thresholds: Iterable[float] = DEFAULT_IOP_THRESHOLDS,
    rule: IoURule = VIDEOMIND_RULE,
) -> dict[str, float]:
    """All grounding metrics of a list of samples in one call (percent).

    ``preds[i]`` are sample i's predicted ``[start, end]`` spans, best first; ``gts[i]`` its ground-truth spans;
    ``rule`` the official script's way of scoring them (VideoMind's by default).
    """
    top_k = tuple(top_k)
    scores = score_grounding(preds, gts, max(top_k), rule)
    return summarise_grounding(scores, None, top_k, iou_thresholds, iop_thresholds)
