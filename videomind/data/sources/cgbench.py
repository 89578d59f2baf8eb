"""CG-Bench mini (``cgbench/cgbench_mini.json``, test only; ``durations.json``; subtitles ``subtitles/<vid>.srt``).

Each record: ``video_uid``, ``question``, ``choices``, ``answer``, ``right_answer`` (letter), ``clue_intervals``
(several spans), ``sub_category`` (task) and ``domain``. ``Sample.subtitle`` is set when the subtitle file exists.
"""

from __future__ import annotations

from videomind.data.sources._common import OfficialSource, Record, capitalize_first, json_records, mcq
from videomind.records import Sample

SUBTITLE_DIR = "subtitles"


class CGBench(OfficialSource):
    name = "cgbench"
    task = "grounded_qa"
    roles = ("grounder", "verifier", "answerer")
    splits = ("test",)
    files = {"test": "cgbench_mini.json"}
    data_type = "multimodal"

    def _load(self, split: str) -> list[Sample]:
        durations = self.durations()
        subtitles = self.path / SUBTITLE_DIR
        have = {p.name for p in subtitles.iterdir()} if subtitles.is_dir() else set()
        out = []
        for i, rec in enumerate(json_records(self.split_file(split))):
            vid = rec.text("video_uid")
            srt = f"{vid}.srt"
            out.append(
                self.sample(
                    split,
                    str(rec.get("qid", f"{vid}/{i}")),
                    video=self.video(f"{vid}.mp4"),
                    duration=self.duration_of(durations, vid, rec),
                    spans=rec.spans("clue_intervals"),
                    task=(str(rec["sub_category"]),),
                    subtitle=str(subtitles / srt) if srt in have else None,
                    extra={"vid": vid, "domain": rec.get("domain")},
                    **self._question(rec),
                )
            )
        return out

    @staticmethod
    def _question(rec: Record) -> dict:
        options = [capitalize_first(o) for o in rec.texts("choices")]
        with rec.field("right_answer"):
            return mcq(
                rec.text("question"), options, rec["right_answer"], capitalize_first(rec.text("answer"))
            )
