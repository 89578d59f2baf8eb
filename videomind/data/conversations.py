"""Samples -> role conversations: what each role sees (prompt, video window, frame budget) and must answer.

A ``RoleExample`` is one training conversation before tokenisation: a single user turn holding the video and a
prompt, the assistant target, the video window and budget, and the targets beyond text (the grounder's spans, the
verifier's segment bounds). One builder per task (REFERENCE.md s.8.5, s.9.5):

- ``grounding``: GROUNDER_PROMPT(query) -> "The relevant moment happens in <|reg|>." + spans for the head;
- ``verifying``: VERIFIER_PROMPT(query) on the zoomed clip of a candidate -> "Yes." / "No." (positive iff the best
  IoU with a ground-truth span is >= 0.5, the official rule); candidates come with the sample (synthetic pairs,
  the official verifying sets) or from a grounder's prediction files (``verifying_samples_from_predictions``);
- ``planning``: PLANNER_PROMPT(question) -> the route's JSON plan;
- ``answering``: the question (with its options in the agent's ``mcq`` layout, or raw as the official wrapper)
  -> the answer, on the whole video or on a jittered crop around the evidence;
- ``captioning`` / ``timing`` / ``describing``: plain video-language tasks for pretraining a base model (not
  official); ``describing`` gives one short example per caption step (what is visible in a 1-2 s clip), the dense
  per-step supervision a from-scratch vision tower needs before it is asked about whole videos.
"""

from __future__ import annotations

import json
import math
import random
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

from videomind import prompts
from videomind.errors import DataError
from videomind.prompts import clean_query, clean_question
from videomind.records import Sample
from videomind.spans import expand_span, temporal_iou, zoom_window
from videomind.video.budget import (
    ANSWERER_BUDGET,
    GROUNDER_BUDGET,
    PLANNER_BUDGET,
    VERIFIER_BUDGET,
    FrameBudget,
)

TASKS = ("grounding", "verifying", "planning", "answering", "captioning", "timing", "describing")
ROLE_TASKS = {
    "grounder": "grounding",
    "verifier": "verifying",
    "planner": "planning",
    "answerer": "answering",
}
POSITIVE_IOU = 0.5  # official verifier-data rule: a candidate is "Yes" iff its best IoU reaches this
PREDICTION_TOP_K = 5  # the official verifier data uses a grounder's top-5 candidates
VERIFIER_MIN_LEN = 2.0  # seconds; the zoom-in widens shorter candidates first (REFERENCE.md s.4.2)
ANSWER_CROP_MIN_LEN = 16.0  # official AnsweringCropDataset: crops are widened to 16 s, then jittered
ANSWER_CROP_JITTER = 0.25  # each end moves by up to this fraction of the crop length
ANSWER_STYLES = ("mcq", "official")
CAPTION_PROMPT = "Describe what is visible in the video, second by second."
TIMING_PROMPT = "When does this happen in the video: '{}'? Answer with the start and end time in seconds."
TIMING_RESPONSE = "From {:g} to {:g} seconds."
DESCRIBE_PROMPT = "What is visible in this clip?"
DESCRIBE_MAX_WINDOW = 2.0  # seconds: a describing clip covers the start of one caption run
DESCRIBE_BUDGET = FrameBudget(fps=2.0, max_frames=4, min_pixels=4 * 28 * 28, max_pixels=16 * 28 * 28)

DEFAULT_BUDGETS: dict[str, FrameBudget] = {
    "grounding": GROUNDER_BUDGET,
    "verifying": VERIFIER_BUDGET,
    "planning": PLANNER_BUDGET,
    "answering": ANSWERER_BUDGET,
    "captioning": GROUNDER_BUDGET,
    "timing": GROUNDER_BUDGET,
    "describing": DESCRIBE_BUDGET,
}


