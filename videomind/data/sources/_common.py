"""Shared pieces of the dataset sources: located records, the official-layout base class and small pure helpers
(the question helpers, option letters and "moment before / after" queries, are in ``_questions``).

``Record`` wraps one raw annotation with the file and record it came from, so a missing or malformed field raises
``DataError`` naming file, record and field. ``OfficialSource`` knows the official processed layout
(``<root>/<folder>/<annotation files>``, videos in ``<folder>/videos_3fps_480_noaudio/``, ``durations.json``) and
turns parsed fields into ``Sample`` records with stable ids and spans clamped into ``[0, duration]``.
"""

from __future__ import annotations

import logging
import math
import os
from collections.abc import Iterator, Mapping, Sequence
from contextlib import contextmanager
from dataclasses import replace
from pathlib import Path
from typing import Any, ClassVar

from videomind.data.base import DataSource
from videomind.data.sources._io import read_json, read_jsonl
from videomind.errors import DataError
from videomind.prompts import clean_query
from videomind.records import Sample

log = logging.getLogger(__name__)

COMPRESSED_VIDEO_DIR = "videos_3fps_480_noaudio"
DURATIONS_FILE = "durations.json"
# Accepted spellings of the canonical split names (the official loaders mix "val" and "valid", REFERENCE s.13.18).
SPLIT_ALIASES = {"val": "valid", "validation": "valid", "dev": "valid"}
_FIELD_ERRORS = (KeyError, IndexError, TypeError, ValueError, ZeroDivisionError, AttributeError)


def canonical_split(split: str) -> str:
    return SPLIT_ALIASES.get(split, split)


def to_span(value: Any) -> tuple[float, float]:
    """A ``[start, end]`` pair of finite numbers; ``ValueError`` / ``TypeError`` otherwise."""
    if isinstance(value, (str, bytes)) or len(value) != 2:
        raise ValueError(f"expected [start, end], got {value!r}")
    s, e = float(value[0]), float(value[1])
    if not (math.isfinite(s) and math.isfinite(e)):
        raise ValueError(f"span {value!r} is not finite")
    return s, e


def clamp_spans(
    spans: Sequence[tuple[float, float]], duration: float | None
) -> tuple[list[tuple[float, float]], bool]:
    """Order each span and clamp it into ``[0, duration]``; also say whether anything changed."""
    out = []
    for s, e in spans:
        s, e = min(s, e), max(s, e)
        if duration is not None:
            s, e = min(max(s, 0.0), duration), min(max(e, 0.0), duration)
        out.append((s, e))
    return out, out != [tuple(x) for x in spans]


def span_iou(a: Sequence[float], b: Sequence[float]) -> float:
    """IoU of two spans; 0 for two empty spans (the official verifying data replaces NaN by 0)."""
    inter = max(0.0, min(a[1], b[1]) - max(a[0], b[0]))
    union = (a[1] - a[0]) + (b[1] - b[0]) - inter
    return inter / union if union > 0 else 0.0


class Record:
    """One raw annotation record and where it came from (``where`` is "line 3", "record 5", "key 'abc'")."""

    __slots__ = ("data", "file", "where")

    def __init__(self, data: Any, file: Path, where: str) -> None:
        if not isinstance(data, Mapping):
            raise DataError(f"{file}: {where}: expected an object, got {type(data).__name__}")
        self.data, self.file, self.where = data, file, where

    def error(self, field: str, problem: str) -> DataError:
        return DataError(f"{self.file}: {self.where}: field {field!r}: {problem}")

    def __contains__(self, key: str) -> bool:
        return key in self.data

    def __getitem__(self, key: str) -> Any:
        if key not in self.data:
            raise self.error(key, "missing")
        return self.data[key]

    def get(self, key: str, default: Any = None) -> Any:
        return self.data.get(key, default)

    @contextmanager
    def field(self, key: str) -> Iterator[None]:
        """Turn any parsing error inside the block into a ``DataError`` naming this record and ``key``."""
        try:
            yield
        except DataError:
            raise
        except _FIELD_ERRORS as exc:
            raise self.error(key, f"{type(exc).__name__}: {exc}") from exc

    def text(self, key: str) -> str:
        value = self[key]
        if not isinstance(value, str) or not value.strip():
            raise self.error(key, f"expected non-empty text, got {value!r}")
        return value

    # The accessors below catch errors inline rather than through ``field()``: they run for every record of sets
    # with hundreds of thousands of records, where a generator-based context manager per call adds up.
    def number(self, key: str) -> float:
        value = self[key]
        try:
            out = float(value)
        except (TypeError, ValueError):
            out = math.nan
        if isinstance(value, bool) or not math.isfinite(out):
            raise self.error(key, f"expected a finite number, got {value!r}")
        return out

    def span(self, key: str) -> tuple[float, float]:
        value = self[key]
        try:
            return to_span(value)
        except _FIELD_ERRORS as exc:
            raise self.error(key, f"{type(exc).__name__}: {exc}") from exc

    def spans(self, key: str) -> list[tuple[float, float]]:
        value = self[key]
        try:
            if isinstance(value, (str, bytes, Mapping)):
                raise TypeError(f"expected a list of [start, end], got {value!r}")
            return [to_span(v) for v in value]
        except _FIELD_ERRORS as exc:
            raise self.error(key, f"{type(exc).__name__}: {exc}") from exc

    def texts(self, key: str, count: int | None = None, numbers: bool = False) -> list[str]:
        """A list of non-empty texts (``numbers``: numbers allowed too, as text, e.g. counting options)."""
        value = self[key]
        kinds = (str, int, float) if numbers else (str,)
        if not isinstance(value, (list, tuple)) or not all(
            isinstance(v, kinds) and not isinstance(v, bool) and str(v) for v in value
        ):
            raise self.error(key, f"expected a list of non-empty texts, got {value!r}")
        value = [str(v) for v in value]
        if count is not None and len(value) != count:
            raise self.error(key, f"expected {count} entries, got {len(value)}")
        return list(value)


