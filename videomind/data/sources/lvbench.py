"""LVBench (``lvbench/LVBench/video_info.meta.jsonl``, test only; videos ``lvbench/videos_3fps_480_noaudio``).

Each line: ``key`` (video id) and ``qa``: [{``question`` (the question then four "(A) ..." option lines),
``answer`` (letter), ``question_type`` (str or list: the tasks), ``time_reference``}].
"""

from __future__ import annotations

from videomind.data.sources._common import OfficialSource, Record
from videomind.data.sources._io import read_jsonl
from videomind.data.sources._questions import mcq
from videomind.records import Sample

OPTION_PREFIXES = ("(A) ", "(B) ", "(C) ", "(D) ")


def split_question(text: str) -> tuple[str, list[str]]:
    """The question line and the four option texts of an LVBench question block."""
    lines = text.split("\n")
    if len(lines) != 1 + len(OPTION_PREFIXES) or any(
        not line.startswith(p) for line, p in zip(lines[1:], OPTION_PREFIXES)
    ):
        raise ValueError(f"expected a question line then '(A) ' ... '(D) ' lines, got {text!r}")
    return lines[0], [line[len(OPTION_PREFIXES[0]) :] for line in lines[1:]]


class LVBench(OfficialSource):
    name = "lvbench"
    task = "qa"
    roles = ("grounder", "verifier", "answerer")
    splits = ("test",)
    files = {"test": "LVBench/video_info.meta.jsonl"}
    data_type = "multimodal"

    def _load(self, split: str) -> list[Sample]:
        path = self.split_file(split)
        out = []
        for n, raw in read_jsonl(path):
            rec = Record(raw, path, f"line {n}")
            vid = str(rec["key"])
            with rec.field("qa"):
                qas = [Record(qa, path, f"line {n} qa {i}") for i, qa in enumerate(rec["qa"])]
            out.extend(self._sample(split, f"{vid}/{i}", vid, qa) for i, qa in enumerate(qas))
        return out

    def _sample(self, split: str, key: str, vid: str, qa: Record) -> Sample:
        with qa.field("question"):
            question, options = split_question(qa.text("question"))
        with qa.field("answer"):
            fields = mcq(question, options, qa.text("answer"))
        task = qa["question_type"]
        return self.sample(
            split,
            str(qa.get("uid", key)),
            video=self.video(f"{vid}.mp4"),
            task=tuple(task) if isinstance(task, list) else (str(task),),
            extra={"vid": vid, "time_reference": qa.get("time_reference")},
            **fields,
        )