@dataclass(frozen=True)
class RoleExample:
    """One training conversation before tokenisation (times in seconds).

    ``window`` is the part of the video the role sees (None = the whole video); ``jitter`` > 0 asks the dataset to
    move the window's ends by up to that fraction of its length each time the example is read. ``spans`` are the
    grounder's targets, ``segment`` the verifier's candidate bounds relative to the window (ss, se).
    ``letter_weight``: the weight of a multiple-choice answer's letter token in the language-model loss (the other
    supervised tokens weigh 1).
    """

    id: str
    task: str
    video: str
    prompt: str
    response: str
    budget: FrameBudget
    duration: float | None = None
    window: tuple[float, float] | None = None
    jitter: float = 0.0
    spans: tuple[tuple[float, float], ...] = ()
    segment: tuple[float, float] | None = None
    data_type: str = "grounding"
    source: str = ""
    letter_weight: float = 1.0

    def messages(self) -> list[dict[str, Any]]:
        """The conversation: one user turn [video, prompt] and the assistant target."""
        return prompts.video_message(self.prompt) + [{"role": "assistant", "content": self.response}]


@dataclass(frozen=True)
class ExampleSettings:
    """How samples become examples: per-task frame budgets and the answering options."""

    budgets: Mapping[str, FrameBudget] = field(default_factory=lambda: dict(DEFAULT_BUDGETS))
    answer_style: str = "mcq"
    answer_crop: bool = False
    answer_crop_min_len: float = (
        ANSWER_CROP_MIN_LEN  # seconds; match the inference crop of the target benchmark
    )
    answer_crop_jitter: float = ANSWER_CROP_JITTER
    answer_letter_weight: float = 1.0  # > 1: the answer letter of ``mcq`` replies weighs more in the loss

    def budget(self, task: str) -> FrameBudget:
        return self.budgets.get(task, DEFAULT_BUDGETS[task])


def _require(sample: Sample, value: Any, what: str) -> Any:
    if value is None or value == () or value == "":
        raise DataError(f"sample {sample.id} ({sample.source}) has no {what}")
    return value


def _base(
    sample: Sample, task: str, settings: ExampleSettings, prompt: str, response: str, **kw
) -> RoleExample:
    return RoleExample(
        id=sample.id, task=task, video=_require(sample, sample.video, "video"), prompt=prompt,
        response=response, budget=settings.budget(task), duration=sample.duration,
        data_type=sample.data_type, source=sample.source, **kw,
    )  # fmt: skip


def grounding_example(sample: Sample, settings: ExampleSettings = ExampleSettings()) -> RoleExample:
    """GROUNDER_PROMPT with the cleaned query -> the ``<|reg|>`` answer; the spans feed the head's losses."""
    query = clean_query(_require(sample, sample.query, "query"))
    _require(sample, sample.spans, "ground-truth span")
    return _base(sample, "grounding", settings, prompts.grounder_prompt(query), prompts.GROUNDER_RESPONSE,
                 spans=sample.spans)  # fmt: skip


def verifier_label(candidate: Sequence[float], spans: Sequence[Sequence[float]]) -> bool:
    """The official rule: positive iff the best IoU with any ground-truth span is >= 0.5 (NaN counts as 0)."""
    if not spans:
        return False
    ious = temporal_iou([list(candidate)], [list(s) for s in spans])[0].tolist()
    return max((v if math.isfinite(v) else 0.0) for v in ious) >= POSITIVE_IOU


def verifying_example(sample: Sample, settings: ExampleSettings = ExampleSettings()) -> RoleExample:
    """VERIFIER_PROMPT on the zoomed clip of ``extra["candidate"]`` -> "Yes." / "No.".

    The label follows the IoU rule when ground truth is present, else the sample's ``extra["label"]``.
    """
    candidate = sample.extra.get("candidate")
    if candidate is None:
        raise DataError(f"sample {sample.id} has no extra['candidate']: it is not a verifying sample")
    duration = _require(sample, sample.duration, "duration (needed for the zoom-in window)")
    if sample.spans:
        positive = verifier_label(candidate, sample.spans)
    else:
        positive = str(sample.extra.get("label", "")).lower().startswith("yes")
    window, segment = zoom_window(candidate, duration, VERIFIER_MIN_LEN)
    query = _require(sample, sample.query or sample.question, "query")  # used as given, as officially
    response = prompts.VERIFIER_YES if positive else prompts.VERIFIER_NO
    return _base(sample, "verifying", settings, prompts.verifier_prompt(query), response, window=window,
                 segment=segment, spans=sample.spans)  # fmt: skip


