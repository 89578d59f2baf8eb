"""Charades-STA (``charades_sta/charades_sta_{train,test}.txt`` + ``durations.json``).

Each line is ``<vid> <start> <end>##<query>``. Durations come from ``durations.json``.
"""

from __future__ import annotations

from videomind.data.sources._common import OfficialSource
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
        durations = self.durations()
        out = []
        for n, line in read_lines(path):
            vid, start, end, query = self._parse(path, n, line)
            if vid not in durations[1]:
                raise DataError(f"{path}: line {n}: field 'vid': {vid!r} is not in {durations[0]}")
            out.append(
                self.sample(
                    split,
                    f"{vid}/{n}",
                    video=self.video(f"{vid}.mp4"),
                    duration=float(durations[1][vid]),
                    query=clean_query(query),
                    spans=[(start, end)],
                    extra={"vid": vid},
                )
            )
        return out

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
