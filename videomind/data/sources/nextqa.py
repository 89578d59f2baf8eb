"""NExT-QA (``nextqa/{train,val,test}.csv`` + ``map_vid_vidorID.json``; videos ``nextqa/NExTVideo/``).

CSV columns ``video``, ``qid``, ``question``, ``answer`` (index of the right option), ``a0``-``a4``, ``type``.
No spans and no durations (read from the video at inference).
"""

from __future__ import annotations

from videomind.data.sources._common import OfficialSource, Record
from videomind.data.sources._io import read_csv, read_json
from videomind.data.sources._questions import capitalize_first, mcq, option_letter
from videomind.errors import DataError
from videomind.records import Sample

OPTION_COLUMNS = ("a0", "a1", "a2", "a3", "a4")
VIDEO_MAP = "map_vid_vidorID.json"


class NExTQA(OfficialSource):
    name = "nextqa"
    task = "qa"
    roles = ("answerer",)
    splits = ("train", "valid", "test")
    files = {"train": "train.csv", "valid": "val.csv", "test": "test.csv"}
    video_dir = "NExTVideo"
    data_type = "multimodal"

    def _load(self, split: str) -> list[Sample]:
        path = self.split_file(split)
        video_map = read_json(self.file(VIDEO_MAP))
        if not isinstance(video_map, dict):
            raise DataError(f"{self.file(VIDEO_MAP)}: expected an object of video id -> VidOR id")
        return [self._sample(split, Record(row, path, f"line {n}"), video_map) for n, row in read_csv(path)]

    def _sample(self, split: str, rec: Record, video_map: dict) -> Sample:
        vid, qid = rec.text("video"), rec.text("qid")
        if vid not in video_map:
            raise rec.error("video", f"{vid!r} is not in {VIDEO_MAP}")
        options = [capitalize_first(rec.text(k)) for k in OPTION_COLUMNS]
        with rec.field("answer"):
            letter = option_letter(int(rec.text("answer")))
            fields = mcq(capitalize_first(rec.text("question")) + "?", options, letter)
        return self.sample(
            split,
            f"{vid}_{qid}",
            video=self.video(f"{video_map[vid]}.mp4"),
            task=(rec.text("type"),),
            extra={"vid": vid, "qid": qid},
            **fields,
        )
