"""ActivityNet Captions (``activitynet_captions/{train,val_1,val_2}.json``, as published; videos under
``activitynet/``). Each key is a video id with ``duration``, ``sentences`` and ``timestamps``; one sample per
sentence, spans as annotated (111 of val_2's end past ``duration``; the official scripts score them so).

Durations: ``activitynet/durations.json`` (VideoMind's, measured on its compressed videos) when present, else each
file's own ``duration``; the log says which.

Splits: ``train`` = train.json, ``valid`` = val_1.json, ``test`` = val_2.json (the official mapping).
``activitynet_captions_bias``: "The moment before/after <sentence>" queries over consecutive events less than
``BIAS_MAX_GAP`` seconds apart.
"""

from __future__ import annotations

import logging

from videomind.data.sources._common import DURATIONS_FILE, OfficialSource, Record, json_items
from videomind.data.sources._questions import before_after
from videomind.prompts import clean_query
from videomind.records import Sample

log = logging.getLogger(__name__)

VIDEO_FOLDER = "activitynet"
BIAS_MAX_GAP = 3.0  # seconds


class ActivityNetCaptions(OfficialSource):
    name = "activitynet_captions"
    task = "grounding"
    roles = ("grounder",)
    splits = ("train", "valid", "test")
    files = {"train": "train.json", "valid": "val_1.json", "test": "val_2.json"}
    video_folder = VIDEO_FOLDER

    def _load(self, split: str) -> list[Sample]:
        path = self.split_file(split)
        durations = None
        if self.optional_file(DURATIONS_FILE, VIDEO_FOLDER) is not None:
            durations = self.durations()
            log.info("%s: durations from %s", self.name, durations[0])
        else:
            log.info("%s: no %s/%s: durations from %s's own 'duration'", self.name, VIDEO_FOLDER, DURATIONS_FILE,
                     path.name)  # fmt: skip
        out = []
        for vid, rec in json_items(path):
            duration = self.duration_of(durations, vid, rec) if durations else rec.number("duration")
            for i, (query, span) in enumerate(self._queries(rec)):
                out.append(self.moment_sample(split, f"{vid}/{i}", vid, duration, span, query=query))
        return out

    def _events(self, rec: Record) -> tuple[list[str], list[tuple[float, float]]]:
        sentences, spans = rec.texts("sentences"), rec.spans("timestamps")
        if len(sentences) != len(spans):
            raise rec.error("timestamps", f"{len(spans)} timestamps for {len(sentences)} sentences")
        return sentences, spans

    def _queries(self, rec: Record) -> list[tuple[str, tuple[float, float]]]:
        sentences, spans = self._events(rec)
        return [(clean_query(q), s) for q, s in zip(sentences, spans)]


class ActivityNetCaptionsBias(ActivityNetCaptions):
    name = "activitynet_captions_bias"
    folder = "activitynet_captions"

    def _queries(self, rec: Record) -> list[tuple[str, tuple[float, float]]]:
        sentences, spans = self._events(rec)
        return before_after(spans, sentences, BIAS_MAX_GAP)
