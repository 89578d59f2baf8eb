"""Every knob of the agent in one record (``AgentOptions``); defaults reproduce the official evaluation script."""

from __future__ import annotations

from dataclasses import dataclass, field, fields, replace
from typing import Any

from videomind.errors import UserInputError
from videomind.video.budget import (
    ANSWERER_BUDGET,
    GROUNDER_BUDGET,
    PLANNER_BUDGET,
    VERIFIER_BUDGET,
    FrameBudget,
)

DEFAULT_UNIT = 0.001  # seconds: the official rounding of predicted timestamps unless a dataset sets its own
DEFAULT_ANSWER_MIN_LEN = 32.0  # seconds: the answerer's clip is widened to at least this (REFERENCE.md s.6)
VERIFIER_TOP_K = 5
VERIFIER_MIN_SPAN = 2.0  # seconds: candidates are widened to this before the zoom-in
MAX_NEW_TOKENS = 256
ANSWER_STYLES = ("mcq", "options", "direct", "demo")
# Frames per piece the fast agent's feeder hands to the model: the unit decoding overlaps with (the backend
# splits pieces further into vision-tower calls of about 1,000 patches, see backend.VISION_PATCHES_PER_CALL).
STREAM_CHUNK_FRAMES = 16


@dataclass(frozen=True)
class AnswerCrop:
    """Minimum length of the answerer's clip: ``min_ratio`` of the duration if set, else ``min_len`` seconds."""

    min_len: float = DEFAULT_ANSWER_MIN_LEN
    min_ratio: float | None = None

    def min_length(self, duration: float) -> float:
        return duration * self.min_ratio if self.min_ratio is not None else self.min_len


@dataclass(frozen=True)
class GenerationSettings:
    """Decoding of the text roles. The official calls are greedy with 256 new tokens and no repetition penalty."""

    max_new_tokens: int = MAX_NEW_TOKENS
    temperature: float = 0.0  # > 0 samples (the demo's option); the grounder trigger still uses the argmax
    top_p: float = 1.0
    seed: int | None = None


@dataclass(frozen=True)
class AgentOptions:
    """How a query is run.

    ``auto_planning`` lets the planner skip grounding ("answerer" plans); ``auto_rephrasing`` lets it rewrite the
    grounding query. Both are off in the official evaluation scripts (REFERENCE.md s.5.2, s.13 item 20).
    ``verifier_query`` is "question" (the official evaluation script: the raw question) or "query" (the demo: the
    possibly rephrased grounding query). ``round_unit`` rounds predicted timestamps (seconds; None = no rounding,
    as the demo). ``fast`` shares one decoder and the vision features across roles, decodes overlapping windows
    once, streams each clip in pieces of ``stream_chunk_frames`` frames through the vision tower as they are
    decoded and, on accelerators, scores the verifier's candidates in one batched pass; ``decode_ahead`` (None:
    when it does not take a core from the model, see ``feeder.decode_ahead_pays_off``) decodes in a worker thread
    while the model runs. ``fast=False`` runs the plain official order. Both give the same results
    (docs/PERFORMANCE.md).
    """

    auto_planning: bool = False
    auto_rephrasing: bool = False
    use_planner: bool | None = None  # None: run the planner iff a switch above is on and the adapter exists
    use_grounder: bool = True
    use_verifier: bool = True
    verifier_top_k: int = VERIFIER_TOP_K
    verifier_min_span: float = VERIFIER_MIN_SPAN
    verifier_query: str = "question"
    use_answerer: bool = True
    style: str = "mcq"
    use_subtitles: bool = False
    round_unit: float | None = DEFAULT_UNIT
    answer_crop: AnswerCrop = field(default_factory=AnswerCrop)
    planner_budget: FrameBudget = PLANNER_BUDGET
    grounder_budget: FrameBudget = GROUNDER_BUDGET
    verifier_budget: FrameBudget = VERIFIER_BUDGET
    answerer_budget: FrameBudget = ANSWERER_BUDGET
    generation: GenerationSettings = field(default_factory=GenerationSettings)
    fast: bool = True
    decode_ahead: bool | None = None
    decode_threads: int | None = None  # fast mode's FFmpeg threads; None: feeder.decode_threads' device rule
    prefetch_answer_clips: bool | None = None  # None: feeder.prefetch_answer_clips' device rule
    stream_chunk_frames: int = STREAM_CHUNK_FRAMES

    def __post_init__(self) -> None:
        if self.stream_chunk_frames < 2:
            raise UserInputError("stream_chunk_frames must be at least 2 (one frame pair)")
        if self.style not in ANSWER_STYLES:
            raise UserInputError(f"style must be one of {ANSWER_STYLES}, got {self.style!r}")
        if self.verifier_query not in ("question", "query"):
            raise UserInputError(f"verifier_query must be 'question' or 'query', got {self.verifier_query!r}")
        if self.verifier_top_k < 1:
            raise UserInputError("verifier_top_k must be at least 1")
        if self.decode_threads is not None and self.decode_threads < 0:
            raise UserInputError("decode_threads must be 0 (FFmpeg picks) or more")

    @property
    def planner_enabled(self) -> bool:
        return (
            self.use_planner if self.use_planner is not None else (self.auto_planning or self.auto_rephrasing)
        )

    def for_frame_factor(self, factor: int | None) -> AgentOptions:
        """A copy whose frame budgets round frame sides to ``factor`` (the model's ``processor.vision.factor``:
        28 for Qwen2-VL / Qwen2.5-VL, 32 for Qwen3-VL); ``None`` keeps them."""
        budgets = {f.name: getattr(self, f.name) for f in fields(self) if f.name.endswith("_budget")}
        if factor is None or all(b.factor == factor for b in budgets.values()):
            return self
        return replace(self, **{name: b.with_(factor=factor) for name, b in budgets.items()})

    def updated(self, **overrides: Any) -> AgentOptions:
        """A copy with some fields changed; unknown names are an error (no silent typos)."""
        known = {f.name for f in fields(self)}
        unknown = sorted(set(overrides) - known)
        if unknown:
            raise UserInputError(f"unknown agent option(s) {unknown}; known: {sorted(known)}")
        return replace(self, **overrides)

    @classmethod
    def demo(cls, **overrides: Any) -> AgentOptions:
        """The official demo's behaviour: both planner switches, verifier on the rephrased query, no rounding,
        the step-by-step answer prompt."""
        base = cls(
            auto_planning=True, auto_rephrasing=True, verifier_query="query", round_unit=None, style="demo"
        )
        return base.updated(**overrides)
