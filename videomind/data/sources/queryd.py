"""QuerYD (``queryd/``, train only): ``train_list.txt`` (video ids, one a line), ``raw_captions_combined_filtered-v2.pkl``
(id -> list of word lists), ``times_captions_combined_filtered-v2.pkl`` (id -> list of [s, e]) and ``durations.json``.

The video file name is the id without its 6-character prefix (``video-``); ids without a duration are skipped, as
officially. The pickles are read with a loader that refuses anything but plain data.
"""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path
from typing import Any

from videomind.data.sources._common import OfficialSource, Record, to_span
from videomind.data.sources._io import read_lines, read_pickle
from videomind.errors import DataError
from videomind.prompts import clean_query
from videomind.records import Sample

ID_PREFIX_LEN = 6
QUERY_FILE = "raw_captions_combined_filtered-v2.pkl"
SPAN_FILE = "times_captions_combined_filtered-v2.pkl"


def _table(path: Path) -> Mapping[str, Any]:
    data = read_pickle(path)
    if not isinstance(data, Mapping):
        raise DataError(f"{path}: expected a dict of video id -> list, got {type(data).__name__}")
    return data


def _as_list(value: Any) -> list:
    return value.tolist() if hasattr(value, "tolist") else list(value)


class QuerYD(OfficialSource):
    name = "queryd"
    task = "grounding"
    roles = ("grounder",)
    splits = ("train",)
    files = {"train": "train_list.txt"}

    def _load(self, split: str) -> list[Sample]:
        ids_path = self.split_file(split)
        query_path, span_path = self.file(QUERY_FILE), self.file(SPAN_FILE)
        queries, times = _table(query_path), _table(span_path)
        _, durations = self.durations()
        out = []
        for _, vid in read_lines(ids_path):
            name = vid[ID_PREFIX_LEN:]
            if name not in durations:
                continue
            captions = _entry(queries, query_path, vid, "captions")
            spans = _entry(times, span_path, vid, "times")
            with spans.field("times"):
                pairs = [to_span(t) for t in spans["times"]]
            with captions.field("captions"):
                texts = [" ".join(str(w) for w in _as_list(c)) for c in captions["captions"]]
            out.extend(self._video_samples(split, name, float(durations[name]), texts, pairs))
        return out

    def _video_samples(
        self, split: str, name: str, duration: float, texts: list, pairs: list
    ) -> list[Sample]:
        return [
            self.sample(
                split,
                f"{name}/{i}",
                video=self.video(f"{name}.mp4"),
                duration=duration,
                query=clean_query(q),
                spans=[t],
                extra={"vid": name},
            )
            for i, (q, t) in enumerate(zip(texts, pairs))
        ]


def _entry(table: Mapping[str, Any], path: Path, vid: str, field: str) -> Record:
    """The list stored under ``vid``, as a one-field record so errors name the file, the id and the field."""
    if vid not in table:
        raise DataError(f"{path}: key {vid!r}: missing (the id is listed in train_list.txt)")
    rec = Record({}, path, f"key {vid!r}")
    with rec.field(field):
        rec = Record({field: _as_list(table[vid])}, path, f"key {vid!r}")
    return rec
