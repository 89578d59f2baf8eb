"""DiDeMo (``didemo/{train,val,test}_data.json`` + ``durations.json``).

Each record: ``video`` (file name), ``times`` (one [first, last] 5-second segment index pair per annotator),
``description``. The span is the annotators' mean converted to seconds: start = round(5 * s), end = round(5 * (e + 1))
(Python rounding, as the official loader).

Fix (REFERENCE s.13.18): the official loader shifts every training span by ``random.randint(-2, 2)`` seconds once at
load time, so the "augmentation" is frozen for the whole run and differs between processes. Sources only parse
here: spans are never shifted; ``TRAIN_SHIFT`` is the official jitter range for training code that wants it.
"""

from __future__ import annotations

from videomind.data.sources._common import OfficialSource, Record, json_records
from videomind.prompts import clean_query
from videomind.records import Sample

SEGMENT_SECONDS = 5
TRAIN_SHIFT = 2.0  # seconds, official per-load jitter range (not applied here)


def didemo_span(times: list) -> tuple[float, float]:
    """Mean of the annotators' segment index pairs, in seconds."""
    if not times or any(len(t) != 2 for t in times):
        raise ValueError(f"expected a non-empty list of [first, last] segment indices, got {times!r}")
    s = sum(float(t[0]) for t in times) / len(times)
    e = sum(float(t[1]) for t in times) / len(times)
    return float(round(s * SEGMENT_SECONDS)), float(round((e + 1) * SEGMENT_SECONDS))


class DiDeMo(OfficialSource):
    name = "didemo"
    task = "grounding"
    roles = ("grounder",)
    splits = ("train", "valid", "test")
    files = {"train": "train_data.json", "valid": "val_data.json", "test": "test_data.json"}

    def _load(self, split: str) -> list[Sample]:
        durations = self.durations()
        return [
            self._sample(rec, split, i, durations)
            for i, rec in enumerate(json_records(self.split_file(split)))
        ]

    def _sample(self, rec: Record, split: str, i: int, durations) -> Sample:
        vid = rec.text("video").split(".")[0]
        with rec.field("times"):
            span = didemo_span(rec["times"])
        key = rec.get("annotation_id", i)
        return self.sample(
            split,
            str(key),
            video=self.video(f"{vid}.mp4"),
            duration=self.duration_of(durations, vid, rec),
            query=clean_query(rec.text("description")),
            spans=[span],
            extra={"vid": vid},
        )
