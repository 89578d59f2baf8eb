"""LongVideoBench (``longvideobench/lvb_val.json`` = valid, ``lvb_test_wo_gt.json`` = test without answers;
videos ``longvideobench/videos/<id>.mp4``).

Each record: ``video_id`` (ids starting with '@' keep their last 19 characters), ``question``, ``candidates``,
``correct_choice`` (index, valid only), ``duration_group`` (task), ``level``, ``question_category``.
"""

from __future__ import annotations

from videomind.data.sources._common import OfficialSource, json_records
from videomind.data.sources._questions import mcq, option_letter
from videomind.records import Sample

LONG_ID_LEN = 19
ID_LENGTHS = (11, LONG_ID_LEN)  # YouTube ids and the others


class LongVideoBench(OfficialSource):
    name = "longvideobench"
    task = "qa"
    roles = ("grounder", "verifier", "answerer")
    splits = ("valid", "test")
    files = {"valid": "lvb_val.json", "test": "lvb_test_wo_gt.json"}
    video_dir = "videos"
    data_type = "multimodal"

    def _load(self, split: str) -> list[Sample]:
        out = []
        for i, rec in enumerate(json_records(self.split_file(split))):
            vid = rec.text("video_id")
            vid = vid[-LONG_ID_LEN:] if vid.startswith("@") else vid
            if len(vid) not in ID_LENGTHS:
                raise rec.error("video_id", f"expected an id of {ID_LENGTHS} characters, got {vid!r}")
            options = rec.texts("candidates", numbers=True)
            with rec.field("correct_choice"):
                letter = option_letter(int(rec["correct_choice"])) if "correct_choice" in rec else None
                fields = mcq(rec.text("question"), options, letter)
            out.append(
                self.sample(
                    split,
                    str(rec.get("id", f"{vid}/{i}")),
                    video=self.video(f"{vid}.mp4"),
                    task=(str(rec["duration_group"]),),
                    extra={
                        "vid": vid,
                        "level": rec.get("level"),
                        "question_category": rec.get("question_category"),
                    },
                    **fields,
                )
            )
        return out
