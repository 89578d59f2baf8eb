"""Charades-STA (``charades_sta/charades_sta_{train,test}.txt``), as published by its authors and as VideoMind ships it.

Each line is ``<vid> <start> <end>##<query>``; spans are kept as annotated (562 of the 3,720 test spans end past the
video, and the official scripts score them so). Durations, in order of preference: ``durations.json`` (VideoMind's,
measured on its compressed videos), else the ``length`` column of the Charades release's
``Charades_v1_{train,test}.csv`` (what 2D-TAN reads), else the videos themselves; the log says which was used.
"""

from __future__ import annotations

from videomind.data.sources._common import OfficialSource
from videomind.data.sources._durations import CHARADES_CSVS, charades_durations
from videomind.data.sources._io import read_lines
from videomind.errors import DataError
from videomind.prompts import clean_query
from videomind.records import Sample

SEPARATOR = "##"


class CharadesSTA(OfficialSource):
    name = "charades_sta"
    task = "grounding"
    roles = ("grounder",)
    splits = ("train", "test")
    files = {"train": "charades_sta_train.txt", "test": "charades_sta_test.txt"}

    def _load(self, split: str) -> list[Sample]:
        path = self.split_file(split)
        lines = [(n, *self._parse(path, n, line)) for n, line in read_lines(path)]
        where, durations = self._durations(split, {vid for _, vid, *_ in lines})
        out = []
        for n, vid, start, end, query in lines:
            if vid not in durations:
                raise DataError(f"{path}: line {n}: field 'vid': {vid!r} is not in {where}")
            out.append(
                self.sample(
                    split,
                    f"{vid}/{n}",
                    video=self.video(f"{vid}.mp4"),
                    duration=float(durations[vid]),
                    query=clean_query(query),
                    spans=[(start, end)],
                    extra={"vid": vid},
                )
            )
        return out

    def _durations(self, split: str, vids: set[str]) -> tuple[str, dict]:
        """``(where from, {vid: seconds})``: durations.json, else Charades_v1_<split>.csv, else the videos."""
        videos = {v: self.video(f"{v}.mp4") for v in sorted(vids)}
        return charades_durations(self, (CHARADES_CSVS[split],), videos)

    @staticmethod
    def _parse(path, n: int, line: str) -> tuple[str, float, float, str]:
        info, sep, query = line.partition(SEPARATOR)
        parts = info.split()
        if not sep or len(parts) != 3 or not query.strip():
            raise DataError(
                f"{path}: line {n}: field 'line': expected '<vid> <start> <end>##<query>', got {line!r}"
            )
        try:
            return parts[0], float(parts[1]), float(parts[2]), query
        except ValueError as exc:
            raise DataError(f"{path}: line {n}: field 'start/end': not numbers in {line!r}") from exc
