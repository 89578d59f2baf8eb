"""Video-MME (``videomme/test-00000-of-00001.parquet``, test only; videos ``videomme/videos/<videoID>.mp4``,
subtitles ``videomme/subtitles/<videoID>.srt``).

Rows: ``videoID``, ``question_id``, ``question``, ``options`` (four "A. ..." strings, prefix stripped), ``answer``
(letter), ``duration`` (short / medium / long: the task), ``domain``, ``sub_category``, ``task_type``.
Reading the parquet needs ``pyarrow``; without it, a JSON-lines export with the same columns
(``test-00000-of-00001.jsonl``) is read instead.

Fix (REFERENCE s.13.18): the official loader declares the subtitle folder but never attaches it; here
``Sample.subtitle`` is set when ``subtitles/<videoID>.srt`` exists.
"""

from __future__ import annotations

from videomind.data.sources._common import OfficialSource, Record
from videomind.data.sources._io import read_jsonl, read_parquet
from videomind.data.sources._questions import mcq
from videomind.records import Sample

PARQUET = "test-00000-of-00001.parquet"
JSONL = "test-00000-of-00001.jsonl"
SUBTITLE_DIR = "subtitles"
OPTION_PREFIXES = ("A. ", "B. ", "C. ", "D. ")


class VideoMME(OfficialSource):
    name = "videomme"
    task = "qa"
    roles = ("grounder", "verifier", "answerer")
    splits = ("test",)
    files = {"test": PARQUET}
    video_dir = "videos"
    data_type = "multimodal"

    def _rows(self) -> list[Record]:
        jsonl = self.path / JSONL
        if jsonl.is_file() and not (self.path / PARQUET).is_file():
            return [Record(raw, jsonl, f"line {n}") for n, raw in read_jsonl(jsonl)]
        path = self.split_file("test")
        return [Record(raw, path, f"row {i}") for i, raw in enumerate(read_parquet(path))]

    def _load(self, split: str) -> list[Sample]:
        subtitles = self.path / SUBTITLE_DIR
        have = {p.name for p in subtitles.iterdir()} if subtitles.is_dir() else set()
        out = []
        for rec in self._rows():
            vid = rec.text("videoID")
            out.append(
                self.sample(
                    split,
                    str(rec["question_id"]),
                    video=self.video(f"{vid}.mp4"),
                    task=(rec.text("duration"),),
                    subtitle=str(subtitles / f"{vid}.srt") if f"{vid}.srt" in have else None,
                    extra=self._extra(rec, vid),
                    **self._question(rec),
                )
            )
        return out

    @staticmethod
    def _question(rec: Record) -> dict:
        options = rec.texts("options", len(OPTION_PREFIXES))
        if any(not o.startswith(p) for o, p in zip(options, OPTION_PREFIXES)):
            raise rec.error("options", f"expected 'A. ', 'B. ', 'C. ', 'D. ' prefixes, got {options!r}")
        with rec.field("answer"):
            return mcq(rec.text("question"), [o[len("A. ") :] for o in options], rec.text("answer"))

    @staticmethod
    def _extra(rec: Record, vid: str) -> dict:
        extra = {k: rec.get(k) for k in ("video_id", "domain", "sub_category", "task_type") if k in rec}
        extra["vid"] = vid
        return extra
