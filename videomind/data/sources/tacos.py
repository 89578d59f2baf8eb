"""TACoS (``tacos/{train,val,test}.jsonl``): ``vid``, ``duration``, ``query``, ``relevant_windows`` (one window).

Videos are ``<vid>-cam-002.mp4``.

Fix (REFERENCE s.13.18): the official loader selects the validation file with the string ``"val"`` while every
caller passes ``"valid"``, so its "valid" split silently loads the test file. Here ``valid`` (and the alias ``val``)
loads ``val.jsonl``.
"""

from __future__ import annotations

from videomind.data.sources._common import OfficialSource, Record
from videomind.data.sources._io import read_jsonl
from videomind.prompts import clean_query
from videomind.records import Sample

CAMERA_SUFFIX = "-cam-002"


class TACoS(OfficialSource):
    name = "tacos"
    task = "grounding"
    roles = ("grounder",)
    splits = ("train", "valid", "test")
    files = {"train": "train.jsonl", "valid": "val.jsonl", "test": "test.jsonl"}

    def _load(self, split: str) -> list[Sample]:
        path = self.split_file(split)
        return [self._sample(Record(raw, path, f"line {n}"), split, n) for n, raw in read_jsonl(path)]

    def _sample(self, rec: Record, split: str, n: int) -> Sample:
        windows = rec.spans("relevant_windows")
        if len(windows) != 1:
            raise rec.error("relevant_windows", f"expected exactly one window, got {len(windows)}")
        vid = rec.text("vid")
        return self.sample(
            split,
            str(rec.get("qid", n)),
            video=self.video(f"{vid}{CAMERA_SUFFIX}.mp4"),
            duration=rec.number("duration"),
            query=clean_query(rec.text("query")),
            spans=windows,
            extra={"vid": vid},
        )
