"""QuerYD (``queryd/``, train only): ``train_list.txt`` (video ids, one a line), ``raw_captions_combined_filtered-v2.pkl``
(id -> list of word lists), ``times_captions_combined_filtered-v2.pkl`` (id -> list of [s, e]) and ``durations.json``.

The video file name is the id without its 6-character prefix (``video-``); ids without a duration are skipped, as
officially. The pickles are read with a loader that refuses anything but plain data.

The original release (the QuerYD pages of the Oxford VGG site) has no ``durations.json`` and its README renames the
pickles without the ``-v2`` suffix: both names are read, and without ``durations.json`` the videos are measured, each
taken from VideoMind's ``videos_3fps_480_noaudio/<id>.mp4`` or the QuerYD downloader's ``videos/video-<id>.mp4``;
listed ids without a video are skipped (the log counts them).
"""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path
from typing import Any

from videomind.data.sources._common import DURATIONS_FILE, OfficialSource, Record, to_span
from videomind.data.sources._durations import first_existing, probe_durations, source_log
from videomind.data.sources._io import read_lines, read_pickle
from videomind.errors import DataError
from videomind.prompts import clean_query
from videomind.records import Sample

ID_PREFIX_LEN = 6
# VideoMind's names, then the names QuerYD's README renames the downloads to
QUERY_FILES = ("raw_captions_combined_filtered-v2.pkl", "raw_captions_combined_filtered.pkl")
SPAN_FILES = ("times_captions_combined_filtered-v2.pkl", "times_captions_combined_filtered.pkl")
RAW_VIDEO_DIR = "videos"  # the QuerYD downloader's default --video_dir (files "video-<id>.<ext>")


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
        query_path = self.first_file(split, QUERY_FILES, "caption file")
        span_path = self.first_file(split, SPAN_FILES, "time-stamp file")
        queries, times = _table(query_path), _table(span_path)
        ids = [vid for _, vid in read_lines(ids_path)]
        videos, durations = self._videos_and_durations(ids)
        out = []
        for vid in ids:
            name = vid[ID_PREFIX_LEN:]
            if name not in durations:
                continue
            captions = _entry(queries, query_path, vid, "captions")
            spans = _entry(times, span_path, vid, "times")
            with spans.field("times"):
                pairs = [to_span(t) for t in spans["times"]]
            with captions.field("captions"):
                texts = [" ".join(str(w) for w in _as_list(c)) for c in captions["captions"]]
            video = videos.get(name) or self.video(f"{name}.mp4")
            out.extend(self._video_samples(split, name, video, float(durations[name]), texts, pairs))
        return out

    def _videos_and_durations(self, ids: list[str]) -> tuple[dict[str, str], dict]:
        """``({name: video path}, {name: seconds})``: VideoMind's durations.json, else the videos found, measured."""
        log = source_log(self)
        if self.optional_file(DURATIONS_FILE) is not None:
            path, table = self.durations()
            log.info("queryd: durations from %s", path)
            return {}, table
        raw = str(self.path / RAW_VIDEO_DIR)
        found = {vid[ID_PREFIX_LEN:]: first_existing((self.video(f"{vid[ID_PREFIX_LEN:]}.mp4"), f"{raw}/{vid}.mp4"))
                 for vid in ids}  # fmt: skip
        videos = {name: path for name, path in found.items() if path is not None}
        if not videos:
            raise DataError(
                f"queryd: no {DURATIONS_FILE} in {self.path} and none of the {len(ids)} listed videos in "
                f"{self.video_root()} or {raw} (as video-<id>.mp4) to measure; add durations.json or the videos"
            )
        log.info(
            "queryd: no %s: measuring the %d of %d listed videos found", DURATIONS_FILE, len(videos), len(ids)
        )
        return videos, probe_durations(self, videos, (DURATIONS_FILE,))

    def _video_samples(
        self, split: str, name: str, video: str, duration: float, texts: list, pairs: list
    ) -> list[Sample]:
        return [
            self.sample(
                split,
                f"{name}/{i}",
                video=video,
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
