"""The ``synthetic`` data source: reads a folder written by ``videomind synth make`` (docs/SYNTHETIC.md)."""

from __future__ import annotations

import json
from collections.abc import Iterable
from pathlib import Path
from typing import Any

from videomind.data.base import DataSource
from videomind.errors import DataError
from videomind.records import Sample

# Kept in step with videomind.data.synthetic (importing it here would pull the generator into every data load).
BASE_SPLITS: tuple[str, ...] = ("train", "val", "test")
KINDS: tuple[str, ...] = ("grounding", "mcq", "qa", "planning", "verifying", "caption")
MANIFEST = "manifest.json"
# Record fields that map onto Sample fields; everything else goes to Sample.extra.
_CORE = (
    "id",
    "source",
    "video_path",
    "duration",
    "query",
    "span",
    "question",
    "options",
    "answer",
    "ans",
    "task",
    "data_type",
)


class SyntheticSource(DataSource):
    """The synthetic shape world, with samples for every role.

    ``load("test")`` returns every kind of sample of the split; ``load("test", kind="grounding")`` (or
    ``kind=("mcq", "qa")``, or the split name ``"test_grounding"``) selects kinds: ``grounding``, ``mcq`` (grounded
    questions), ``qa`` (whole-video questions), ``planning``, ``verifying``, ``caption``. ``root`` is either a data
    root holding ``synthetic/`` or the generated folder itself.
    """

    name = "synthetic"
    task = "grounded_qa"
    roles = ("planner", "grounder", "verifier", "answerer")
    splits = BASE_SPLITS + tuple(f"{s}_{k}" for s in BASE_SPLITS for k in KINDS)

    @property
    def path(self) -> Path:
        if (self.root / MANIFEST).exists() and not (self.root / self.name / MANIFEST).exists():
            return self.root
        return self.root / self.name

    def load(self, split: str, kind: str | Iterable[str] | None = None) -> list[Sample]:
        base, _, suffix = split.partition("_")
        if split not in self.splits:
            raise DataError(
                f"synthetic has no split {split!r}; use one of {', '.join(BASE_SPLITS)}, "
                f"optionally suffixed with _<kind> ({', '.join(KINDS)})"
            )
        if suffix and kind is not None:
            raise DataError(f"give the kind either in the split name ({split!r}) or as kind=, not both")
        kinds = _kinds(suffix or kind)
        out: list[Sample] = []
        for k in kinds:
            out.extend(self._read(base, k))
        return out

    def _read(self, split: str, kind: str) -> list[Sample]:
        path = self.path / f"{split}_{kind}.jsonl"
        if not path.exists():
            raise DataError(
                f"{path} not found: generate it with `videomind synth make {self.path} --split {split}`"
            )
        samples = []
        with path.open(encoding="utf-8") as f:
            for n, line in enumerate(f, 1):
                if not line.strip():
                    continue
                try:
                    samples.append(self._sample(json.loads(line), split, kind))
                except (ValueError, KeyError, TypeError) as exc:
                    raise DataError(f"{path}:{n}: bad record ({exc}); regenerate the folder") from exc
        return samples

    def _sample(self, rec: dict[str, Any], split: str, kind: str) -> Sample:
        extra = {k: v for k, v in rec.items() if k not in _CORE}
        query = rec.get("query")
        if kind == "planning":  # the rephrased query is a target of the planner, not its input
            extra["query"], query = query, None
        options = rec.get("options")
        return Sample(
            id=rec["id"],
            source=self.name,
            video=str(self.path / rec["video_path"]),
            duration=float(rec["duration"]),
            query=query,
            spans=rec.get("span") or (),
            question=rec.get("question"),
            options=tuple(options) if options else None,
            answer=rec.get("ans"),
            answer_text=rec.get("answer"),
            task=tuple(rec["task"]),
            data_type=rec["data_type"],
            split=split,
            extra=extra,
        )


def _kinds(kind: str | Iterable[str] | None) -> tuple[str, ...]:
    if kind is None or kind == "" or kind == "all":
        return KINDS
    names = tuple(k.strip() for k in kind.split(",")) if isinstance(kind, str) else tuple(kind)
    unknown = [k for k in names if k not in KINDS]
    if unknown:
        raise DataError(f"unknown synthetic sample kind(s) {unknown}; choose from {', '.join(KINDS)}")
    return names
