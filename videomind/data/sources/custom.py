"""``custom``: your own grounding / question-answering data as JSON lines (schema in docs/DATA.md).

``root`` is either the folder holding ``train.jsonl`` / ``valid.jsonl`` / ``test.jsonl`` or a data root with a
``custom/`` sub-folder. One object per line:

- ``video`` (required): path of the video, relative to the jsonl's folder or absolute (``video_path`` also accepted)
- ``duration``: seconds (optional; read from the video when absent — then spans are not checked against it)
- ``query``: a grounding query; ``spans``: [[start, end], ...] in seconds (``span`` also accepted)
- ``question`` and ``options`` (2-26 texts); ``answer``: the right option's letter ("B") or text, or free text when
  there are no options (``ans`` also accepted for the letter)
- ``id``, ``task`` (text or list), ``subtitle`` (.srt path), ``data_type`` ("grounding" / "multimodal"), ``extra``
  (an object kept as is)

At least one of ``query`` and ``question`` is required; spans must satisfy 0 <= start <= end <= duration.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from videomind.data.base import DataSource
from videomind.data.sources._common import SPLIT_ALIASES, Record, unique_ids
from videomind.data.sources._io import read_jsonl
from videomind.data.sources._questions import letter_index, option_letter
from videomind.errors import DataError
from videomind.records import Sample

SPAN_TOLERANCE = 1e-3  # seconds a span end may exceed the duration (rounding)
MIN_OPTIONS, MAX_OPTIONS = 2, 26


class CustomSource(DataSource):
    name = "custom"
    task = "grounded_qa"
    roles = ("planner", "grounder", "verifier", "answerer")
    splits = ("train", "valid", "test")

    @property
    def path(self) -> Path:
        if any((self.root / f"{s}.jsonl").is_file() for s in self.splits):
            return self.root
        return self.root / self.name

    def present_splits(self) -> tuple[str, ...]:
        """Each split file is optional: the ones present (all, so that the error names them, when none is)."""
        present = tuple(s for s in self.splits if (self.path / f"{s}.jsonl").is_file())
        return present or self.splits

    def load(self, split: str) -> list[Sample]:
        return unique_ids(super().load(SPLIT_ALIASES.get(split, split)))

    def _load(self, split: str) -> list[Sample]:
        path = self._file(split)
        return [parse_record(Record(raw, path, f"line {n}"), split, n) for n, raw in read_jsonl(path)]

    def load_checked(self, split: str) -> tuple[list[Sample], list[str]]:
        """Every well-formed line as a sample, and one problem per malformed line (each line stands alone)."""
        split = SPLIT_ALIASES.get(split, split)
        path = self._file(split)
        samples, problems = [], []
        with path.open(encoding="utf-8", errors="replace") as lines:
            for n, line in enumerate(lines, 1):
                if not line.strip():
                    continue
                try:
                    samples.append(
                        parse_record(Record(_json_line(line, path, n), path, f"line {n}"), split, n)
                    )
                except DataError as exc:
                    problems.append(str(exc))
        return unique_ids(samples), problems

    def _file(self, split: str) -> Path:
        if split not in self.splits:
            raise DataError(f"custom has no split {split!r}; available: {', '.join(self.splits)}")
        path = self.path / f"{split}.jsonl"
        if not path.is_file():
            raise DataError(
                f"custom: {path} not found; write one JSON object per line (schema: docs/DATA.md)"
            )
        return path


def _json_line(line: str, path: Path, n: int) -> Any:
    try:
        return json.loads(line)
    except json.JSONDecodeError as exc:
        raise DataError(f"{path}: line {n}: invalid JSON ({exc.msg}); fix or delete the line") from None


def _video(rec: Record) -> str:
    key = "video" if "video" in rec else "video_path"
    video = Path(rec.text(key))
    return str(video if video.is_absolute() else rec.file.parent / video)


def _spans(rec: Record, duration: float | None) -> list[tuple[float, float]]:
    key = "spans" if "spans" in rec else "span" if "span" in rec else None
    spans = rec.spans(key) if key else []
    for s, e in spans:
        if s < 0 or e < s or (duration is not None and e > duration + SPAN_TOLERANCE):
            raise rec.error(key, f"span [{s}, {e}] must satisfy 0 <= start <= end <= duration ({duration})")
    return [(s, min(e, duration)) if duration is not None else (s, e) for s, e in spans]


def _answer(rec: Record, options: list[str] | None) -> tuple[str | None, str | None]:
    """(letter, text) of the answer; free text has no letter."""
    key = "answer" if "answer" in rec else "ans" if "ans" in rec else None
    if key is None:
        return None, None
    value = rec.text(key)
    if not options:
        return None, value
    if value in options:
        return option_letter(options.index(value)), value
    with rec.field(key):
        idx = letter_index(value, len(options))
    return option_letter(idx), options[idx]


def _options(rec: Record) -> list[str] | None:
    if rec.get("options") is None:
        return None
    options = rec.texts("options")
    if not MIN_OPTIONS <= len(options) <= MAX_OPTIONS:
        raise rec.error("options", f"expected {MIN_OPTIONS}-{MAX_OPTIONS} options, got {len(options)}")
    return options


def parse_record(rec: Record, split: str, n: int) -> Sample:
    """One custom record as a ``Sample`` (``DataError`` naming file, line and field when it is malformed)."""
    duration = rec.number("duration") if rec.get("duration") is not None else None
    if duration is not None and duration <= 0:
        raise rec.error("duration", f"must be positive, got {duration}")
    query = rec.text("query") if rec.get("query") is not None else None
    question = rec.text("question") if rec.get("question") is not None else None
    if query is None and question is None:
        raise rec.error("query", "give a grounding 'query', a 'question', or both")
    options = _options(rec)
    letter, text = _answer(rec, options)
    spans = _spans(rec, duration)
    task = rec.get("task") or ()
    extra: Any = rec.get("extra") or {}
    if not isinstance(extra, dict):
        raise rec.error("extra", f"expected an object, got {type(extra).__name__}")
    return Sample(
        id=f"custom/{split}/{rec.get('id', n)}",
        source="custom",
        video=_video(rec),
        duration=duration,
        query=query,
        spans=tuple(spans),
        question=question,
        options=tuple(options) if options else None,
        answer=letter,
        answer_text=text,
        task=(task,) if isinstance(task, str) else tuple(task),
        data_type=str(rec.get("data_type") or ("grounding" if question is None else "multimodal")),
        subtitle=str(rec.file.parent / rec.text("subtitle")) if rec.get("subtitle") else None,
        split=split,
        extra=dict(extra),
    )
