"""Typed records shared by every layer: moments, dataset samples, agent steps and results.

All times are in seconds. Every record converts to a JSON-safe ``dict`` with ``to_dict()`` and back with
``from_dict()``, so predictions, traces and datasets round-trip through JSON files unchanged.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field, fields
from enum import Enum
from typing import Any


class Role(str, Enum):
    """The four roles of the Chain-of-LoRA agent (the value is the adapter folder name)."""

    PLANNER = "planner"
    GROUNDER = "grounder"
    VERIFIER = "verifier"
    ANSWERER = "answerer"

    def __str__(self) -> str:
        return self.value


def _json_safe(value: Any) -> Any:
    """Convert tuples, enums, records and non-finite floats to plain JSON values."""
    if isinstance(value, Enum):
        return value.value
    if hasattr(value, "to_dict"):
        return value.to_dict()
    if isinstance(value, Mapping):
        return {str(k): _json_safe(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [_json_safe(v) for v in value]
    if isinstance(value, float) and not math.isfinite(value):
        return None
    if hasattr(value, "item") and callable(value.item):  # numpy / torch scalars
        return _json_safe(value.item())
    return value


@dataclass(frozen=True)
class Moment:
    """A time span of a video in seconds, with an optional confidence."""

    start: float
    end: float
    score: float | None = None

    @property
    def length(self) -> float:
        return self.end - self.start

    def as_span(self) -> tuple[float, float]:
        return (self.start, self.end)

    def to_dict(self) -> dict[str, Any]:
        return {"start": self.start, "end": self.end, "score": self.score}

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> Moment:
        return cls(
            float(data["start"]),
            float(data["end"]),
            None if data.get("score") is None else float(data["score"]),
        )


def _tuple_of_spans(spans: Any) -> tuple[tuple[float, float], ...]:
    return tuple((float(s), float(e)) for s, e in (spans or ()))


@dataclass(frozen=True)
class Sample:
    """One annotated example of a dataset, after parsing (times in seconds).

    ``spans`` are the ground-truth moments (several for some datasets). ``options`` and ``answer`` are set for
    multiple-choice samples: ``answer`` is the correct option letter ("A", "B", ...) and ``answer_text`` its text.
    ``extra`` keeps dataset-specific fields (ids, saliency scores, ...) that some metrics need; it must be JSON-safe.
    """

    id: str
    source: str
    video: str | None = None
    duration: float | None = None
    query: str | None = None
    spans: tuple[tuple[float, float], ...] = ()
    question: str | None = None
    options: tuple[str, ...] | None = None
    answer: str | None = None
    answer_text: str | None = None
    task: tuple[str, ...] = ()
    data_type: str = "grounding"
    subtitle: str | None = None
    split: str | None = None
    extra: Mapping[str, Any] = field(default_factory=dict)

    def __post_init__(self) -> None:
        object.__setattr__(self, "spans", _tuple_of_spans(self.spans))
        if self.options is not None:
            object.__setattr__(self, "options", tuple(str(o) for o in self.options))
        if isinstance(self.task, str):
            object.__setattr__(self, "task", (self.task,))
        else:
            object.__setattr__(self, "task", tuple(str(t) for t in self.task))

    @property
    def is_multiple_choice(self) -> bool:
        return bool(self.question) and bool(self.options)

    def to_dict(self) -> dict[str, Any]:
        return {f.name: _json_safe(getattr(self, f.name)) for f in fields(self)}

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> Sample:
        known = {f.name for f in fields(cls)}
        kwargs = {k: v for k, v in data.items() if k in known}
        if kwargs.get("options") is not None:
            kwargs["options"] = tuple(kwargs["options"])
        kwargs["task"] = tuple(kwargs.get("task") or ())
        kwargs["extra"] = dict(kwargs.get("extra") or {})
        return cls(**kwargs)


@dataclass(frozen=True)
class VideoView:
    """What a role saw of the video: the sampled window and frames."""

    start: float
    end: float
    fps: float
    num_frames: int
    height: int
    width: int
    timestamps: tuple[float, ...] = ()

    def to_dict(self) -> dict[str, Any]:
        return {f.name: _json_safe(getattr(self, f.name)) for f in fields(self)}

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> VideoView:
        d = dict(data)
        d["timestamps"] = tuple(d.get("timestamps") or ())
        return cls(**d)


@dataclass(frozen=True)
class AgentStep:
    """One role call of the agent: what it saw, what it said, what was parsed and how long it took."""

    role: Role
    prompt: str = ""
    response: str = ""
    parsed: Any = None
    view: VideoView | None = None
    seconds: float = 0.0
    note: str | None = None

    def to_dict(self) -> dict[str, Any]:
        return {
            "role": self.role.value,
            "prompt": self.prompt,
            "response": self.response,
            "parsed": _json_safe(self.parsed),
            "view": None if self.view is None else self.view.to_dict(),
            "seconds": self.seconds,
            "note": self.note,
        }

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> AgentStep:
        view = data.get("view")
        return cls(
            role=Role(data["role"]),
            prompt=data.get("prompt", ""),
            response=data.get("response", ""),
            parsed=data.get("parsed"),
            view=None if view is None else VideoView.from_dict(view),
            seconds=float(data.get("seconds", 0.0)),
            note=data.get("note"),
        )


@dataclass
class AgentResult:
    """Everything one agent run produced. ``moments`` are best first (after verification when it ran)."""

    question: str
    duration: float
    answer: str | None = None
    response: str | None = None
    moments: list[Moment] = field(default_factory=list)
    candidates: list[Moment] = field(default_factory=list)
    verifier_scores: list[float] | None = None
    plan: list[dict[str, Any]] | None = None
    query: str | None = None
    options: list[str] | None = None
    grounder_success: bool | None = None
    trace: list[AgentStep] = field(default_factory=list)
    fallbacks: list[str] = field(default_factory=list)
    warnings: list[str] = field(default_factory=list)

    @property
    def moment(self) -> Moment | None:
        """The chosen moment (best first), or None when grounding did not run."""
        return self.moments[0] if self.moments else None

    @property
    def roles(self) -> list[Role]:
        return [step.role for step in self.trace]

    def to_dict(self) -> dict[str, Any]:
        out: dict[str, Any] = {}
        for f in fields(self):
            out[f.name] = _json_safe(getattr(self, f.name))
        return out

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> AgentResult:
        def moments(key: str) -> list[Moment]:
            return [Moment.from_dict(m) for m in data.get(key) or []]

        return cls(
            question=data["question"],
            duration=float(data["duration"]),
            answer=data.get("answer"),
            response=data.get("response"),
            moments=moments("moments"),
            candidates=moments("candidates"),
            verifier_scores=data.get("verifier_scores"),
            plan=data.get("plan"),
            query=data.get("query"),
            options=data.get("options"),
            grounder_success=data.get("grounder_success"),
            trace=[AgentStep.from_dict(s) for s in data.get("trace") or []],
            fallbacks=list(data.get("fallbacks") or []),
            warnings=list(data.get("warnings") or []),
        )


def moments_from_spans(
    spans: Sequence[Sequence[float]], scores: Sequence[float] | None = None
) -> list[Moment]:
    """Build moments from ``[[start, end], ...]`` seconds and optional per-span scores."""
    scores = scores if scores is not None else [None] * len(spans)
    return [Moment(float(s), float(e), None if c is None else float(c)) for (s, e), c in zip(spans, scores)]
