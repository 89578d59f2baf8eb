"""Ego4D-NaQ (``ego4d_naq/{train,val,test}.json``; videos under ``ego4d/v2/videos_3fps_480_noaudio``).

Video id -> {``num_frames``, ``fps``, ``exact_times``, ``sentences``}; duration = frames / fps. Queries with several
moments in a video are dropped. Training filters, as officially: videos of 10-600 s, no NLQ-style queries (starting
with a question word), no ``#unsure``, 3-30 words.
"""

from __future__ import annotations

from videomind.data.sources._common import OfficialSource, Record, json_items
from videomind.prompts import clean_query
from videomind.records import Sample

TRAIN_MIN_DURATION, TRAIN_MAX_DURATION = 10.0, 600.0  # seconds
TRAIN_MIN_WORDS, TRAIN_MAX_WORDS = 3, 30
NLQ_PREFIXES = ("who", "what", "when", "in what", "did", "where", "how", "i what")
UNSURE_TAG = "#unsure"
TIME_DECIMALS = 3


def keep_train_query(query: str) -> bool:
    words = len(query.split(" "))
    return (
        not query.startswith(NLQ_PREFIXES)
        and UNSURE_TAG not in query
        and TRAIN_MIN_WORDS <= words <= TRAIN_MAX_WORDS
    )


class Ego4DNaQ(OfficialSource):
    name = "ego4d_naq"
    task = "grounding"
    roles = ("grounder",)
    splits = ("train", "valid", "test")
    files = {"train": "train.json", "valid": "val.json", "test": "test.json"}
    video_folder = "ego4d/v2"

    def _load(self, split: str) -> list[Sample]:
        out = []
        for vid, rec in json_items(self.split_file(split)):
            duration = rec.number("num_frames") / rec.number("fps")
            if split == "train" and not TRAIN_MIN_DURATION <= duration <= TRAIN_MAX_DURATION:
                continue
            for query, span in self._single_moment_queries(rec, split):
                out.append(self.moment_sample(split, f"{vid}/{len(out)}", vid, duration, span, query=query))
        return out

    def _single_moment_queries(self, rec: Record, split: str) -> list[tuple[str, tuple[float, float]]]:
        sentences, spans = rec.texts("sentences"), rec.spans("exact_times")
        if len(sentences) != len(spans):
            raise rec.error("exact_times", f"{len(spans)} times for {len(sentences)} sentences")
        moments: dict[str, list[tuple[float, float]]] = {}
        for sentence, (s, e) in zip(sentences, spans):
            query = clean_query(sentence)
            if split != "train" or keep_train_query(query):
                moments.setdefault(query, []).append((round(s, TIME_DECIMALS), round(e, TIME_DECIMALS)))
        return [(q, found[0]) for q, found in moments.items() if len(found) == 1]
