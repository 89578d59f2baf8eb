"""CG-Bench mini (``cgbench/cgbench_mini.json``, test only; subtitles ``subtitles/<vid>.srt``).

Each record: ``qid``, ``video_uid``, ``question``, ``choices``, ``answer``, ``right_answer`` (letter),
``clue_intervals`` (several spans), ``sub_category`` (task), ``domain`` and ``duration`` (whole seconds).
``Sample.subtitle`` is set when the subtitle file exists. The file is the same in VideoMind's copy and in the
CG-Bench GitHub repository (CG-Bench/CG-Bench, with the Hugging Face release).

Durations, first found of: ``durations.json`` (VideoMind's), ``video_meta_info.json`` (or ``run/video_meta_info.json``,
where the GitHub repository keeps it: per video ``duration`` in seconds, ``fps``, ``max_frame``), each record's own
``duration``; the log says which.
"""

from __future__ import annotations

from pathlib import Path

from videomind.data.sources._common import DURATIONS_FILE, OfficialSource, Record, json_items, json_records
from videomind.data.sources._durations import source_log
from videomind.data.sources._questions import capitalize_first, mcq
from videomind.records import Sample

SUBTITLE_DIR = "subtitles"
META_FILES = ("video_meta_info.json", "run/video_meta_info.json")  # CG-Bench's GitHub release


class CGBench(OfficialSource):
    name = "cgbench"
    task = "grounded_qa"
    roles = ("grounder", "verifier", "answerer")
    splits = ("test",)
    files = {"test": "cgbench_mini.json"}
    data_type = "multimodal"

    def _load(self, split: str) -> list[Sample]:
        records = list(json_records(self.split_file(split)))
        durations = self._durations()
        subtitles = self.path / SUBTITLE_DIR
        have = {p.name for p in subtitles.iterdir()} if subtitles.is_dir() else set()
        out = []
        for i, rec in enumerate(records):
            vid = rec.text("video_uid")
            srt = f"{vid}.srt"
            out.append(
                self.sample(
                    split,
                    str(rec.get("qid", f"{vid}/{i}")),
                    video=self.video(f"{vid}.mp4"),
                    duration=self.duration_of(durations, vid, rec) if durations else rec.number("duration"),
                    spans=rec.spans("clue_intervals"),
                    task=(str(rec["sub_category"]),),
                    subtitle=str(subtitles / srt) if srt in have else None,
                    extra={"vid": vid, "domain": rec.get("domain")},
                    **self._question(rec),
                )
            )
        return out

    def _durations(self) -> tuple[Path, dict[str, float]] | None:
        """``(file, {vid: seconds})`` of durations.json or video_meta_info.json; None: the records' own."""
        log = source_log(self)
        if self.optional_file(DURATIONS_FILE) is not None:
            path, table = self.durations()
            log.info("cgbench: durations from %s", path)
            return path, dict(table)
        meta = next((p for p in map(self.optional_file, META_FILES) if p is not None), None)
        if meta is not None:
            log.info("cgbench: durations from %s", meta)
            table = {}
            for vid, rec in json_items(meta):
                table[vid] = rec.number("duration")
            return meta, table
        log.info("cgbench: no %s nor %s: durations from the records' own 'duration' (whole seconds)",
                 DURATIONS_FILE, " / ".join(META_FILES))  # fmt: skip
        return None

    @staticmethod
    def _question(rec: Record) -> dict:
        options = [capitalize_first(o) for o in rec.texts("choices")]
        with rec.field("right_answer"):
            return mcq(
                rec.text("question"), options, rec["right_answer"], capitalize_first(rec.text("answer"))
            )