def planning_example(sample: Sample, settings: ExampleSettings = ExampleSettings()) -> RoleExample:
    """PLANNER_PROMPT with the question -> the JSON plan of the sample's route (``extra["route"]``)."""
    route = sample.extra.get("route")
    if route is None:
        raise DataError(f"sample {sample.id} has no extra['route']: it is not a planning sample")
    question = clean_question(_require(sample, sample.question, "question"))
    query = sample.extra.get("query")
    target = prompts.planner_target(int(route), question, query)
    return _base(sample, "planning", settings, prompts.planner_prompt(question), target)


def answering_example(sample: Sample, settings: ExampleSettings = ExampleSettings()) -> RoleExample:
    """The question -> the answer. ``mcq`` style: the agent's options block -> "Best Option: (B) Text";
    ``official`` style: the raw question -> the answer text. With ``answer_crop`` the clip is the evidence span
    widened to 16 s and jittered by a quarter of its length (the official crop wrapper)."""
    question = clean_question(_require(sample, sample.question, "question"))
    if settings.answer_style not in ANSWER_STYLES:
        raise DataError(f"unknown answer_style {settings.answer_style!r}; use one of {ANSWER_STYLES}")
    text = sample.answer_text or sample.answer
    if settings.answer_style == "mcq" and sample.options:
        letter = sample.answer or _letter_of(sample)
        prompt, prefix = prompts.answerer_prompt(question, sample.options, "mcq")
        option = sample.options[ord(letter) - ord("A")]
        response = f"{prefix}{letter}) {option[:1].upper()}{option[1:]}"  # as the options block writes it
    else:
        prompt, response = question, _require(sample, text, "answer")
    window, jitter = None, 0.0
    if settings.answer_crop and sample.spans and sample.duration:
        window = expand_span(_cover(sample.spans), sample.duration, settings.answer_crop_min_len)
        jitter = settings.answer_crop_jitter
    weight = settings.answer_letter_weight if settings.answer_style == "mcq" and sample.options else 1.0
    return _base(sample, "answering", settings, prompt, response, window=window, jitter=jitter,
                 letter_weight=weight)  # fmt: skip


def _letter_of(sample: Sample) -> str:
    if sample.answer_text in (sample.options or ()):
        return prompts.option_letter(sample.options.index(sample.answer_text))
    raise DataError(f"sample {sample.id} has options but neither an answer letter nor a matching answer text")


def _cover(spans: Sequence[Sequence[float]]) -> tuple[float, float]:
    return (min(s for s, _ in spans), max(e for _, e in spans))


def caption_runs(sample: Sample) -> list[list[Any]]:
    """``extra["captions"]`` (start, end, text per step) with consecutive steps of the same text merged."""
    captions = sample.extra.get("captions")
    if not captions:
        raise DataError(f"sample {sample.id} has no extra['captions']: it is not a caption sample")
    lines: list[list[Any]] = []
    for cap in captions:
        if lines and lines[-1][2] == cap["text"] and math.isclose(lines[-1][1], cap["start"]):
            lines[-1][1] = cap["end"]
        else:
            lines.append([cap["start"], cap["end"], cap["text"]])
    return lines


def captioning_example(sample: Sample, settings: ExampleSettings = ExampleSettings()) -> RoleExample:
    """Dense captions (``extra["captions"]``: start, end, text) -> lines "0-2 s: red circle, blue square";
    consecutive steps with the same text are merged."""
    lines = caption_runs(sample)
    response = "\n".join(f"{s:g}-{e:g} s: {text}" for s, e, text in lines)
    return _base(sample, "captioning", settings, CAPTION_PROMPT, response)


def timing_example(sample: Sample, settings: ExampleSettings = ExampleSettings()) -> RoleExample:
    """A grounding sample answered in text: "When does this happen ...?" -> "From 5.5 to 9 seconds." (first
    span). Teaches a base model time before any grounding head exists."""
    query = clean_query(_require(sample, sample.query, "query"))
    start, end = _require(sample, sample.spans, "ground-truth span")[0]
    return _base(sample, "timing", settings, TIMING_PROMPT.format(query), TIMING_RESPONSE.format(start, end))


def describing_examples(sample: Sample, settings: ExampleSettings = ExampleSettings()) -> list[RoleExample]:
    """One example per caption run: the first (at most 2) seconds of the run -> its text ("red circle, ...")."""
    out = []
    for i, (start, end, text) in enumerate(caption_runs(sample)):
        window = (float(start), float(min(end, start + DESCRIBE_MAX_WINDOW)))
        example = _base(sample, "describing", settings, DESCRIBE_PROMPT, text, window=window)
        out.append(replace(example, id=f"{example.id}#{i}"))
    return out


