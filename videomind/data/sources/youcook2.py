"""YouCook2 (``youcook2/youcookii_annotations_trainval.json``): ``database`` -> video id -> {``subset``
("training" / "validation"), ``duration``, ``annotations``: [{``segment``, ``sentence``}]}.

Splits: ``train`` = training, ``valid`` = validation (the official loader maps every non-train split to
validation). As officially, only videos present on disk are kept. ``youcook2_bias``: "The moment before/after
<sentence>" queries over consecutive steps less than ``BIAS_MAX_GAP`` seconds apart.

Fix (REFERENCE s.13.18): the official ``youcook2`` appends the last sample of every video twice; not here.
"""

from __future__ import annotations

from videomind.data.sources._common import OfficialSource, Record, keep_on_disk
from videomind.data.sources._io import read_json
from videomind.data.sources._questions import before_after
from videomind.errors import DataError
from videomind.prompts import clean_query
from videomind.records import Sample

SUBSETS = {"train": "training", "valid": "validation"}
BIAS_MAX_GAP = 3.0  # seconds


class YouCook2(OfficialSource):
    name = "youcook2"
    task = "grounding"
    roles = ("grounder",)
    splits = ("train", "valid")
    files = {"train": "youcookii_annotations_trainval.json", "valid": "youcookii_annotations_trainval.json"}

    def _load(self, split: str) -> list[Sample]:
        path = self.split_file(split)
        database = read_json(path)
        if not isinstance(database, dict) or not isinstance(database.get("database"), dict):
            raise DataError(f"{path}: field 'database': expected an object of video id -> record")
        out = []
        for vid, raw in database["database"].items():
            rec = Record(raw, path, f"database key {vid!r}")
            if rec["subset"] == SUBSETS[split]:
                out.extend(self._video(split, vid, rec))
        return keep_on_disk(self, out, self.videos_on_disk())

    def _steps(self, rec: Record) -> tuple[list[str], list[tuple[float, float]]]:
        with rec.field("annotations"):
            steps = [
                Record(a, rec.file, f"{rec.where} annotation {i}") for i, a in enumerate(rec["annotations"])
            ]
        return [s.text("sentence") for s in steps], [s.span("segment") for s in steps]

    def _queries(self, rec: Record) -> list[tuple[str, tuple[float, float]]]:
        sentences, spans = self._steps(rec)
        return [(clean_query(q), s) for q, s in zip(sentences, spans)]

    def _video(self, split: str, vid: str, rec: Record) -> list[Sample]:
        duration = rec.number("duration")
        return [
            self.moment_sample(split, f"{vid}/{i}", vid, duration, span, query=query)
            for i, (query, span) in enumerate(self._queries(rec))
        ]


class YouCook2Bias(YouCook2):
    name = "youcook2_bias"
    folder = "youcook2"

    def _queries(self, rec: Record) -> list[tuple[str, tuple[float, float]]]:
        sentences, spans = self._steps(rec)
        return before_after(spans, sentences, BIAS_MAX_GAP)
