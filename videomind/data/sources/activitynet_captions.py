"""ActivityNet Captions (``activitynet_captions/{train,val_1,val_2}.json``; videos and ``durations.json`` under
``activitynet/``). Each key is a video id with ``sentences`` and ``timestamps``; one sample per sentence.

Splits: ``train`` = train.json, ``valid`` = val_1.json, ``test`` = val_2.json (the official mapping).
``activitynet_captions_bias``: "The moment before/after <sentence>" queries over consecutive events less than
``BIAS_MAX_GAP`` seconds apart.
"""

from __future__ import annotations

from videomind.data.sources._common import OfficialSource, Record, before_after, json_items
from videomind.prompts import clean_query
from videomind.records import Sample

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
        durations = self.durations()
        out = []
        for vid, rec in json_items(self.split_file(split)):
            duration = self.duration_of(durations, vid, rec)
            for i, (query, span) in enumerate(self._queries(rec)):
                out.append(
                    self.sample(
                        split,
                        f"{vid}/{i}",
                        video=self.video(f"{vid}.mp4"),
                        duration=duration,
                        query=query,
                        spans=[span],
                        extra={"vid": vid},
                    )
                )
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
