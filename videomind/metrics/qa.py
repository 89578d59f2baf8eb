"""Question-answering metrics: option-letter parsing, accuracy, grounded accuracy and CG-Bench's clue metrics.

REFERENCE.md s.11.3. ``parse_option_letter`` turns an answerer response into an option letter; the official
``check_ans`` rule is available as ``mode="official"`` and a robust default also reads "(B)", "B.", "Answer: B",
"The best option is (C) ...", or the text of an option. Accuracies are in percent over all QA samples; unparsable
responses stay in the denominator (they are wrong), as in the official script.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Sequence
from string import ascii_uppercase

import numpy as np

from videomind.metrics.grounding import PERCENT, SpanLists, fmt_threshold, pad_spans, pad_values

PARSE_MODES = ("robust", "official")
QA_IOU_THRESHOLD = 0.5  # Acc@IoU (ReXTime) and Acc@GQA (NExT-GQA, IoP) both use 0.5
CGBENCH_THRESHOLDS: tuple[float, ...] = (0.1, 0.2, 0.3, 0.4, 0.5)
UNION_MODES = ("correct", "official")

_LONE = re.compile(r"^\s*[(\[]?\s*([A-Za-z])\s*[)\]]?\s*[.:]?\s*$")  # "B", "(b)", "B.", "[C]"
_LEAD = re.compile(r"^\s*[(\[]?\s*([A-Za-z])\s*[)\].:,](?![A-Za-z0-9])")  # "B) sits", "(B) sits", "b. sits"
_KEYWORD = re.compile(
    r"(?i:answer|option|choice)s?\s*(?:(?i:is)\s*)?[:=\-]?\s*"
    r"(?:\(\s*([A-Za-z])\s*\)|\[\s*([A-Za-z])\s*\]|\(?([A-Z])(?![A-Za-z0-9]))"
)  # "Answer: B", "The best option is (C)", "Best Option: (B) sits"
_PAREN = re.compile(r"\(\s*([A-Za-z])\s*\)")
_WEAK_LEAD = re.compile(r"^\s*([A-Z])\s+\S")  # "B sits" (tried last: "A man ..." is usually an article)
_NON_WORD = re.compile(r"[^a-z0-9]+")


def option_letters(n: int) -> tuple[str, ...]:
    return tuple(ascii_uppercase[:n])


def _normalise(text: str) -> str:
    return _NON_WORD.sub(" ", text.lower()).strip()


def parse_official(response: str, num_options: int) -> str | None:
    """The official ``check_ans`` reading: first space-separated token, lower-cased, without ``( ) .``; its first
    character if longer; ``None`` unless it is one of the valid letters. (An empty token, which crashes the
    official script, gives ``None``.)"""
    token = response.lower().split(" ")[0].replace("(", "").replace(")", "").replace(".", "")
    letter = token[:1].upper()
    return letter if letter and letter in option_letters(num_options) else None


def _by_option_text(response: str, options: Sequence[str]) -> str | None:
    said = _normalise(response)
    texts = [_normalise(o) for o in options]
    for i, text in enumerate(texts):
        if text and said == text:
            return ascii_uppercase[i]
    found = [
        i for i, t in enumerate(texts) if t and re.search(rf"(?<![a-z0-9]){re.escape(t)}(?![a-z0-9])", said)
    ]
    # "dark red" also contains "red": keep only matches that are not part of a longer matched option
    found = [i for i in found if not any(j != i and texts[i] in texts[j] for j in found)]
    return ascii_uppercase[found[0]] if len(found) == 1 else None


def _first_valid(matches: Iterable[re.Match], valid: Sequence[str]) -> str | None:
    for m in matches:
        letter = next(g for g in m.groups() if g).upper()
        if letter in valid:
            return letter
    return None


def parse_robust(response: str, options: Sequence[str] | int) -> str | None:
    """Option letter of a free-form response, or ``None``. Rules in order: a lone or leading letter ("B", "(B)",
    "B) ...", "B. ..."), a keyword ("Answer: B", "... best option is (C)"), a single parenthesised letter, the text
    of exactly one option, and last a leading capital followed by a word ("B sits")."""
    n = options if isinstance(options, int) else len(options)
    valid = option_letters(n)
    for pattern in (_LONE, _LEAD):
        hit = _first_valid([m] if (m := pattern.match(response)) else [], valid)
        if hit:
            return hit
    hit = _first_valid(_KEYWORD.finditer(response), valid)
    if hit:
        return hit
    parens = {m.group(1).upper() for m in _PAREN.finditer(response)} & set(valid)
    if len(parens) == 1:
        return parens.pop()
    if not isinstance(options, int):
        hit = _by_option_text(response, options)
        if hit:
            return hit
    return _first_valid([m] if (m := _WEAK_LEAD.match(response)) else [], valid)


def parse_option_letter(
    response: str | None, options: Sequence[str] | int, mode: str = "robust"
) -> str | None:
    """The option letter ("A", "B", ...) a response chose, or ``None`` when it cannot be read.

    ``options`` is the option list (or just their number, which disables matching by option text); ``mode`` is
    ``"robust"`` (default) or ``"official"`` (the reference ``check_ans`` rule).
    """
    if mode not in PARSE_MODES:
        raise ValueError(f"unknown parse mode {mode!r}: use one of {', '.join(PARSE_MODES)}")
    if not response:
        return None
    n = options if isinstance(options, int) else len(options)
    return parse_official(response, n) if mode == "official" else parse_robust(response, options)


def _pct(x: np.ndarray) -> float:
    return float(np.mean(x)) * PERCENT if x.size else 0.0


def summarise_qa(
    correct: np.ndarray,
    top1_iou: np.ndarray | None = None,
    top1_iop: np.ndarray | None = None,
    threshold: float = QA_IOU_THRESHOLD,
) -> dict[str, float]:
    """``Acc``; with grounding, ``Acc@IoU`` (correct and top-1 IoU >= threshold, ReXTime) and ``Acc@GQA`` (correct
    and top-1 IoP >= threshold, NExT-GQA). Samples without grounding should carry IoU/IoP 0."""
    out = {"Acc": _pct(correct)}
    if top1_iou is not None:
        out["Acc@IoU"] = _pct(correct & (top1_iou >= threshold))
    if top1_iop is not None:
        out["Acc@GQA"] = _pct(correct & (top1_iop >= threshold))
    return out


def merged_length(spans: np.ndarray) -> np.ndarray:
    """Total length covered by each row's spans, overlaps counted once, ``(N, L, 2) -> (N,)``.

    Rows are NaN-padded; padding, non-finite and reversed spans cover nothing.
    """
    s, e = spans[..., 0], spans[..., 1]
    ok = np.isfinite(s) & np.isfinite(e) & (e > s)
    s, e = np.where(ok, s, 0.0), np.where(ok, e, 0.0)  # zero-length spans never add length
    order = np.argsort(s, axis=1, kind="stable")
    s, e = np.take_along_axis(s, order, 1), np.take_along_axis(e, order, 1)
    reach = np.maximum.accumulate(e, axis=1)
    before = np.concatenate([np.full((len(s), 1), -np.inf), reach[:, :-1]], axis=1)
    return np.clip(e - np.maximum(s, before), 0.0, None).sum(axis=1)


def _cgbench_keep(pred: np.ndarray, conf: np.ndarray, conf_thr: float) -> np.ndarray:
    """The top-1 prediction, plus (when ``conf_thr > 0``) every prediction with confidence above it."""
    keep = np.zeros(pred.shape[:2], dtype=bool)
    keep[:, 0] = True
    if conf_thr > 0:
        keep |= np.nan_to_num(conf, nan=-np.inf) > conf_thr
    return np.where(keep[..., None], pred, np.nan)


def cgbench_iou(
    preds: SpanLists,
    confs: Sequence[Sequence[float]],
    gts: SpanLists,
    union: str = "correct",
    conf_thr: float = -1.0,
) -> np.ndarray:
    """Per-sample IoU between a *set* of predictions and the set of clue intervals (CG-Bench), ``(N,)``.

    ``union="correct"`` merges each set before measuring (|P n G| / |P u G|); ``"official"`` reproduces the
    reference formula sum(pairwise intersections) / (sum pred lengths + sum GT lengths - sum intersections), which
    double-counts overlapping predictions (REFERENCE.md s.13 item 21) and is needed to match published numbers.
    """
    if union not in UNION_MODES:
        raise ValueError(f"unknown union mode {union!r}: use one of {', '.join(UNION_MODES)}")
    pred = pad_spans(preds)
    conf = pad_values(confs, pred.shape[1])
    pred, gt = _cgbench_keep(pred, conf, conf_thr), pad_spans(gts)
    with np.errstate(invalid="ignore", divide="ignore"):
        if union == "official":
            lo = np.maximum(pred[:, :, None, 0], gt[:, None, :, 0])
            hi = np.minimum(pred[:, :, None, 1], gt[:, None, :, 1])
            inter = np.nansum(np.clip(hi - lo, 0.0, None), axis=(1, 2))
            areas = np.nansum(pred[..., 1] - pred[..., 0], 1) + np.nansum(gt[..., 1] - gt[..., 0], 1)
            iou = inter / (areas - inter)
        else:
            both = merged_length(np.concatenate([pred, gt], axis=1))
            iou = (merged_length(pred) + merged_length(gt) - both) / both
    return np.where(np.isfinite(iou), iou, 0.0)


def summarise_cgbench(
    iou: np.ndarray, correct: np.ndarray | None = None, thresholds: Iterable[float] = CGBENCH_THRESHOLDS
) -> dict[str, float]:
    """CG-Bench: ``R1@{thr}``, ``mIoU``, ``rec.@IoU`` (mean recall over the thresholds) and, with answers,
    ``long-acc.`` and ``acc.@IoU`` (mean over thresholds of correct-and-IoU >= thr). ``correct`` must be aligned
    with ``iou`` (the same samples)."""
    thresholds = tuple(thresholds)
    out = {f"R1@{fmt_threshold(t)}": _pct(iou >= t) for t in thresholds}
    out["mIoU"] = _pct(iou)
    out["rec.@IoU"] = float(np.mean([out[f"R1@{fmt_threshold(t)}"] for t in thresholds]))
    if correct is not None:
        out["long-acc."] = _pct(correct)
        out["acc.@IoU"] = float(np.mean([_pct(correct & (iou >= t)) for t in thresholds]))
    return out
