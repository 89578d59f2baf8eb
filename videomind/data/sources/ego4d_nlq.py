"""Ego4D-NLQ (``ego4d_nlq/nlq_{train,val}.jsonl``; videos under ``ego4d/v2/videos_3fps_480_noaudio``).

Each line: ``vid``, ``duration``, ``query``, ``relevant_windows`` (exactly one). There is no test split with ground
truth: the official ``test`` falls through to the validation file, here it is called ``valid``.
"""

from __future__ import annotations

from videomind.data.sources._common import OfficialSource, Record
from videomind.data.sources._io import read_jsonl
from videomind.prompts import clean_query
from videomind.records import Sample


class Ego4DNLQ(OfficialSource):
    name = "ego4d_nlq"
    task = "grounding"
    roles = ("grounder",)
    splits = ("train", "valid")
    files = {"train": "nlq_train.jsonl", "valid": "nlq_val.jsonl"}
    video_folder = "ego4d/v2"

    def _load(self, split: str) -> list[Sample]:
        path = self.split_file(split)
        out = []
        for n, raw in read_jsonl(path):
            rec = Record(raw, path, f"line {n}")
            windows = rec.spans("relevant_windows")
            if len(windows) != 1:
                raise rec.error("relevant_windows", f"expected exactly one window, got {len(windows)}")
            vid = rec.text("vid")
            out.append(
                self.sample(
                    split,
                    str(rec.get("qid", f"{vid}/{n}")),
                    video=self.video(f"{vid}.mp4"),
                    duration=rec.number("duration"),
                    query=clean_query(rec.text("query")),
                    spans=windows,
                    extra={"vid": vid},
                )
            )
        return out
