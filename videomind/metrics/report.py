"""Whole-benchmark reports: every metric overall and per task, with sample / failure / unparsable / zero-length counts.

:func:`build_report` takes one :class:`EvalItem` per sample (ground truth and prediction as plain values) and a
:class:`MetricSpec` (which metric family, thresholds, parsing, union and IoU rules). Per-sample scores are computed
once, vectorised, and each group (``all`` and every task; a sample with several tasks counts in each) is a masked
mean. A metric whose denominator is empty in a group is left out of that group (the official script prints 0).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import asdict, dataclass, field, replace
from typing import Any

import numpy as np

from videomind.metrics import grounding as gnd
from videomind.metrics import highlights as hl
from videomind.metrics import qa
from videomind.spans import IoURule

FAMILIES = ("auto", "grounding", "grounded_qa", "cgbench", "rtl", "qvhighlights", "qa")
ALL_TASKS = "all"
NO_TASK = "unknown"  # the official script's name for samples without a task
RTL_KEY, RTL_THRESHOLD = "P@0.5", 0.5  # ActivityNet-RTL's precision = top-1 recall at IoU 0.5
TASK_MEAN_KEY = "M-Avg"
COUNT_KEYS = ("count", "grounding_count", "qa_count", "failures", "errors", "unparsable", "zero_length")


@dataclass(frozen=True)
class MetricSpec:
    """How a benchmark is scored. ``family`` selects the extras (CG-Bench set IoU, RTL's ``P@0.5``,
    QVHighlights mAP and highlights); ``headline`` lists the paper's columns, printed first; ``iou_rule`` is how the
    benchmark's official script computes IoU / IoP (videomind.spans.IoURule)."""

    family: str = "auto"
    top_k: tuple[int, ...] = gnd.DEFAULT_TOP_K
    iou_thresholds: tuple[float, ...] = gnd.DEFAULT_IOU_THRESHOLDS
    iop_thresholds: tuple[float, ...] = gnd.DEFAULT_IOP_THRESHOLDS
    headline: tuple[str, ...] = ()
    qa_threshold: float = qa.QA_IOU_THRESHOLD
    parse_mode: str = "robust"
    union: str = "correct"
    conf_thr: float = -1.0
    task_mean: bool = False  # also report ``M-Avg``: the mean of the per-task accuracies (MLVU, MVBench)
    iou_rule: IoURule = gnd.VIDEOMIND_RULE

    def __post_init__(self) -> None:
        if self.family not in FAMILIES:
            raise ValueError(f"unknown metric family {self.family!r}: use one of {', '.join(FAMILIES)}")
        if self.parse_mode not in qa.PARSE_MODES:
            raise ValueError(
                f"unknown parse mode {self.parse_mode!r}: use one of {', '.join(qa.PARSE_MODES)}"
            )
        if self.union not in qa.UNION_MODES:
            raise ValueError(f"unknown union mode {self.union!r}: use one of {', '.join(qa.UNION_MODES)}")

    def with_(self, **changes: Any) -> MetricSpec:
        return replace(self, **changes)


@dataclass(frozen=True)
class EvalItem:
    """One scored sample as plain values (seconds). ``pred`` is ``None`` when grounding did not run; ``options``
    and ``answer`` (the correct letter) are set for multiple-choice samples; ``saliency`` (``clip_ids``,
    ``scores``) and ``pred_saliency`` are QVHighlights' highlight truth and prediction."""

    id: str
    tasks: Sequence[str] = ()
    gt_spans: Sequence[Sequence[float]] = ()
    pred: Sequence[Sequence[float]] | None = None
    conf: Sequence[float] | None = None
    pred_ori: Sequence[Sequence[float]] | None = None
    options: Sequence[str] | int | None = None
    answer: str | None = None
    response: str | None = None
    grounder_failed: bool = False
    error: str | None = None
    duration: float | None = None
    saliency: tuple[Sequence[int], Sequence[Sequence[float]]] | None = None
    pred_saliency: Sequence[float] | None = None

    @property
    def is_grounding(self) -> bool:
        return bool(self.gt_spans) and (self.pred is not None or self.error is not None)

    @property
    def is_qa(self) -> bool:
        return bool(self.options) and self.answer is not None

    @property
    def zero_length(self) -> bool:
        """The top-1 prediction is a zero-length span (scored by each script's own rule)."""
        top = self.pred[0] if self.pred else None
        return top is not None and len(top) >= 2 and float(top[0]) == float(top[1])


@dataclass(frozen=True)
class Report:
    """Metrics of ``all`` samples and per task (percent), the counts (``zero_length``: grounding samples whose top-1
    prediction has zero length), and how the verifier changed top-1 IoU."""

    overall: dict[str, float]
    per_task: dict[str, dict[str, float]]
    count: int
    failures: int
    errors: int
    unparsable: int
    headline: tuple[str, ...] = ()
    zero_length: int = 0
    verifier: dict[str, int] | None = None
    spec: dict[str, Any] = field(default_factory=dict)

    def to_dict(self) -> dict[str, Any]:
        return asdict(self) | {"headline": list(self.headline)}