def json_records(path: Path) -> Iterator[Record]:
    """The records of a JSON file holding a list of objects ("record N", counted from 0)."""
    data = read_json(path)
    if not isinstance(data, list):
        raise DataError(f"{path}: expected a JSON list of records, got {type(data).__name__}")
    for i, item in enumerate(data):
        yield Record(item, path, f"record {i}")


def json_items(path: Path) -> Iterator[tuple[str, Record]]:
    """``(key, record)`` of a JSON file holding an object of objects."""
    data = read_json(path)
    if not isinstance(data, Mapping):
        raise DataError(f"{path}: expected a JSON object keyed by id, got {type(data).__name__}")
    for key, item in data.items():
        yield str(key), Record(item, path, f"key {key!r}")


class OfficialSource(DataSource):
    """A dataset in the official processed layout. Subclasses set ``files`` and implement ``_load``."""

    files: ClassVar[Mapping[str, str]] = {}  # split -> annotation file relative to the dataset folder
    video_dir: ClassVar[str] = COMPRESSED_VIDEO_DIR
    video_folder: ClassVar[str | None] = None  # folder holding the videos when not the dataset's own
    extra_folders: ClassVar[tuple[str, ...]] = ()  # other folders read (videos, durations): downloaded too
    data_type: ClassVar[str] = "grounding"
    crop: ClassVar[bool] = (
        False  # the answerer trains on the ground-truth clip (``extra["crop"]``), official *_crop
    )

    @classmethod
    def folders(cls) -> tuple[str, ...]:
        """Every folder under the data root this source reads (its own first)."""
        own = cls.folder or cls.name
        more = [f for f in (cls.video_folder, *cls.extra_folders) if f and f != own]
        return (own, *dict.fromkeys(more))

    @classmethod
    def video_dirs(cls) -> dict[str, str]:
        """``{folder: video sub-folder}`` this source reads videos from (what `data download` fetches)."""
        return {cls.video_folder or (cls.folder or cls.name): cls.video_dir}

    def load(self, split: str) -> list[Sample]:
        return unique_ids(super().load(canonical_split(split)))

    def file(self, relative: str, folder: str | None = None) -> Path:
        """An annotation file of this dataset; a missing file raises ``DataError`` saying how to get it."""
        path = self.root / (folder or self.folder or self.name) / relative
        if not path.is_file():
            raise DataError(
                f"{self.name}: annotation file {path} not found; get it with "
                f"`videomind data download {self.name} --root {self.root}` (layout: docs/DATA.md)"
            )
        return path

    def split_file(self, split: str) -> Path:
        return self.file(self.files[split])

    def video_root(self, folder: str | None = None) -> Path:
        return self.root / (folder or self.video_folder or self.folder or self.name) / self.video_dir

    def video(self, name: str, folder: str | None = None) -> str:
        # string joins: building a pathlib.Path per sample was a third of the load time of large sets
        roots = self.__dict__.setdefault("_video_roots", {})
        if folder not in roots:
            roots[folder] = str(self.video_root(folder))
        return roots[folder] + os.sep + name

    def durations(self, folder: str | None = None) -> tuple[Path, dict[str, float]]:
        """``(path, {video id: seconds})`` of a ``durations.json``."""
        path = self.file(DURATIONS_FILE, folder or self.video_folder)
        data = read_json(path)
        if not isinstance(data, Mapping):
            raise DataError(f"{path}: expected an object of video id -> seconds")
        return path, data

    def duration_of(self, durations: tuple[Path, Mapping[str, Any]], vid: str, rec: Record) -> float:
        path, table = durations
        if vid not in table:
            raise rec.error("video", f"video id {vid!r} is not in {path}; re-download {path.name}")
        value = table[vid]
        try:
            return float(value)
        except (TypeError, ValueError) as exc:
            raise DataError(f"{path}: key {vid!r}: field 'duration': not a number ({value!r})") from exc

    def optional_file(self, relative: str, folder: str | None = None) -> Path | None:
        """An annotation file of this dataset when it exists (for releases that ship it in some forms only)."""
        path = self.root / (folder or self.folder or self.name) / relative
        return path if path.is_file() else None

    def first_file(self, split: str, names: Sequence[str], what: str = "annotation file") -> Path:
        """The first of ``names`` (the forms a split is published in, preferred first) that exists; a
        ``DataError`` naming every accepted file otherwise."""
        for name in names:
            if (path := self.optional_file(name)) is not None:
                return path
        folder = self.root / (self.folder or self.name)
        raise DataError(
            f"{self.name}: no {what} for split {split!r} in {folder}: expected one of {', '.join(names)} "
            f"(layout: docs/DATA.md; `videomind data download {self.name} --root {self.root}` gets the first)"
        )

    def videos_on_disk(self, folder: str | None = None) -> set[str]:
        """File names in the video folder (empty when it does not exist)."""
        root = self.video_root(folder)
        return {p.name for p in root.iterdir()} if root.is_dir() else set()

    def moment_sample(
        self, split: str, key: str, vid: str, duration: float | None, span, **fields: Any
    ) -> Sample:
        """A sample about one moment of video ``<vid>.mp4`` (a grounding query, or a question with ``fields``)."""
        extra = {"vid": vid, **fields.pop("extra", {})}
        return self.sample(split, key, video=self.video(f"{vid}.mp4"), duration=duration, spans=[span],
                           extra=extra, **fields)  # fmt: skip

    def sample(
        self, split: str, key: str, *, duration: float | None = None, spans=(), **fields: Any
    ) -> Sample:
        """A ``Sample`` with id ``<name>/<split>/<key>``; spans are clamped (originals kept in ``raw_spans``)."""
        extra = dict(fields.pop("extra", None) or {})
        raw = [tuple(s) for s in spans]
        clamped, changed = clamp_spans(raw, duration)
        if changed:
            extra["raw_spans"] = [list(s) for s in raw]
        if self.crop:
            extra["crop"] = True
        fields.setdefault("data_type", self.data_type)
        return Sample(
            id=f"{self.name}/{split}/{key}",
            source=self.name,
            split=split,
            duration=duration,
            spans=tuple(clamped),
            extra=extra,
            **fields,
        )


