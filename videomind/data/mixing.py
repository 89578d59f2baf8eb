"""Mixed training sets: sources -> filtered samples -> role examples -> a torch Dataset; the data-type sampler.

- ``SourceSpec`` names one dataset of a mix (registry name, root, split, task, repeat factor, optional grounder
  predictions for verifier data);
- ``SampleFilter`` drops samples by video length and query / question word count (the official
  ``min_video_len`` / ``max_video_len`` / ``min_num_words`` / ``max_num_words``; -1 = off);
- ``RoleDataset`` reads each example's frames (``videomind.video``), encodes it (``collator.encode_example``) and,
  when a sample cannot be read, retries with a random sample of the same data type (``max_retries``, official);
- ``GroupSampler`` orders indices so that every global micro-batch holds one data type (REFERENCE.md s.9.3).
"""

from __future__ import annotations

import logging
import math
import random
from collections import Counter, OrderedDict
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from typing import Any

import torch
from torch.utils.data import Dataset, Sampler

from videomind.data.collator import encode_example
from videomind.data.conversations import (
    ROLE_TASKS,
    ExampleSettings,
    RoleExample,
    build_examples,
    jittered_window,
    verifying_samples_from_predictions,
)
from videomind.errors import DataError, VideoMindError
from videomind.records import Sample

log = logging.getLogger(__name__)

OFF = -1
SYNTHETIC_TASKS = {"grounding": "grounding", "verifying": "verifying", "planning": "planning", "mcq": "answering",
                   "qa": "answering", "caption": "captioning"}  # fmt: skip
SOURCE_TASKS = {"grounding": "grounding", "verifying": "verifying", "planning": "planning",
                "grounded_qa": "answering", "qa": "answering"}  # fmt: skip
BYTES_PER_MB = 2**20


@dataclass(frozen=True)
class SourceSpec:
    """One dataset of a training mix.

    ``task`` picks the example builder (``videomind.data.conversations.TASKS``; default: the role's task, or what the source
    holds). ``kind`` selects synthetic sample kinds (e.g. ``"mcq,qa"``). ``repeat`` scales the source: 2.0 uses
    every sample twice, 0.5 a seeded half. ``predictions`` turns the source into verifier data: the grounder's
    prediction files on this split, labelled by the IoU rule; ``max_negative_ratio`` then keeps a seeded subset of
    the "No" candidates, at most that many per "Yes" (the official loader's cap of 3, which it left commented out:
    without it a verifier on a grounder's top 5 sees about two "No" per "Yes").
    """

    name: str
    root: str = "data"
    split: str = "train"
    task: str | None = None
    kind: str | None = None
    repeat: float = 1.0
    predictions: str | None = None
    max_negative_ratio: float | None = None


@dataclass(frozen=True)
class SampleFilter:
    min_video_len: float = OFF
    max_video_len: float = OFF
    min_num_words: int = OFF
    max_num_words: int = OFF

    def keep(self, sample: Sample) -> bool:
        d = sample.duration
        if d is not None and (
            (self.min_video_len >= 0 and d < self.min_video_len)
            or (self.max_video_len >= 0 and d > self.max_video_len)
        ):
            return False
        text = sample.query or sample.question
        if text is None:
            return True
        words = len(text.split())
        return not (
            (self.min_num_words >= 0 and words < self.min_num_words)
            or (self.max_num_words >= 0 and words > self.max_num_words)
        )


def load_samples(spec: SourceSpec, seed: int = 0) -> list[Sample]:
    """The samples of a spec (registry source, or verifier samples built from its grounder predictions)."""
    if spec.predictions:
        samples = verifying_samples_from_predictions(spec.predictions, root=spec.root)
        if spec.max_negative_ratio is not None:
            samples = cap_negatives(samples, spec.max_negative_ratio, seed)
        return samples
    if spec.max_negative_ratio is not None:
        raise DataError(
            f"{spec.name}: max_negative_ratio applies to grounder predictions (set predictions too)"
        )
    from videomind.data.registry import get_source

    source = get_source(spec.name, spec.root)
    if spec.kind is not None:
        return source.load(spec.split, kind=spec.kind)  # the synthetic source's kind selector
    return source.load(spec.split)


def task_of(spec: SourceSpec, role: str) -> str:
    """The example builder for a spec: explicit ``task``, else the role's task, else what the source holds."""
    if spec.task:
        return spec.task
    if spec.predictions:
        return "verifying"
    if role in ROLE_TASKS:
        return ROLE_TASKS[role]
    if spec.kind in SYNTHETIC_TASKS:
        return SYNTHETIC_TASKS[spec.kind]
    from videomind.data.registry import get_source_class

    kind = get_source_class(spec.name).task
    if kind not in SOURCE_TASKS:
        raise DataError(
            f"say which task to train on {spec.name!r} (task: grounding, answering, captioning, ...)"
        )
    return SOURCE_TASKS[kind]


