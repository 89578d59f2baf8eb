"""VideoXum (``videoxum/{train,val,test}_videoxum.json``; ActivityNet videos under ``activitynet/``).

Each record: ``video_id``, ``duration``, ``tsum`` (summary sentences) and ``vsum`` (per sentence, the spans of 10
annotators). One sample per sentence; the span is the annotators' mean, rounded to 2 decimals.

Fix (REFERENCE s.13.18): the official loader appends the last sample of every video a second time; each sentence
gives exactly one sample here.
"""

from __future__ import annotations

from videomind.data.sources._common import OfficialSource, Record, json_records, to_span
from videomind.prompts import clean_query
from videomind.records import Sample

NUM_ANNOTATORS = 10
SPAN_DECIMALS = 2


def mean_span(spans: list) -> tuple[float, float]:
    pairs = [to_span(s) for s in spans]
    if len(pairs) != NUM_ANNOTATORS:
        raise ValueError(f"expected {NUM_ANNOTATORS} annotator spans, got {len(pairs)}")
    s = round(sum(p[0] for p in pairs) / NUM_ANNOTATORS, SPAN_DECIMALS)
    e = round(sum(p[1] for p in pairs) / NUM_ANNOTATORS, SPAN_DECIMALS)
    return s, e


class VideoXum(OfficialSource):
    name = "videoxum"
    task = "grounding"
    roles = ("grounder",)
    splits = ("train", "valid", "test")
    files = {"train": "train_videoxum.json", "valid": "val_videoxum.json", "test": "test_videoxum.json"}
    video_folder = "activitynet"

    def _load(self, split: str) -> list[Sample]:
        out = []
        for rec in json_records(self.split_file(split)):
            out.extend(self._video(rec, split))
        return out

    def _video(self, rec: Record, split: str) -> list[Sample]:
        vid, duration = rec.text("video_id"), rec.number("duration")
        sentences, per_sentence = rec.texts("tsum"), rec["vsum"]
        with rec.field("vsum"):
            if len(per_sentence) != len(sentences):
                raise ValueError(f"{len(per_sentence)} span lists for {len(sentences)} sentences")
            spans = [mean_span(s) for s in per_sentence]
        return [
            self.moment_sample(split, f"{vid}/{i}", vid, duration, span, query=clean_query(q))
            for i, (q, span) in enumerate(zip(sentences, spans))
        ]
