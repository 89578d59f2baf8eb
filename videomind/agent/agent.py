"""``VideoMindAgent``: plan -> ground -> verify -> answer, faithful to the official evaluation flow.

``run`` only sequences; each role has its own method. Model work goes through a ``Backend`` (backend.py), video
reading through ``videomind.video``. Everything a run produces is returned in an ``AgentResult``; nothing is kept
on the agent between queries except the model.
"""

from __future__ import annotations

import logging
import math
import time
from collections.abc import Callable, Sequence
from contextlib import ExitStack
from dataclasses import dataclass, field
from pathlib import Path

from videomind import prompts, spans
from videomind.agent.backend import Backend, ClipInput, ModelBackend, Session
from videomind.agent.feeder import FrameFeeder, decode_ahead_enabled, decode_threads, prefetch_answer_clips
from videomind.agent.inputs import check_options, check_question, check_top_k
from videomind.agent.options import AgentOptions, AnswerCrop
from videomind.agent.parsing import parse_plan
from videomind.records import AgentResult, AgentStep, Moment, Role
from videomind.video import FrameBudget

log = logging.getLogger(__name__)

StepCallback = Callable[[AgentStep], None]
NON_FINITE_HINT = "float16 overflow? load the model in bfloat16 or float32"


@dataclass
class _Query:
    """Per-run state: the model session, the video reader(s), the result being built and the step callback.

    ``model`` is the query's own backend session (its mode and vision-feature cache), so queries running in other
    threads on the same agent never see it. ``feeder`` (fast mode) serves every role from one reader; ``clips`` are
    its clips by frame key, so two roles asking for the same frames share one stream (and the session its features).
    """

    video: str
    options: AgentOptions
    result: AgentResult
    on_step: StepCallback | None
    stack: ExitStack
    model: Session
    feeder: FrameFeeder | None = None
    clips: dict[tuple, ClipInput] = field(default_factory=dict)
    subtitles: list[tuple[float, float, str]] = field(default_factory=list)