def _flags(items: Sequence[EvalItem], spec: MetricSpec) -> dict[str, np.ndarray]:
    parsed = [
        qa.parse_option_letter(it.response, it.options, spec.parse_mode) if it.is_qa else None for it in items
    ]
    return {
        "gnd": np.fromiter((it.is_grounding for it in items), bool, len(items)),
        "qa": np.fromiter((it.is_qa for it in items), bool, len(items)),
        "parsed": np.array([p is not None for p in parsed], dtype=bool),
        "correct": np.array(
            [p is not None and p == str(it.answer).upper() for p, it in zip(parsed, items)], bool
        ),
        "failed": np.fromiter((bool(it.grounder_failed) for it in items), bool, len(items)),
        "error": np.fromiter((it.error is not None for it in items), bool, len(items)),
        "zero": np.fromiter((it.is_grounding and it.zero_length for it in items), bool, len(items)),
    }


def _max_rank(spec: MetricSpec) -> int:
    return max(spec.top_k + ((max(hl.RECALL_TOP_K),) if spec.family == "qvhighlights" else ()))


def _grounding_columns(items: Sequence[EvalItem], spec: MetricSpec, cols: dict) -> None:
    preds = [it.pred or () for it in items]
    gts = [it.gt_spans for it in items]
    scores = gnd.score_grounding(preds, gts, _max_rank(spec), spec.iou_rule)
    if spec.family == "cgbench":
        cg = qa.cgbench_iou(preds, [it.conf or () for it in items], gts, spec.union, spec.conf_thr)
        scores = gnd.GroundingScores(cg[:, None].astype(spec.iou_rule.dtype), scores.iop, spec.iou_rule)
    cols["scores"] = scores
    with_ori = np.fromiter((it.pred_ori is not None for it in items), bool, len(items))
    if with_ori.any():
        ori = gnd.score_grounding([it.pred_ori or () for it in items], gts, 1, spec.iou_rule)
        cols["ori"] = (with_ori, ori.iou[:, 0], ori.iop[:, 0])
    if spec.family == "qvhighlights":
        windows = hl.windows_with_scores(
            preds, [it.conf for it in items] if all(it.conf for it in items) else None
        )
        cols["moments"] = hl.moment_columns(windows, gnd.pad_spans(gts))


def _highlight_columns(items: Sequence[EvalItem], cols: dict) -> None:
    n_levels = len(hl.SALIENCY_LEVELS)
    ap, hit = np.full((len(items), n_levels), np.nan), np.full((len(items), n_levels), np.nan)
    for i, it in enumerate(items):
        if it.saliency is not None and it.pred_saliency is not None and it.duration is not None:
            truth = hl.saliency_truth(it.duration, *it.saliency)
            ap[i], hit[i] = hl.highlight_query(it.pred_saliency, truth)
    if np.isfinite(ap).any():
        cols["highlights"] = (ap, hit)


def score_columns(items: Sequence[EvalItem], spec: MetricSpec) -> dict[str, Any]:
    """Per-sample columns: flags, grounding scores per rank, CG-Bench / QVHighlights extras."""
    cols: dict[str, Any] = _flags(items, spec)
    _grounding_columns(items, spec, cols)
    if spec.family in ("qvhighlights", "auto"):
        _highlight_columns(items, cols)
    return cols


def _counts(cols: Mapping[str, Any], mask: np.ndarray) -> dict[str, int]:
    return {
        "count": int(mask.sum()),
        "grounding_count": int((mask & cols["gnd"]).sum()),
        "qa_count": int((mask & cols["qa"]).sum()),
        "failures": int((mask & cols["failed"]).sum()),
        "errors": int((mask & cols["error"]).sum()),
        "unparsable": int((mask & cols["qa"] & ~cols["parsed"]).sum()),
        "zero_length": int((mask & cols["zero"]).sum()),
    }


def _grounding_summary(cols: Mapping[str, Any], gmask: np.ndarray, spec: MetricSpec) -> dict[str, float]:
    scores = cols["scores"]
    if spec.family == "cgbench":
        return qa.summarise_cgbench(scores.iou[gmask, 0], None, spec.iou_thresholds) | {
            k: v
            for k, v in gnd.summarise_grounding(scores, gmask, (1,), (), spec.iop_thresholds).items()
            if "IoP" in k
        }
    out = gnd.summarise_grounding(scores, gmask, spec.top_k, spec.iou_thresholds, spec.iop_thresholds)
    if spec.family == "rtl":
        out[RTL_KEY] = float(np.mean(scores.iou[gmask, 0] >= RTL_THRESHOLD)) * gnd.PERCENT
    if "moments" in cols:
        out.update(hl.summarise_moments(cols["moments"], gmask))
    return out