def cap_negatives(samples: list[Sample], ratio: float, seed: int) -> list[Sample]:
    """Keep every "Yes" verifier sample and a seeded random subset of at most ``ratio`` "No" samples per "Yes",
    in the original order."""
    if ratio < 0:
        raise DataError(f"max_negative_ratio must be >= 0, got {ratio}")
    negatives = [i for i, s in enumerate(samples) if s.extra.get("label") != "Yes"]
    positives = len(samples) - len(negatives)
    keep_count = min(len(negatives), math.floor(ratio * positives))
    dropped = set(negatives) - set(random.Random(seed).sample(negatives, keep_count))
    return [s for i, s in enumerate(samples) if i not in dropped]


def repeat_samples(samples: list[Sample], factor: float, seed: int) -> list[Sample]:
    """``floor(factor)`` full copies plus a seeded random fraction of the samples."""
    if factor < 0:
        raise DataError(f"repeat must be >= 0, got {factor}")
    whole, part = int(factor), factor - int(factor)
    extra = random.Random(seed).sample(samples, round(part * len(samples))) if part else []
    return samples * whole + extra


def build_mix(
    specs: Sequence[SourceSpec], role: str, settings: ExampleSettings, filt: SampleFilter, seed: int = 0
) -> list[RoleExample]:
    """All examples of a mix, in spec order (the sampler shuffles)."""
    examples: list[RoleExample] = []
    for i, spec in enumerate(specs):
        samples = load_samples(spec, seed + i)
        kept = [s for s in samples if filt.keep(s)]
        kept = repeat_samples(kept, spec.repeat, seed + i)
        built = build_examples(kept, task_of(spec, role), settings)
        log.info("%s/%s: %d samples, %d kept, %d examples", spec.name, spec.split, len(samples),
                 len(kept), len(built))  # fmt: skip
        examples.extend(built)
    if not examples:
        raise DataError("the training mix is empty: check data.datasets and the filters")
    return examples


class ClipCache:
    """Least-recently-used store of sampled frames, keyed by (video, window, budget), bounded in bytes."""

    def __init__(self, max_bytes: int) -> None:
        self.max_bytes = max_bytes
        self._items: OrderedDict[Any, torch.Tensor] = OrderedDict()
        self._bytes = 0

    def get(self, key: Any) -> torch.Tensor | None:
        if key in self._items:
            self._items.move_to_end(key)
            return self._items[key]
        return None

    def put(self, key: Any, frames: torch.Tensor) -> None:
        size = frames.numel() * frames.element_size()
        if size > self.max_bytes:
            return
        self._items[key] = frames
        self._bytes += size
        while self._bytes > self.max_bytes:
            _, old = self._items.popitem(last=False)
            self._bytes -= old.numel() * old.element_size()


