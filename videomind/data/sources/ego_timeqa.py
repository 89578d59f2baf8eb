"""EgoTimeQA (``ego_timeqa/annotations.EgoTimeQA.json``, train only; videos and ``durations.json`` under
``ego4d/v2/``).

Each record: ``video_id``, ``question``, ``answer``, ``wrong_answers`` (three), ``moment_start_frame`` /
``moment_end_frame`` (30 fps). Filters, as officially: videos of 10-600 s, queries of 3-30 words; " l " in questions
is read as " I ". Variants: ``ego_timeqa_crop`` and ``ego_timeqa_grounding``.

Fix (REFERENCE s.13.18): the official loader inserts the answer among the wrong ones at a ``random.randint``
position on every load; here the position is a hash of the record (same on every load and process).
"""

from __future__ import annotations

from videomind.data.sources._common import OfficialSource
from videomind.data.sources._questions import capitalize_first, mcq, place_answer
from videomind.data.sources.qa_ego4d import NUM_OPTIONS, ego_records, frame_span
from videomind.prompts import clean_query
from videomind.records import Sample

MIN_WORDS, MAX_WORDS = 3, 30


class EgoTimeQA(OfficialSource):
    name = "ego_timeqa"
    task = "grounded_qa"
    roles = ("answerer",)
    splits = ("train",)
    files = {"train": "annotations.EgoTimeQA.json"}
    video_folder = "ego4d/v2"
    data_type = "multimodal"

    def _load(self, split: str) -> list[Sample]:
        out = []
        for i, rec, vid, duration in ego_records(self, self.split_file(split), train_filter=True):
            question = capitalize_first(rec.text("question").replace(" l ", " I "))
            words = len(clean_query(question).split(" "))
            if not MIN_WORDS <= words <= MAX_WORDS:
                continue
            answer = capitalize_first(rec.text("answer"))
            wrong = [capitalize_first(o) for o in rec.texts("wrong_answers", NUM_OPTIONS - 1)]
            options, letter = place_answer(f"{vid}|{question}|{answer}", answer, wrong)
            out.append(self.moment_sample(split, f"{vid}/{i}", vid, duration, frame_span(rec),
                                          **mcq(question, options, letter, answer)))  # fmt: skip
        return out


class EgoTimeQACrop(EgoTimeQA):
    name = "ego_timeqa_crop"
    folder = "ego_timeqa"
    task = "qa"
    crop = True


class EgoTimeQAGrounding(EgoTimeQA):
    name = "ego_timeqa_grounding"
    folder = "ego_timeqa"
    task = "grounding"
    roles = ("grounder",)
    data_type = "grounding"
