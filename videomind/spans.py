"""Pure functions on temporal spans: IoU / IoP, NMS, clamping, expansion, rounding and query cleaning.

Spans are ``[start, end]`` pairs (seconds, or ``_norm`` fractions of the video). Pairwise functions take ``(N, 2)`` and
``(M, 2)`` arrays and return ``(N, M)``; they accept anything ``torch.as_tensor`` accepts and return float32 (or the
input's floating dtype) torch tensors. Division by zero (two zero-length spans) gives NaN, as the reference does;
metrics replace non-finite values by 0.

:class:`IoURule` and :func:`rule_scores` are the evaluation side: how one benchmark's official script computes the IoU
and IoP of predictions against ground truth (which union, float32 or float64, which ground-truth span, what a
zero-length prediction scores), vectorised over padded numpy arrays. docs/EVALUATION.md says which script does what.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass, field

import numpy as np
import torch

NMS_IOU_THRESHOLD = 0.75
NMS_TOP_K = 100


def _as_spans(x) -> torch.Tensor:
    t = torch.as_tensor(x)
    if not t.is_floating_point():
        t = t.float()
    if t.ndim == 1:
        t = t.reshape(-1, 2)
    return t


def temporal_area(spans) -> torch.Tensor:
    s = _as_spans(spans)
    return s[:, 1] - s[:, 0]


def temporal_intersection(a, b) -> torch.Tensor:
    """Pairwise overlap length, ``(N, M)``, never negative."""
    a, b = _as_spans(a), _as_spans(b)
    lo = torch.maximum(a[:, None, 0], b[None, :, 0])
    hi = torch.minimum(a[:, None, 1], b[None, :, 1])
    return (hi - lo).clamp(min=0)


def temporal_iou(a, b) -> torch.Tensor:
    """Pairwise intersection over union, ``(N, M)``; NaN for two zero-length spans."""
    a, b = _as_spans(a), _as_spans(b)
    inter = temporal_intersection(a, b)
    union = temporal_area(a)[:, None] + temporal_area(b)[None, :] - inter
    return inter / union


def temporal_iop(pred, gt) -> torch.Tensor:
    """Pairwise intersection over the *predicted* length ("IoP", nncore's ``temporal_iof``), ``(N, M)``."""
    pred, gt = _as_spans(pred), _as_spans(gt)
    return temporal_intersection(pred, gt) / temporal_area(pred)[:, None]


def temporal_iou_aligned(a, b) -> torch.Tensor:
    """Row-wise IoU of two ``(N, 2)`` arrays, ``(N,)``."""
    a, b = _as_spans(a), _as_spans(b)
    inter = (torch.minimum(a[:, 1], b[:, 1]) - torch.maximum(a[:, 0], b[:, 0])).clamp(min=0)
    return inter / (temporal_area(a) + temporal_area(b) - inter)


def temporal_nms(
    rows: torch.Tensor, threshold: float = NMS_IOU_THRESHOLD, top_k: int = NMS_TOP_K
) -> torch.Tensor:
    """Greedy NMS on ``(N, 3)`` rows ``[start, end, score]``, exactly as the reference head decodes.

    Rows are sorted by score (descending); then for each position i the best remaining row is swapped into place
    and every later row whose IoU with it is ``>= threshold`` gets score 0. Suppressed rows are kept (score 0), so
    the result has ``min(N, top_k)`` rows; NaN IoU (zero-length spans) never suppresses.
    """
    if rows.numel() == 0:
        return rows.reshape(0, 3)
    order = rows[:, 2].argsort(descending=True, stable=True)
    blob = rows[order].clone()
    for i in range(blob.size(0)):
        best = int(blob[i:, 2].argmax()) + i
        if best != i:
            blob[[i, best]] = blob[[best, i]]
        if i + 1 < blob.size(0):
            iou = temporal_iou(blob[i : i + 1, :2], blob[i + 1 :, :2])[0]
            blob[i + 1 :, 2] = torch.where(iou >= threshold, torch.zeros_like(iou), blob[i + 1 :, 2])
    return blob[:top_k]


def clamp_span(span: Sequence[float], duration: float) -> tuple[float, float]:
    """Clamp both ends into ``[0, duration]`` and order them."""
    s, e = (min(max(float(x), 0.0), duration) for x in span)
    return (s, e) if s <= e else (e, s)


def expand_span(span: Sequence[float], duration: float, min_len: float | None = None) -> tuple[float, float]:
    """The reference ``parse_span``: clamp and order; widen to ``min_len`` around the (clamped) centre.

    When the video is shorter than ``min_len`` the result is the whole video.
    """
    s, e = clamp_span(span, duration)
    if min_len is not None and min_len >= 0 and e - s < min_len:
        half = min_len / 2
        centre = min(max((s + e) / 2, half), duration - half)
        s, e = clamp_span((centre - half, centre + half), duration)
    return s, e


def zoom_window(
    span: Sequence[float], duration: float, min_len: float = 2.0
) -> tuple[tuple[float, float], tuple[float, float]]:
    """The verifier's zoom-in: ``(window, (ss, se))``.

    The span is widened to ``min_len``, then padded by half its length on each side and clamped to the video;
    ``ss`` / ``se`` are the span's boundaries relative to the window (about 0.25 / 0.75 when not clamped).
    """
    s0, e0 = expand_span(span, duration, min_len)
    offset = (e0 - s0) / 2
    s1, e1 = expand_span((s0 - offset, e0 + offset), duration)
    width = e1 - s1
    if width <= 0:
        return (s1, e1), (0.0, 1.0)
    return (s1, e1), ((s0 - s1) / width, (e0 - s1) / width)


def round_to_unit(x: float, unit: float) -> float:
    """Round a time to a multiple of ``unit`` seconds (``round(x / unit) * unit``, Python rounding)."""
    return round(x / unit) * unit


def fallback_spans(duration: float, with_verifier: bool) -> list[tuple[float, float]]:
    """The reference's candidates when the grounder produced none.

    With a verifier: five overlapping windows ``[i*d/6, (i+2)*d/6]`` for i = 0..4; without: the whole video.
    """
    if not with_verifier:
        return [(0.0, float(duration))]
    return [(i * duration / 6, (i + 2) * duration / 6) for i in range(5)]


def is_finite_span(span: Sequence[float]) -> bool:
    return len(span) == 2 and all(math.isfinite(float(x)) for x in span)


UNION_SUM, UNION_HULL = "sum", "hull"
PICK_BEST, PICK_FIRST_ARGMAX = "best", "first_argmax"
POINT_ZERO, POINT_INSIDE = "zero", "inside"


@dataclass(frozen=True)
class IoURule:
    """How an official evaluation script scores a predicted span against a sample's ground-truth spans.

    - ``union``: ``"sum"`` = |p| + |g| - overlap (nncore ``temporal_iou``, Moment-DETR's cross IoU); ``"hull"`` =
      max(end) - min(start) (Moment-DETR's paired IoU, ReXTime, NExT-GQA). Equal in real numbers when the spans
      overlap; they round differently, which decides exact ties such as [0, 2.7] vs [0, 5.4] (0.5 vs 0.4999...).
    - ``float32``: spans cast to float32 and thresholds compared in float32 (VideoMind scores ``torch.Tensor``s; a
      float32 tensor compared with the Python float 0.7 compares with float32(0.7) = 0.69999999).
    - ``pick``: ``"best"`` = the best value over the ground-truth spans (IoU and IoP separately); ``"first_argmax"``
      = the span with the highest sum-union IoU (``np.argmax``: first on ties), then its IoU by ``union``.
    - ``point``: the IoP of a zero-length prediction: ``"zero"`` (0 / 0 counts as 0) or ``"inside"`` (1 when the
      point lies inside a ground-truth span, bounds included: NExT-GQA's ``get_tIoU``; its IoU is 0).
    """

    union: str = UNION_SUM
    float32: bool = False
    pick: str = PICK_BEST
    point: str = POINT_ZERO
    name: str = field(default="custom", compare=False)

    def __post_init__(self) -> None:
        for name, allowed in (("union", (UNION_SUM, UNION_HULL)), ("pick", (PICK_BEST, PICK_FIRST_ARGMAX)),
                              ("point", (POINT_ZERO, POINT_INSIDE))):  # fmt: skip
            if getattr(self, name) not in allowed:
                raise ValueError(
                    f"IoURule.{name} must be one of {', '.join(allowed)}, got {getattr(self, name)!r}"
                )

    @property
    def dtype(self) -> type:
        return np.float32 if self.float32 else np.float64

    def threshold(self, value: float) -> float:
        """A threshold as the script compares it (float32 for ``float32`` rules)."""
        return self.dtype(value)


def rule_scores(pred: np.ndarray, gt: np.ndarray, rule: IoURule = IoURule()) -> tuple[np.ndarray, np.ndarray]:
    """``(iou, iop)``, each ``(N, K)`` in the rule's dtype: every predicted span of ``pred`` ``(N, K, 2)`` against
    the ground truth ``gt`` ``(N, G, 2)`` of its sample, reduced over the ground truth by ``rule.pick``. NaN rows
    are padding; padding, non-finite values and empty denominators score 0. Reversed spans are taken as given."""
    p, g = pred.astype(rule.dtype)[:, :, None, :], gt.astype(rule.dtype)[:, None, :, :]
    real = ~(np.isnan(p[..., 0]) | np.isnan(g[..., 0]))
    with np.errstate(invalid="ignore", divide="ignore", over="ignore"):
        overlap = np.minimum(p[..., 1], g[..., 1]) - np.maximum(p[..., 0], g[..., 0])
        inter = np.maximum(overlap, 0)
        plen, glen = p[..., 1] - p[..., 0], g[..., 1] - g[..., 0]
        sum_iou = inter / (plen + glen - inter)
        iou = sum_iou
        if rule.union == UNION_HULL:
            hull = np.maximum(p[..., 1], g[..., 1]) - np.minimum(p[..., 0], g[..., 0])
            iou = np.maximum(overlap / hull, 0)
        iop = inter / plen
        if rule.point == POINT_INSIDE:
            point = plen == 0
            inside = (g[..., 0] <= p[..., 0]) & (p[..., 0] <= g[..., 1])
            iop, iou = np.where(point, inside, np.where(plen > 0, iop, 0)), np.where(point, 0, iou)
    iou, iop = (np.where(real & np.isfinite(x), x, 0).astype(rule.dtype) for x in (iou, iop))
    if rule.pick == PICK_FIRST_ARGMAX:
        first = np.argmax(np.where(real, sum_iou, -np.inf), axis=-1)[..., None]
        return np.take_along_axis(iou, first, -1)[..., 0], iop.max(axis=-1)
    return iou.max(axis=-1), iop.max(axis=-1)