class RoleDataset(Dataset):
    """Examples read and encoded on access. ``processor`` tokenises (with its conversation template); frames come from
    ``videomind.video.open_video`` (``cache_mb`` > 0 keeps sampled clips in memory, per worker)."""

    def __init__(self, examples: Sequence[RoleExample], processor, max_retries: int = 10,
                 seed: int = 0, cache_mb: float = 0.0, video_backend: str = "auto") -> None:  # fmt: skip
        self.examples = list(examples)
        self.processor = processor
        self.max_retries = max_retries
        self.seed = seed
        self.video_backend = video_backend
        self.cache = ClipCache(int(cache_mb * BYTES_PER_MB)) if cache_mb > 0 else None
        self._times: dict[
            Any, tuple[float, ...]
        ] = {}  # frame seconds of the cached clips (a few floats each)
        self._durations: dict[
            str, float
        ] = {}  # read from the files of examples without an annotated duration
        self.skipped: Counter[str] = Counter()  # unreadable examples replaced by another, by error kind
        self._by_type: dict[str, list[int]] = {}
        for i, ex in enumerate(self.examples):
            self._by_type.setdefault(ex.data_type, []).append(i)

    def __len__(self) -> int:
        return len(self.examples)

    @property
    def data_types(self) -> list[str]:
        return [ex.data_type for ex in self.examples]

    def __getitem__(self, key: int | tuple[int, int]) -> dict[str, Any]:
        """``key`` is an index or ``(index, epoch)`` (what ``GroupSampler`` yields): the random draws of an item
        (positive clip, crop jitter, retries) depend only on seed, index and epoch, so a resumed run repeats them."""
        index, epoch = key if isinstance(key, tuple) else (key, 0)
        rng = random.Random(f"{self.seed}:{index}:{epoch}")
        current = index
        for attempt in range(self.max_retries + 1):
            try:
                return self.encode(self.examples[current], rng)
            except (VideoMindError, OSError, ValueError) as exc:
                if attempt == self.max_retries:
                    raise DataError(
                        f"example {self.examples[index].id}: {exc} (after {attempt} retries)"
                    ) from exc
                self._note_skip(self.examples[current].id, exc)
                current = rng.choice(self._by_type[self.examples[index].data_type])
        raise AssertionError("unreachable")

    def _note_skip(self, example_id: str, exc: Exception) -> None:
        """Count an unreadable example; only the first one per process is a warning (the rest are debug lines,
        summarised by ``skip_summary`` at the end of the run)."""
        self.skipped[type(exc).__name__] += 1
        first = sum(self.skipped.values()) == 1
        log.log(logging.WARNING if first else logging.DEBUG,
                "skipping example %s (%s); trying another of the same data type%s", example_id, exc,
                "; further skips are counted and summarised at the end" if first else "")  # fmt: skip

    def skip_summary(self) -> str | None:
        """One line on the examples this process skipped (None when none was)."""
        if not self.skipped:
            return None
        kinds = ", ".join(f"{n} {kind}" for kind, n in self.skipped.most_common())
        return f"{sum(self.skipped.values())} unreadable examples were skipped and replaced ({kinds})"

    def encode(self, example: RoleExample, rng: random.Random) -> dict[str, Any]:
        frames, duration, times = self.frames(example, rng)
        return encode_example(example, frames, self.processor, duration, rng, frame_times=times)

    def frames(
        self, example: RoleExample, rng: random.Random
    ) -> tuple[torch.Tensor, float, tuple[float, ...]]:
        """Sampled frames, the duration and the frames' seconds; a cached clip is returned without opening the
        video. Frame sides are multiples of the processor's factor (28, or 32 for Qwen3-VL)."""
        from videomind.video.backends import open_video

        budget = example.budget.with_(factor=self.processor.vision.factor)
        duration = example.duration or self._durations.get(example.video)
        if duration is not None and example.jitter <= 0:
            key = (example.video, example.window, budget)
            cached = self.cache.get(key) if self.cache else None
            if cached is not None:
                return cached, duration, self._times[key]
        with open_video(example.video, backend=self.video_backend) as reader:
            duration = duration or self._durations.setdefault(example.video, reader.duration)
            window = jittered_window(example, duration, rng)
            start, end = window if window is not None else (None, None)
            clip = reader.sample(budget, start, end)
        if self.cache is not None:
            self.cache.put((example.video, window, budget), clip.frames)
            self._times[(example.video, window, budget)] = clip.timestamps
        return clip.frames, duration, clip.timestamps


class GroupSampler(Sampler[tuple[int, int]]):
    """Indices grouped by data type: shuffled within each type (generator seeded ``seed + epoch``), cut into chunks
    of ``group_size`` (per-device batch x world size; incomplete chunks dropped), chunks shuffled, flattened.
    Every global micro-batch then holds one data type. Yields ``(index, epoch)`` keys for ``RoleDataset``; ``len``
    is the number of keys actually yielded (the official ``__len__`` over-counts)."""

    def __init__(self, data_types: Sequence[str], group_size: int, seed: int = 0) -> None:
        if group_size < 1:
            raise ValueError(f"group_size must be >= 1, got {group_size}")
        self.groups: dict[str, list[int]] = {}
        for i, kind in enumerate(data_types):
            self.groups.setdefault(kind, []).append(i)
        self.group_size = group_size
        self.seed = seed
        self.epoch = 0

    def set_epoch(self, epoch: int) -> None:
        self.epoch = epoch

    def __len__(self) -> int:
        return sum(len(v) // self.group_size * self.group_size for v in self.groups.values())

    def __iter__(self) -> Iterator[tuple[int, int]]:
        generator = torch.Generator().manual_seed(self.seed + self.epoch)
        chunks: list[list[int]] = []
        for indices in self.groups.values():
            order = [indices[i] for i in torch.randperm(len(indices), generator=generator).tolist()]
            full = len(order) // self.group_size * self.group_size
            chunks.extend(order[i : i + self.group_size] for i in range(0, full, self.group_size))
        for c in torch.randperm(len(chunks), generator=generator).tolist():
            yield from ((i, self.epoch) for i in chunks[c])
