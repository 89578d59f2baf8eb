"""Planner training set ``mixed_planning`` (``planning/planning_nextqa_qvhighlights_gpt4o_mini.jsonl``).

Each line: ``video_path``, ``route`` (1-4), ``question``, ``query`` (GPT-4o-mini rephrasing; absent for route 4),
``data_type``, optional ``duration``. Samples keep ``question`` as the planner's input and, as the synthetic planning
samples do, the rephrased query in ``extra["query"]`` and the route in ``extra["route"]``. Routes (REFERENCE s.9.5):
1 rephrase + ground + verify + answer, 2 ground with the question + verify + answer, 3 rephrase + ground + verify,
4 answer only.
"""

from __future__ import annotations

from videomind.data.sources._common import OfficialSource, Record
from videomind.data.sources._io import read_jsonl
from videomind.data.sources.verifying import resolve_video
from videomind.records import Sample

ROUTES = (1, 2, 3, 4)
REPHRASED_ROUTES = (1, 3)


class MixedPlanning(OfficialSource):
    name = "mixed_planning"
    folder = "planning"
    task = "planning"
    roles = ("planner",)
    splits = ("train",)
    files = {"train": "planning_nextqa_qvhighlights_gpt4o_mini.jsonl"}
    data_type = "multimodal"

    @classmethod
    def folders(cls) -> tuple[str, ...]:
        return ("planning", "nextqa", "qvhighlights")

    @classmethod
    def video_dirs(cls) -> dict[str, str]:
        return {"nextqa": "NExTVideo", "qvhighlights": cls.video_dir}

    def _load(self, split: str) -> list[Sample]:
        path = self.split_file(split)
        return [self._sample(split, Record(raw, path, f"line {n}"), n) for n, raw in read_jsonl(path)]

    def _sample(self, split: str, rec: Record, n: int) -> Sample:
        route = rec["route"]
        if route not in ROUTES:
            raise rec.error("route", f"expected one of {ROUTES}, got {route!r}")
        query = rec.text("query") if route in REPHRASED_ROUTES else rec.get("query")
        return self.sample(
            split,
            f"{n:07d}",
            video=resolve_video(self.root, rec.text("video_path")),
            duration=rec.number("duration") if "duration" in rec else None,
            question=rec.text("question"),
            data_type=str(rec.get("data_type", self.data_type)),
            task=("planning",),
            extra={"query": query, "route": route},
        )
