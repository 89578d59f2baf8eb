"""ActivityNet-RTL (reasoning temporal localisation; ``activitynet_rtl/``, ActivityNet videos).

Train: ``activitynet_train_gpt-4-0613_temp_6_f10009.json``, video id -> {``duration``, ``QA``: [{``q``, ``a``}]};
the span is the first two ``<number>`` tags of the answer (records without two are skipped, as officially).
Test: ``annot_val_1_q229.json``, a list of {``vid``, ``duration``, ``question``, ``answer``}; videos are ``v_<vid>``.
"""

from __future__ import annotations

import re

from videomind.data.sources._common import OfficialSource, Record, json_items, json_records
from videomind.prompts import clean_query
from videomind.records import Sample

TIME_TAG = re.compile(r"<(\d+(?:\.\d+)?)>")


def tagged_span(answer: str) -> tuple[float, float] | None:
    """The first two ``<number>`` tags of an answer as a span, or None."""
    found = [float(m) for m in TIME_TAG.findall(answer)[:2]]
    return (found[0], found[1]) if len(found) == 2 else None


class ActivityNetRTL(OfficialSource):
    name = "activitynet_rtl"
    task = "grounding"
    roles = ("grounder",)
    splits = ("train", "test")
    files = {"train": "activitynet_train_gpt-4-0613_temp_6_f10009.json", "test": "annot_val_1_q229.json"}
    video_folder = "activitynet"

    def _load(self, split: str) -> list[Sample]:
        return self._train() if split == "train" else self._test()

    def _train(self) -> list[Sample]:
        out = []
        for vid, rec in json_items(self.split_file("train")):
            duration = rec.number("duration")
            with rec.field("QA"):
                qas = [Record(qa, rec.file, f"{rec.where} QA {i}") for i, qa in enumerate(rec["QA"])]
            for i, qa in enumerate(qas):
                span = tagged_span(qa.text("a"))
                if span is not None:
                    out.append(self._sample("train", f"{vid}/{i}", vid, duration, qa.text("q"), span))
        return out

    def _test(self) -> list[Sample]:
        out = []
        for i, rec in enumerate(json_records(self.split_file("test"))):
            span = tagged_span(rec.text("answer"))
            if span is None:
                raise rec.error("answer", "expected two <number> time tags")
            vid = f"v_{rec['vid']}"
            out.append(
                self._sample("test", f"{vid}/{i}", vid, rec.number("duration"), rec.text("question"), span)
            )
        return out

    def _sample(self, split: str, key: str, vid: str, duration: float, query: str, span) -> Sample:
        return self.sample(
            split,
            key,
            video=self.video(f"{vid}.mp4"),
            duration=duration,
            query=clean_query(query),
            spans=[span],
            extra={"vid": vid},
        )
