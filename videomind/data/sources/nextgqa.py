"""NExT-GQA (``nextgqa/{val,test}.csv`` + ``gsub_{val,test}.json`` + ``map_vid_vidorID.json``; videos
``nextqa/videos/<vidor id>.mp4``).

CSV columns ``video_id``, ``qid``, ``question``, ``answer`` (text), ``a0``-``a4``, ``type`` (task); the gsub file
gives each video's ``duration`` and ``location[qid]`` spans. Questions are capitalised with "?" appended.

Fix (REFERENCE s.13.18): the official loader's default split is ``valid``, so ``nextgqa_grounding`` (loaded with the
default when training) silently trains on the validation set. Here every load names its split and NExT-GQA has no
``train`` split: asking for one raises ``DataError`` instead of returning evaluation data.
"""

from __future__ import annotations

from videomind.data.sources._common import OfficialSource, Record, json_items
from videomind.data.sources._io import read_csv, read_json
from videomind.data.sources._questions import answer_letter, capitalize_first, mcq
from videomind.errors import DataError
from videomind.records import Sample

OPTION_COLUMNS = ("a0", "a1", "a2", "a3", "a4")
VIDEO_MAP = "map_vid_vidorID.json"


class NExTGQA(OfficialSource):
    name = "nextgqa"
    task = "grounded_qa"
    roles = ("grounder", "verifier", "answerer")
    splits = ("valid", "test")
    files = {"valid": "val.csv", "test": "test.csv"}
    gsub = {"valid": "gsub_val.json", "test": "gsub_test.json"}
    video_folder = "nextqa"
    video_dir = "videos"
    data_type = "multimodal"

    def _load(self, split: str) -> list[Sample]:
        path = self.split_file(split)
        spans = dict(json_items(self.file(self.gsub[split])))
        video_map = read_json(self.file(VIDEO_MAP))
        if not isinstance(video_map, dict):
            raise DataError(f"{self.file(VIDEO_MAP)}: expected an object of video id -> VidOR id")
        out = []
        for n, row in read_csv(path):
            out.append(self._sample(split, Record(row, path, f"line {n}"), spans, video_map))
        return out

    def _sample(self, split: str, rec: Record, spans: dict[str, Record], video_map: dict) -> Sample:
        vid, qid = rec.text("video_id"), rec.text("qid")
        if vid not in video_map:
            raise rec.error("video_id", f"{vid!r} is not in {VIDEO_MAP}")
        if vid not in spans:
            raise rec.error("video_id", f"{vid!r} is not in {self.gsub[split]}")
        ground = spans[vid]
        with ground.field("location"):
            location = Record(ground["location"], ground.file, ground.where)
        question = capitalize_first(rec.text("question")) + "?"
        options = [capitalize_first(rec.text(k)) for k in OPTION_COLUMNS]
        with rec.field("answer"):
            letter = answer_letter(options, capitalize_first(rec.text("answer")))
        return self.sample(
            split,
            f"{vid}_{qid}",
            video=self.video(f"{video_map[vid]}.mp4"),
            duration=ground.number("duration"),
            spans=location.spans(qid),
            task=(rec.text("type"),),
            extra={"vid": vid, "qid": qid},
            **mcq(question, options, letter),
        )


class NExTGQACrop(NExTGQA):
    name = "nextgqa_crop"
    folder = "nextgqa"
    task = "qa"
    roles = ("answerer",)
    crop = True


class NExTGQAGrounding(NExTGQA):
    name = "nextgqa_grounding"
    folder = "nextgqa"
    task = "grounding"
    roles = ("grounder",)
    data_type = "grounding"
