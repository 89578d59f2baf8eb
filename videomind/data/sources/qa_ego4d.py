"""QAEgo4D (``qa_ego4d/annotations.QaEgo4D_{train,val_options,test_options}.json``; videos and ``durations.json``
under ``ego4d/v1/``).

Each record: ``video_id``, ``question``, ``answer``, ``moment_start_frame`` / ``moment_end_frame`` (30 fps), and
either ``options`` (the val/test option files) or ``wrong_answers`` (three). Training keeps videos of 10-600 s.
``test`` also reads GroundVQA's ``annotations.QaEgo4D_test_close.json`` (the close-ended test set under the name its
code loads; ``wrong_answers`` records) when VideoMind's file is absent.
Variants: ``qa_ego4d_crop`` (answerer on the clip) and ``qa_ego4d_grounding`` (grounder on the question).

Fix (REFERENCE s.13.18): without an options list the official loader inserts the answer at a ``random.randint``
position on every load (non-deterministic evaluation). Here the position is a hash of the record
(``place_answer``): the same on every load, machine and process.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

from videomind.data.sources._common import OfficialSource, Record, json_records
from videomind.data.sources._questions import answer_letter, capitalize_first, mcq, place_answer
from videomind.records import Sample

FRAME_RATE = 30.0
TIME_DECIMALS = 3
TRAIN_MIN_DURATION, TRAIN_MAX_DURATION = 10.0, 600.0  # seconds
NUM_OPTIONS = 4
# GroundVQA's name of the close-ended test set (Becomebright/GroundVQA, data/unified/; records with wrong_answers)
GROUNDVQA_FILES = {"test": ("annotations.QaEgo4D_test_close.json",)}


def frame_span(rec: Record) -> tuple[float, float]:
    s = round(rec.number("moment_start_frame") / FRAME_RATE, TIME_DECIMALS)
    return s, round(rec.number("moment_end_frame") / FRAME_RATE, TIME_DECIMALS)


def ego_records(
    source: OfficialSource, path: Path, train_filter: bool
) -> Iterator[tuple[int, Record, str, float]]:
    """``(index, record, video id, duration)`` of an Ego4D QA file; with ``train_filter`` only 10-600 s videos."""
    durations = source.durations()
    for i, rec in enumerate(json_records(path)):
        vid = rec.text("video_id")
        duration = source.duration_of(durations, vid, rec)
        if not train_filter or TRAIN_MIN_DURATION <= duration <= TRAIN_MAX_DURATION:
            yield i, rec, vid, duration


def ego_options(rec: Record, question: str, answer: str) -> tuple[list[str], str]:
    """Options and answer letter: the record's ``options`` if given, else the answer placed among the wrong ones."""
    if "options" in rec:
        options = [capitalize_first(o) for o in rec.texts("options", NUM_OPTIONS)]
        with rec.field("answer"):
            return options, answer_letter(options, answer)
    wrong = [capitalize_first(o) for o in rec.texts("wrong_answers", NUM_OPTIONS - 1)]
    return place_answer(f"{rec['video_id']}|{question}|{answer}", answer, wrong)


class QAEgo4D(OfficialSource):
    name = "qa_ego4d"
    task = "grounded_qa"
    roles = ("grounder", "verifier", "answerer")
    splits = ("train", "valid", "test")
    files = {
        "train": "annotations.QaEgo4D_train.json",
        "valid": "annotations.QaEgo4D_val_options.json",
        "test": "annotations.QaEgo4D_test_options.json",
    }
    video_folder = "ego4d/v1"
    data_type = "multimodal"

    def _load(self, split: str) -> list[Sample]:
        path = self.first_file(split, (self.files[split], *GROUNDVQA_FILES.get(split, ())))
        return [self._sample(split, f"{vid}/{i}", vid, duration, rec)
                for i, rec, vid, duration in ego_records(self, path, train_filter=split == "train")]  # fmt: skip

    def _sample(self, split: str, key: str, vid: str, duration: float, rec: Record) -> Sample:
        question = capitalize_first(rec.text("question"))
        answer = capitalize_first(rec.text("answer"))
        options, letter = ego_options(rec, question, answer)
        return self.moment_sample(
            split, key, vid, duration, frame_span(rec), **mcq(question, options, letter, answer)
        )


class QAEgo4DCrop(QAEgo4D):
    name = "qa_ego4d_crop"
    folder = "qa_ego4d"
    task = "qa"
    roles = ("answerer",)
    crop = True


class QAEgo4DGrounding(QAEgo4D):
    name = "qa_ego4d_grounding"
    folder = "qa_ego4d"
    task = "grounding"
    roles = ("grounder",)
    data_type = "grounding"