BUILDERS = {
    "grounding": grounding_example,
    "verifying": verifying_example,
    "planning": planning_example,
    "answering": answering_example,
    "captioning": captioning_example,
    "timing": timing_example,
    "describing": describing_examples,
}


def build_examples(
    samples: Iterable[Sample], task: str, settings: ExampleSettings = ExampleSettings()
) -> list[RoleExample]:
    """Examples of ``task`` for every sample (a sample that does not fit the task raises ``DataError``)."""
    if task not in BUILDERS:
        raise DataError(f"unknown task {task!r}; choose one of {', '.join(TASKS)}")
    builder = BUILDERS[task]
    out: list[RoleExample] = []
    for sample in samples:
        built = builder(sample, settings)
        out.extend(built if isinstance(built, list) else [built])
    return out


def jittered_window(example: RoleExample, duration: float, rng: random.Random) -> tuple[float, float] | None:
    """The window to read this time: ``example.window`` with each end moved by up to ``jitter`` of its length."""
    if example.window is None or example.jitter <= 0:
        return example.window
    start, end = example.window
    offset = (end - start) * example.jitter
    s = rng.uniform(start - offset, start + offset)
    e = rng.uniform(end - offset, end + offset)
    return expand_span((s, e), duration)


# ---------------------------------------------------------------------------------------------- verifier data
def verifying_samples_from_predictions(
    path: str | Path, top_k: int = PREDICTION_TOP_K, root: str | Path | None = None
) -> list[Sample]:
    """Verifier samples from a grounder's predictions on training data (one per top-``top_k`` candidate).

    ``path`` is a JSON / JSONL file or a folder of them, holding either our prediction lines (``videomind eval
    predict``: ``sample`` with the ground truth, ``pred_ori`` or ``pred``) or the official format (``video_path``,
    ``duration``, ``query``, ``span``, ``pred``). Labels follow the IoU rule (``verifier_label``); as officially,
    positives and negatives are not rebalanced. Relative official video paths are resolved under ``root``.
    """
    out: list[Sample] = []
    for file, n, record in _prediction_records(Path(path)):
        try:
            truth, preds = _truth_and_candidates(record, root)
        except (KeyError, TypeError, ValueError) as exc:
            raise DataError(
                f"{file}: record {n} is neither a prediction line nor an official record ({exc})"
            ) from exc
        for rank, candidate in enumerate(preds[:top_k]):
            candidate = [float(candidate[0]), float(candidate[1])]
            out.append(replace(
                truth, id=f"{truth.id}/{rank}", data_type="multimodal", task=("verifying",),
                extra={**truth.extra, "candidate": candidate, "rank": rank,
                       "label": "Yes" if verifier_label(candidate, truth.spans) else "No"},
            ))  # fmt: skip
    return out


def _prediction_records(path: Path) -> Iterable[tuple[Path, int, dict[str, Any]]]:
    if not path.exists():
        raise DataError(
            f"grounder predictions {path} not found: run `videomind eval predict` on the training split"
        )
    files = sorted(p for p in path.iterdir() if p.suffix in (".json", ".jsonl")) if path.is_dir() else [path]
    for file in files:
        text = file.read_text(encoding="utf-8")
        if file.suffix == ".json":
            records = json.loads(text)
            records = records if isinstance(records, list) else [records]
        else:
            records = [json.loads(line) for line in text.splitlines() if line.strip()]
        for n, record in enumerate(records):
            yield file, n, record


def _truth_and_candidates(record: dict[str, Any], root: str | Path | None) -> tuple[Sample, list]:
    if "sample" in record:  # our prediction line
        sample = Sample.from_dict(record["sample"])
        preds = record.get("pred_ori") or record.get("pred") or []
        return sample, preds
    video = record["video_path"]
    if root is not None and not Path(video).is_absolute():
        video = str(Path(root) / video.removeprefix("data/"))
    sample = Sample(
        id=str(record.get("id", f"{Path(video).stem}:{record['query']}")), source="predictions", video=video,
        duration=float(record["duration"]), query=record["query"], spans=record["span"],
    )  # fmt: skip
    return sample, record["pred"]
