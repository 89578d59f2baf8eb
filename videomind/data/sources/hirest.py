"""HiREST (``hirest/all_data_{train,val}.json``): query -> {video file: {relevant, clip, bounds, v_duration, steps}}.

``hirest_grounding``: one sample per relevant clip (span = ``bounds``); ``hirest_step``: one sample per step (query =
step ``heading``, span = ``absolute_bounds``); ``hirest_step_bias``: "The moment before/after <step>" queries over
adjacent steps. As officially, only videos present on disk are kept (checked on the exact file name).
"""

from __future__ import annotations

from collections.abc import Iterator

from videomind.data.sources._common import OfficialSource, Record, json_items, keep_on_disk
from videomind.data.sources._questions import before_after
from videomind.prompts import clean_query
from videomind.records import Sample


class HiRESTGrounding(OfficialSource):
    name = "hirest_grounding"
    folder = "hirest"
    task = "grounding"
    roles = ("grounder",)
    splits = ("train", "valid")
    files = {"train": "all_data_train.json", "valid": "all_data_val.json"}

    def _load(self, split: str) -> list[Sample]:
        out = []
        for qi, query, video_name, rec in self._clips(split):
            out.extend(self._from_clip(split, f"{video_name.split('.')[0]}/{qi}", query, video_name, rec))
        return keep_on_disk(self, out, self.videos_on_disk())

    def _clips(self, split: str) -> Iterator[tuple[int, str, str, Record]]:
        """``(query index, query, video file, record)`` of every relevant clip."""
        path = self.split_file(split)
        for qi, (query, videos) in enumerate(json_items(path)):
            for video_name, raw in videos.data.items():
                rec = Record(raw, path, f"key {query!r} / {video_name!r}")
                if rec["relevant"] and rec["clip"]:
                    yield qi, query, video_name, rec

    def _from_clip(self, split: str, key: str, query: str, video_name: str, rec: Record) -> list[Sample]:
        return [self._sample(split, key, video_name, rec, query, rec.span("bounds"))]

    def _sample(self, split, key, video_name, rec: Record, query: str, span) -> Sample:
        return self.sample(
            split,
            key,
            video=self.video(video_name),
            duration=rec.number("v_duration"),
            query=clean_query(query),
            spans=[span],
            extra={"vid": video_name.split(".")[0]},
        )


class HiRESTStep(HiRESTGrounding):
    name = "hirest_step"

    def _steps(self, rec: Record) -> list[tuple[str, tuple[float, float]]]:
        steps = rec["steps"]
        with rec.field("steps"):
            return [
                (str(step["heading"]), Record(step, rec.file, rec.where).span("absolute_bounds"))
                for step in steps
            ]

    def _from_clip(self, split, key, query, video_name, rec) -> list[Sample]:
        return [
            self._sample(split, f"{key}/{i}", video_name, rec, heading, span)
            for i, (heading, span) in enumerate(self._steps(rec))
        ]


class HiRESTStepBias(HiRESTStep):
    name = "hirest_step_bias"

    def _from_clip(self, split, key, query, video_name, rec) -> list[Sample]:
        steps = self._steps(rec)
        pairs = before_after([s for _, s in steps], [h for h, _ in steps])
        return [
            self._sample(split, f"{key}/{i}", video_name, rec, q, span) for i, (q, span) in enumerate(pairs)
        ]
