"""TACoS: VideoMind's ``tacos/{train,val,test}.jsonl`` or the 2D-TAN release ``tacos/{train,val,test}.json``.

- JSON lines (VideoMind): ``vid``, ``duration``, ``query``, ``relevant_windows`` (one window, seconds).
- 2D-TAN (microsoft/VideoX ``2D-TAN/data/TACoS``): ``{"s30-d52.avi": {"timestamps": [[first, last] frame], "sentences",
  "fps", "num_frames"}}``; one sample per sentence, spans = frames / fps, duration = num_frames / fps, all entries kept
  as published (2D-TAN itself drops the few with start >= end and clamps to the duration).

Videos are ``<vid>-cam-002.mp4``. When both forms are present, the JSON lines are read.

Fix (REFERENCE s.13.18): the official loader selects the validation file with the string ``"val"`` while every
caller passes ``"valid"``, so its "valid" split silently loads the test file. Here ``valid`` (and the alias ``val``)
loads ``val.jsonl`` (or ``val.json``).
"""

from __future__ import annotations

from pathlib import Path

from videomind.data.sources._common import OfficialSource, Record, json_items
from videomind.data.sources._io import read_jsonl
from videomind.prompts import clean_query
from videomind.records import Sample

CAMERA_SUFFIX = "-cam-002"
TAN_FILES = {"train": "train.json", "valid": "val.json", "test": "test.json"}  # the 2D-TAN release


class TACoS(OfficialSource):
    name = "tacos"
    task = "grounding"
    roles = ("grounder",)
    splits = ("train", "valid", "test")
    files = {"train": "train.jsonl", "valid": "val.jsonl", "test": "test.jsonl"}

    def _load(self, split: str) -> list[Sample]:
        path = self.first_file(split, (self.files[split], TAN_FILES[split]))
        if path.suffix == ".json":
            return self._load_2dtan(path, split)
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

    def _load_2dtan(self, path: Path, split: str) -> list[Sample]:
        out = []
        for key, rec in json_items(path):
            vid = key.rsplit(".", 1)[0]
            fps = rec.number("fps")
            with rec.field("fps"):
                duration = rec.number("num_frames") / fps
            frames, sentences = rec.spans("timestamps"), rec.texts("sentences")
            if len(frames) != len(sentences):
                raise rec.error("timestamps", f"{len(frames)} timestamps for {len(sentences)} sentences")
            for i, ((first, last), sentence) in enumerate(zip(frames, sentences)):
                out.append(
                    self.sample(
                        split,
                        f"{vid}/{i}",
                        video=self.video(f"{vid}{CAMERA_SUFFIX}.mp4"),
                        duration=duration,
                        query=clean_query(sentence),
                        spans=[(first / fps, last / fps)],
                        extra={"vid": vid, "frames": [first, last], "fps": fps},
                    )
                )
        return out