class VideoMindAgent:
    """The Chain-of-LoRA agent. Build it with ``from_pretrained`` (None = the embedded default model).

    ``open_video`` replaces ``videomind.video.open_video`` (called with the path, and ``num_threads=1`` when the
    fast mode decodes ahead); the reader it returns must offer ``sample``, ``plan``, ``sample_chunks`` and
    ``prefetch`` like ``videomind.video.VideoReader``.

    One agent may serve several threads: each ``run`` keeps its state in its own ``_Query`` and backend session,
    and model calls take turns on the model's lock, so every thread gets the result it would get alone.
    """

    def __init__(
        self, backend: Backend, options: AgentOptions | None = None, open_video: Callable | None = None
    ):
        self.backend = backend
        model = getattr(backend, "model", None)
        self.options = options or (default_options_for(model) if model is not None else AgentOptions())
        self._open_video = open_video

    @classmethod
    def from_pretrained(
        cls, path_or_hub_id: str | Path | None = None, *, device: str = "auto", dtype: str = "auto",
        options: AgentOptions | None = None, **load_kwargs,
    ) -> VideoMindAgent:  # fmt: skip
        """Load a VideoMind checkpoint and wrap it in an agent.

        Args:
            path_or_hub_id: a checkpoint folder, a hub id, or None for the embedded tiny model.
            device: ``"auto"``, ``"cpu"``, ``"cuda"``, ... (see :func:`videomind.model.load_model`).
            dtype: ``"auto"``, ``"float32"``, ``"bfloat16"``, ``"float16"``.
            options: how queries run (default: the official evaluation's settings, or the frame budgets a
                checkpoint stores for itself, as the embedded model does).
            **load_kwargs: passed to :func:`videomind.model.load_model` (``base_model``, ``roles``, ...).

        Returns:
            The agent, its roles those the checkpoint has.

        Raises:
            CheckpointError: the checkpoint or its base model cannot be loaded.
        """
        from videomind.model import load_model

        model, processor = load_model(path_or_hub_id, device=device, dtype=dtype, **load_kwargs)
        options = options or default_options_for(model)
        return cls(
            ModelBackend(model, processor, share_features=options.fast, batch_verifier=options.fast), options
        )

    # ------------------------------------------------------------------ public API
    def run(
        self, video: str | Path, question: str, options: Sequence[str] | None = None, *,
        subtitles: str | Path | None = None, duration: float | None = None, on_step: StepCallback | None = None,
        **overrides,
    ) -> AgentResult:  # fmt: skip
        """Answer a question about a video: plan (optional), ground, verify, answer from the chosen moment.

        Args:
            video: a video file FFmpeg can read.
            question: the question (or, with ``use_answerer=False``, a grounding query).
            options: answer options for a multiple-choice question (the answer is then a letter).
            subtitles: an SRT file, used when ``use_subtitles`` is on.
            duration: the video's duration in seconds, when known (else read from the file).
            on_step: called with each role's :class:`AgentStep` as it finishes (the demo streams them).
            **overrides: any :class:`AgentOptions` field for this query only (``use_verifier=False``, ...).

        Returns:
            The :class:`AgentResult`: ``answer``, ``moments`` (seconds, best first), ``trace`` (one step per role).

        Raises:
            UserInputError: an empty question, bad options or an unknown option name.
            VideoError: the video is missing or unreadable.
        """
        question = check_question(question)
        choices = check_options(options)
        opts = self._options(overrides)
        with ExitStack() as stack:
            query = self._start(video, question, choices, opts, duration, on_step, stack, subtitles)
            planning = opts.planner_enabled and self.backend.has_role(Role.PLANNER.value)
            grounding = opts.use_grounder and self.backend.has_role(Role.GROUNDER.value)
            if query.feeder is not None and query.feeder.threaded:
                # schedule the first clips now: the grounder's frames decode while the planner runs
                for budget in [opts.planner_budget] * planning + [opts.grounder_budget] * grounding:
                    self._clip(query, budget)
            moment_query = question
            if planning:
                moment_query = self.plan(query)
            if moment_query is not None and grounding:
                self.ground_step(query, moment_query)
                if (
                    opts.use_verifier
                    and self.backend.has_role(Role.VERIFIER.value)
                    and len(query.result.moments) > 1
                ):
                    self.verify_step(
                        query, question if opts.verifier_query == "question" else query.result.query
                    )
            if opts.use_answerer:
                self.answer(query, choices)
            return query.result

    def ground(self, video: str | Path, query: str, top_k: int = 5, **overrides) -> list[Moment]:
        """Moments matching a text query: the grounder's candidates, re-ranked by the verifier when it is loaded.

        The verifier scores the grounder's best ``max(top_k, verifier_top_k)`` candidates, so ``top_k`` above the
        official five still returns verified moments (fewer when the grounder proposes fewer).

        Args:
            video: a video file.
            query: what to find (``"the man opens the door"``).
            top_k: how many moments to return at most (at least 1).
            **overrides: :class:`AgentOptions` fields for this query.

        Returns:
            Up to ``top_k`` :class:`Moment` (start, end in seconds; score), best first.

        Raises:
            UserInputError: ``top_k`` below 1, an empty query or an unknown option name.
        """
        top_k = check_top_k(top_k)
        overrides.setdefault("use_answerer", False)
        overrides.setdefault("verifier_top_k", max(top_k, self._options({}).verifier_top_k))
        return self.run(video, query, **overrides).moments[:top_k]

    def verify(self, video: str | Path, query: str, moments: Sequence[Moment], **overrides) -> list[float]:
        """The verifier's judgement of given moments (no re-ranking).

        Args:
            video: a video file.
            query: the moment's description.
            moments: the moments to judge (seconds).
            **overrides: :class:`AgentOptions` fields for this query.

        Returns:
            One score in [0, 1] per moment, in the given order (the official score, about 0.27-0.73).
        """
        check_question(query)
        opts = self._options(overrides)
        with ExitStack() as stack:
            state = self._start(video, query, None, opts, None, None, stack, None)
            return self._score(state, [m.as_span() for m in moments], query)

    # ------------------------------------------------------------------ roles
    def plan(self, q: _Query) -> str | None:
        """Run the planner; return the grounding query to use, or None when the plan says "answer only"."""
        opts, question = q.options, q.result.question
        clip, view = self._clip(q, opts.planner_budget)
        text = prompts.planner_prompt(question)
        started = time.perf_counter()
        response = q.model.generate(Role.PLANNER.value, clip, text, "", opts.generation)
        plan = parse_plan(response)
        q.result.plan = plan.actions
        if not plan.valid:
            q.result.fallbacks.append(f"planner: {plan.error}; grounding the question itself")
        query: str | None = question
        if plan.valid and opts.auto_rephrasing and plan.query:
            query = plan.query
        if plan.valid and opts.auto_planning and plan.answer_only:
            query = None
        self._record(q, AgentStep(Role.PLANNER, text, response, plan.actions, view, time.perf_counter() - started,
                                  None if plan.valid else plan.error))  # fmt: skip
        return query

    def ground_step(self, q: _Query, query: str) -> None:
        opts, result = q.options, q.result
        result.query = prompts.clean_query(query)
        clip, view = self._clip(q, opts.grounder_budget)
        text = prompts.grounder_prompt(result.query)
        started = time.perf_counter()
        out = q.model.ground(clip, text, opts.generation)
        duration = result.duration
        finite = out.rows_norm is None or all(math.isfinite(x) for row in out.rows_norm for x in row)
        result.grounder_success = bool(out.rows_norm) and finite
        if result.grounder_success:
            result.candidates = [
                self._moment(s * duration, e * duration, c, duration, opts.round_unit)
                for s, e, c in out.rows_norm
            ]
            note = None
        else:
            with_verifier = opts.use_verifier and self.backend.has_role(Role.VERIFIER.value)
            fallback = spans.fallback_spans(duration, with_verifier)
            result.candidates = [self._moment(s, e, 0.0, duration, opts.round_unit) for s, e in fallback]
            problem = "produced no <|reg|>" if finite else f"gave non-finite moments ({NON_FINITE_HINT})"
            note = f"grounder {problem}; using the official fallback candidates"
            result.fallbacks.append(f"grounder: {note}")
        result.moments = list(result.candidates)
        parsed = [m.to_dict() for m in result.candidates[: opts.verifier_top_k]]
        self._record(
            q, AgentStep(Role.GROUNDER, text, out.response, parsed, view, time.perf_counter() - started, note)
        )

    def verify_step(self, q: _Query, query_text: str | None) -> None:
        opts, result = q.options, q.result
        top = result.moments[: opts.verifier_top_k]
        text_query = query_text or result.question
        started = time.perf_counter()
        scores = self._score(q, [m.as_span() for m in top], text_query, answer_next=opts.use_answerer)
        note = None
        if all(math.isfinite(s) for s in scores):
            # stable: ties keep the grounder's order
            order = sorted(range(len(top)), key=lambda i: -scores[i])
            result.verifier_scores = scores
            result.moments = [Moment(top[i].start, top[i].end, scores[i]) for i in order]
        else:  # NaN sorts arbitrarily: never re-rank on it
            order = list(range(len(top)))
            note = f"non-finite scores {scores} ({NON_FINITE_HINT}); kept the grounder's order"
            result.fallbacks.append(f"verifier: {note}")
            log.warning("verifier: %s", note)
        parsed = {"scores": [s if math.isfinite(s) else repr(s) for s in scores], "ranks": order}
        self._record(q, AgentStep(Role.VERIFIER, prompts.verifier_prompt(text_query), "", parsed, None,
                                  time.perf_counter() - started, note))  # fmt: skip

    def answer(self, q: _Query, choices: list[str] | None) -> None:
        opts, result = q.options, q.result
        span = result.moments[0].as_span() if result.moments else (0.0, result.duration)
        start, end = self._answer_window(q, span)
        clip, view = self._clip(q, opts.answerer_budget, start, end)
        style = opts.style if choices or opts.style == "demo" else "direct"
        cues = prompts.subtitle_prefix(q.subtitles, start, end) if q.subtitles else None
        text, prefix = prompts.answerer_prompt(result.question, choices, style, cues)
        started = time.perf_counter()
        response = q.model.generate(Role.ANSWERER.value, clip, text, prefix, opts.generation)
        result.response = response
        result.answer = _parse_answer(response, choices, prefix)
        if choices and result.answer is None:
            result.warnings.append(f"answerer: no option letter found in {response!r}")
        self._record(q, AgentStep(Role.ANSWERER, text + prefix, response, result.answer, view,
                                  time.perf_counter() - started))  # fmt: skip

    # ------------------------------------------------------------------ helpers
    def _opener(self) -> Callable:
        if self._open_video is not None:
            return self._open_video
        from videomind.video import open_video

        return open_video

    def _options(self, overrides: dict) -> AgentOptions:
        opts = self.options.updated(**overrides) if overrides else self.options
        # frames are sized for the model's patches (backends without a model, as test fakes, keep the budgets)
        return opts.for_frame_factor(getattr(self.backend, "frame_factor", None))

    def _start(self, video, question, choices, opts, duration, on_step, stack, subtitles) -> _Query:
        path = str(video)
        device = getattr(self.backend, "device", None)
        ahead = opts.fast and decode_ahead_enabled(opts.decode_ahead, device)
        threads = decode_threads(opts.decode_threads, device, ahead) if opts.fast else 0
        reader = stack.enter_context(self._opener()(path, **({"num_threads": threads} if threads else {})))
        total = float(duration) if duration is not None else float(reader.duration)
        result = AgentResult(question=question, duration=total, options=choices)
        q = _Query(path, opts, result, on_step, stack, self.backend.session(opts.fast))
        if opts.fast:
            q.feeder = stack.enter_context(FrameFeeder(reader, opts.stream_chunk_frames, threaded=ahead))
        if subtitles is not None and opts.use_subtitles:
            from videomind.video import load_subtitles

            q.subtitles = load_subtitles(subtitles)
        return q

    def _clip(self, q: _Query, budget: FrameBudget, start: float | None = None, end: float | None = None):
        """The role's clip and view: decoded now by a reader of its own (plain order), or planned and streamed
        by the query's feeder (fast)."""
        if q.feeder is None:
            # the plain official order: every role decodes on its own, with a reader closed as soon as its clip
            # is out (its cache and decoder are freed before the model runs)
            with self._opener()(q.video) as reader:
                clip = reader.sample(budget, start, end)
            key = (q.video, tuple(clip.indices), tuple(clip.frames.shape))
            return ClipInput(clip.frames, key, timestamps=clip.timestamps), clip.view
        plan = q.feeder.plan(budget, start, end)
        key = (q.video, plan.indices, (len(plan), 3, *plan.size))
        if key not in q.clips:
            q.clips[key] = ClipInput.streamed(
                q.feeder.stream(plan), key, len(plan), plan.size, plan.view.timestamps
            )
        return q.clips[key], plan.view

    def _answer_window(self, q: _Query, span: tuple[float, float]) -> tuple[float, float]:
        duration = q.result.duration
        return spans.expand_span(span, duration, q.options.answer_crop.min_length(duration))

    def _score(
        self, q: _Query, candidates: list[tuple[float, float]], text_query: str, answer_next: bool = False
    ) -> list[float]:
        """Verifier scores of ``candidates``; ``answer_next``: the answerer will run on one of them."""
        opts, duration = q.options, q.result.duration
        windows = [spans.zoom_window(span, duration, opts.verifier_min_span) for span in candidates]
        bounds = [bound for _, bound in windows]
        if not windows:
            return []
        if q.feeder is None:
            clips = [self._clip(q, opts.verifier_budget, *window)[0] for window, _ in windows]
        else:
            # The first candidate's frames, then every window's remaining frames in one decoding pass (they
            # overlap), then the other candidates from the cache; while the verifier runs, a threaded feeder also
            # decodes each candidate's answer clip (one of them is the answerer's).
            clips = [self._clip(q, opts.verifier_budget, *windows[0][0])[0]]
            q.feeder.prefetch(opts.verifier_budget, [window for window, _ in windows])
            clips += [self._clip(q, opts.verifier_budget, *window)[0] for window, _ in windows[1:]]
            if answer_next and prefetch_answer_clips(
                opts.prefetch_answer_clips, getattr(self.backend, "device", None)
            ):
                answer_windows = [self._answer_window(q, span) for span in candidates]
                q.feeder.prefetch(opts.answerer_budget, answer_windows, speculative=True)
        return q.model.verify(clips, prompts.verifier_prompt(text_query), bounds)

    @staticmethod
    def _moment(start: float, end: float, score: float, duration: float, unit: float | None) -> Moment:
        start, end = spans.clamp_span((start, end), duration)
        if unit:
            start, end = spans.round_to_unit(start, unit), spans.round_to_unit(end, unit)
        return Moment(start, end, float(score))

    def _record(self, q: _Query, step: AgentStep) -> None:
        q.result.trace.append(step)
        if q.on_step is not None:
            q.on_step(step)


def default_options_for(model) -> AgentOptions:
    """Options stored with a checkpoint (our embedded model keeps its frame budgets there), else the defaults."""
    stored = (getattr(model.config, "extra", None) or {}).get("agent_options")
    return options_from_dict(stored) if stored else AgentOptions()


def options_from_dict(stored: dict) -> AgentOptions:
    """``AgentOptions`` from their JSON form (frame budgets and the answer crop as plain dicts)."""
    values = {k: FrameBudget(**v) if k.endswith("_budget") else v for k, v in stored.items()}
    if isinstance(values.get("answer_crop"), dict):
        values["answer_crop"] = AnswerCrop(**values["answer_crop"])
    return AgentOptions().updated(**values)


def _parse_answer(response: str, choices: list[str] | None, prefix: str) -> str | None:
    if not choices:
        return response.strip()
    from videomind.metrics.qa import parse_option_letter

    return parse_option_letter(prefix + response, choices)