def unique_ids(samples: list[Sample]) -> list[Sample]:
    """Make repeated ids unique by suffixing ``#2``, ``#3``... in file order (stable across loads)."""
    seen: dict[str, int] = {}
    out = []
    for s in samples:
        seen[s.id] = seen.get(s.id, 0) + 1
        out.append(s if seen[s.id] == 1 else replace(s, id=f"{s.id}#{seen[s.id]}"))
    if len(seen) < len(samples):
        log.warning("%s: %d repeated sample ids made unique", samples[0].source, len(samples) - len(seen))
    return out


def keep_on_disk(source: OfficialSource, samples: list[Sample], on_disk: set[str]) -> list[Sample]:
    """The samples whose video file exists (the official loaders of sets with missing videos do this)."""
    kept = [s for s in samples if s.video is not None and Path(s.video).name in on_disk]
    if len(kept) < len(samples):
        log.info("%s: kept %d of %d samples whose video is on disk", source.name, len(kept), len(samples))
    return kept


class SpanJsonlSource(OfficialSource):
    """A train-only JSON-lines file of ``vid``, ``duration``, ``query``, ``span`` (one [s, e] in seconds)."""

    task = "grounding"
    roles = ("grounder",)
    splits = ("train",)
    only_on_disk: ClassVar[bool] = False  # keep only records whose video exists (official for some sets)

    def _load(self, split: str) -> list[Sample]:
        path = self.split_file(split)
        out = []
        for n, raw in read_jsonl(path):
            rec = Record(raw, path, f"line {n}")
            vid = rec.text("vid")
            query = clean_query(rec.text("query"))
            out.append(self.moment_sample(split, f"{vid}/{n}", vid, rec.number("duration"), rec.span("span"),
                                          query=query))  # fmt: skip
        return keep_on_disk(self, out, self.videos_on_disk()) if self.only_on_disk else out