def _qa_summary(cols: Mapping[str, Any], mask: np.ndarray, spec: MetricSpec) -> dict[str, float]:
    qmask = mask & cols["qa"]
    correct, grounded = cols["correct"][qmask], cols["gnd"][qmask]
    if not grounded.any():
        return qa.summarise_qa(correct)
    zero = spec.iou_rule.dtype(0)
    iou = np.where(grounded, cols["scores"].iou[qmask, 0], zero)
    iop = np.where(grounded, cols["scores"].iop[qmask, 0], zero)
    out = qa.summarise_qa(correct, iou, iop, spec.iou_rule.threshold(spec.qa_threshold))
    if spec.family == "cgbench":
        cg = qa.summarise_cgbench(iou, correct, spec.iou_thresholds)
        out.update({k: cg[k] for k in ("long-acc.", "acc.@IoU")})
    return out


def summarise_group(cols: Mapping[str, Any], mask: np.ndarray, spec: MetricSpec) -> dict[str, float]:
    """Counts and every applicable metric over the samples in ``mask``."""
    out: dict[str, Any] = _counts(cols, mask)
    gmask = mask & cols["gnd"]
    if gmask.any():
        out.update(_grounding_summary(cols, gmask, spec))
    if (mask & cols["qa"]).any():
        out.update(_qa_summary(cols, mask, spec))
    if "highlights" in cols:
        out.update(hl.summarise_highlights(*cols["highlights"], mask))
    return out


def _verifier_effect(cols: Mapping[str, Any]) -> dict[str, int] | None:
    """How often the verifier raised / lowered the top-1 IoU and IoP (the official "Raise / Lower")."""
    if "ori" not in cols:
        return None
    with_ori, ori_iou, ori_iop = cols["ori"]
    use = with_ori & cols["gnd"]
    iou, iop = cols["scores"].iou[:, 0], cols["scores"].iop[:, 0]
    return {
        "samples": int(use.sum()),
        "iou_raise": int((use & (ori_iou < iou)).sum()),
        "iou_lower": int((use & (ori_iou > iou)).sum()),
        "iop_raise": int((use & (ori_iop < iop)).sum()),
        "iop_lower": int((use & (ori_iop > iop)).sum()),
    }


def task_masks(items: Sequence[EvalItem]) -> dict[str, np.ndarray]:
    """One boolean mask per task name (sorted); samples without a task belong to ``unknown``."""
    names = sorted({t for it in items for t in (it.tasks or (NO_TASK,))})
    index = {t: i for i, t in enumerate(names)}
    masks = np.zeros((len(names), len(items)), dtype=bool)
    for j, it in enumerate(items):
        for t in it.tasks or (NO_TASK,):
            masks[index[t], j] = True
    return dict(zip(names, masks))


def build_report(items: Sequence[EvalItem], spec: MetricSpec | None = None) -> Report:
    """Score every sample and summarise ``all`` and each task."""
    spec = spec or MetricSpec()
    if not items:
        return Report({}, {}, 0, 0, 0, 0, spec.headline, 0, None, asdict(spec))
    cols = score_columns(items, spec)
    overall = summarise_group(cols, np.ones(len(items), dtype=bool), spec)
    per_task = {t: summarise_group(cols, m, spec) for t, m in task_masks(items).items()}
    task_accs = [group["Acc"] for group in per_task.values() if "Acc" in group]
    if spec.task_mean and task_accs:
        overall[TASK_MEAN_KEY] = float(np.mean(task_accs))
    return Report(
        overall=overall,
        per_task=per_task,
        count=overall["count"],
        failures=overall["failures"],
        errors=overall["errors"],
        unparsable=overall["unparsable"],
        headline=spec.headline,
        zero_length=overall["zero_length"],
        verifier=_verifier_effect(cols),
        spec=asdict(spec),
    )


def table_columns(report: Report, limit: int | None = None) -> list[str]:
    """Headline metrics present in the report, then (if no headline) every metric key in report order."""
    keys = [k for k in report.overall if k not in COUNT_KEYS]
    cols = [k for k in report.headline if k in keys] or keys
    return cols[:limit] if limit else cols


def format_table(report: Report, columns: Sequence[str] | None = None) -> str:
    """A plain-text table like the paper's: one row per task and ``all``; metrics with two decimals."""
    columns = list(columns) if columns is not None else table_columns(report)
    header = ["Task", "#Samples", "Failed", "Errors", "Unparsable", "Zero-length", *columns]
    rows = [header]
    for name, group in [*report.per_task.items(), (ALL_TASKS, report.overall)]:
        counts = [str(group.get(k, 0)) for k in ("count", "failures", "errors", "unparsable", "zero_length")]
        values = [f"{group[c]:.2f}" if c in group else "-" for c in columns]
        rows.append([name, *counts, *values])
    widths = [max(len(r[i]) for r in rows) for i in range(len(header))]
    lines = [
        "  ".join(c.ljust(w) if i == 0 else c.rjust(w) for i, (c, w) in enumerate(zip(r, widths)))
        for r in rows
    ]
    lines.insert(1, "  ".join("-" * w for w in widths))
    return "\n".join(lines)
