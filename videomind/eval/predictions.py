"""The prediction-line schema: one JSON object per sample, written by ``eval predict`` and read by ``eval score``.

Every line is self-contained (it carries the sample with its ground truth), so a folder of shard files can be scored
without the dataset. Times are seconds. See docs/EVALUATION.md for the field table.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass, field, fields
from typing import Any, TypedDict

from videomind.records import AgentResult, Sample, _json_safe

SCHEMA_VERSION = 1


class PredictionLine(TypedDict, total=False):
    """The JSON object of one line (``PredictionRecord.to_dict()``); ``id`` comes first in the file."""

    id: str
    benchmark: str
    sample: dict[str, Any]
    pred: list[list[float]]
    conf: list[float]
    pred_ori: list[list[float]] | None
    conf_ori: list[float] | None
    verifier_scores: list[float] | None
    grounder_success: bool | None
    response: str | None
    answer: str | None
    pred_saliency_scores: list[float] | None
    trace: list[dict[str, Any]]
    error: str | None
    seconds: float
    version: int


def _spans(spans: Any) -> list[list[float]] | None:
    return None if spans is None else [[float(s), float(e)] for s, e, *_ in spans]


def _floats(values: Any) -> list[float] | None:
    return None if values is None else [float(v) for v in values]


@dataclass(frozen=True)
class PredictionRecord:
    """One sample's prediction. ``pred`` is best first (after the verifier when it ran) and ``conf`` parallel to
    it; ``pred_ori`` / ``conf_ori`` are the grounder's ranking before the verifier; ``pred`` is ``None`` when
    grounding did not run. ``answer`` is the parsed option letter (or free text) and ``response`` the answerer's
    raw text. ``error`` is ``None`` or the message of the exception that stopped this sample."""

    id: str
    benchmark: str
    sample: Sample
    pred: list[list[float]] | None = None
    conf: list[float] | None = None
    pred_ori: list[list[float]] | None = None
    conf_ori: list[float] | None = None
    verifier_scores: list[float] | None = None
    grounder_success: bool | None = None
    response: str | None = None
    answer: str | None = None
    pred_saliency_scores: list[float] | None = None
    trace: list[dict[str, Any]] = field(default_factory=list)
    error: str | None = None
    seconds: float = 0.0
    version: int = SCHEMA_VERSION

    def to_dict(self) -> dict[str, Any]:
        out = {f.name: getattr(self, f.name) for f in fields(self)}
        out["sample"] = self.sample.to_dict()
        return _json_safe(out)

    def to_json(self) -> str:
        """One line of the shard file (no newline); ``id`` is the first key."""
        return json.dumps(self.to_dict(), ensure_ascii=False, separators=(",", ":"))

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> PredictionRecord:
        known = {f.name for f in fields(cls)}
        kwargs = {k: v for k, v in data.items() if k in known}
        kwargs["sample"] = Sample.from_dict(data["sample"])
        kwargs["id"] = str(data["id"])
        kwargs["trace"] = list(data.get("trace") or [])
        return cls(**kwargs)

    @classmethod
    def from_result(
        cls, benchmark: str, sample: Sample, result: AgentResult, seconds: float = 0.0
    ) -> PredictionRecord:
        """The record of a finished agent run. ``result.moments`` are the final ranking; ``result.candidates``
        the grounder's ranking before verification (stored as ``pred_ori`` only when the verifier ran)."""
        grounded = result.grounder_success is not None or bool(result.moments)
        verified = result.verifier_scores is not None
        return cls(
            id=sample.id,
            benchmark=benchmark,
            sample=sample,
            pred=_spans(m.as_span() for m in result.moments) if grounded else None,
            conf=_grounder_conf(result) if grounded else None,
            pred_ori=_spans(m.as_span() for m in result.candidates) if verified else None,
            conf_ori=[_score(m.score) for m in result.candidates] if verified else None,
            verifier_scores=_floats(result.verifier_scores),
            grounder_success=result.grounder_success,
            response=result.response,
            answer=result.answer,
            trace=[step.to_dict() for step in result.trace],
            seconds=float(seconds),
        )

    @classmethod
    def failed(cls, benchmark: str, sample: Sample, error: BaseException | str, seconds: float = 0.0):
        """The record of a sample whose run raised: no prediction, the error message kept."""
        message = error if isinstance(error, str) else f"{type(error).__name__}: {error}"
        return cls(id=sample.id, benchmark=benchmark, sample=sample, error=message, seconds=float(seconds))


def _score(score: float | None) -> float:
    return 0.0 if score is None else float(score)


def _grounder_conf(result: AgentResult) -> list[float]:
    """Grounder confidences in the final order. After the verifier, a moment's own score is the verifier's, so
    its grounder confidence is looked up from the candidate with the same span (as the official ``conf``)."""
    if result.verifier_scores is None:
        return [_score(m.score) for m in result.moments]
    by_span: dict[tuple[float, float], float] = {}
    for m in result.candidates:
        by_span.setdefault(m.as_span(), _score(m.score))
    return [by_span.get(m.as_span(), 0.0) for m in result.moments]
