"""MLVU dev set, multiple choice (test only; videos ``mlvu/video/<task dir>/<video>``).

Annotations: ``mlvu/json/{1_plotQA,...,7_topic_reasoning}.json`` (the Hugging Face release, as VideoMind ships it) or
``mlvu/data/<same names>.json`` (the same files as published in JUNJIE99/MLVU's ``data/`` folder on GitHub, whose
``8_sub_scene`` and ``9_summary`` open-ended tasks are not read). Each record: ``video`` (file name), ``question``,
``candidates``, ``answer`` (text), ``question_type`` (task), ``duration``. The files' ``duration`` is not used, as
VideoMind reads the video's own at inference (``Sample.duration`` is None).

As published, a few candidates are empty texts (4 records of the GitHub release; in two of ``3_ego.json`` the answer
is the empty text): they are kept, as MLVU's own evaluation and VideoMind's loader keep them (the answer's letter is
that of its first equal candidate). Records without a question text or whose answer is not one of their candidates
are not multiple-choice questions: they are skipped with a warning (3 of the 2,175 of the GitHub release:
``2_needle.json`` records 34 and 338, ``7_topic_reasoning.json`` record 26, all blank; MLVU's own evaluation counts
them as wrong answers).
"""

from __future__ import annotations

import logging

from videomind.data.sources._common import OfficialSource, Record, json_records
from videomind.data.sources._questions import answer_letter, mcq
from videomind.records import Sample

log = logging.getLogger(__name__)

# question_type -> folder of its videos and name of its json file
TASK_DIRS = {
    "plotQA": "1_plotQA",
    "findNeedle": "2_needle",
    "ego": "3_ego",
    "count": "4_count",
    "order": "5_order",
    "anomaly_reco": "6_anomaly_reco",
    "topic_reasoning": "7_topic_reasoning",
}
ANNOTATION_DIRS = ("json", "data")  # the Hugging Face release (VideoMind's), the GitHub release


def candidates(rec: Record) -> list[str]:
    """The ``candidates`` as texts, empty ones included (as published)."""
    value = rec["candidates"]
    if (
        not isinstance(value, list)
        or len(value) < 2
        or not all(isinstance(c, (str, int, float)) and not isinstance(c, bool) for c in value)
    ):
        raise rec.error("candidates", f"expected a list of at least two texts, got {value!r}")
    return [str(c) for c in value]


class MLVU(OfficialSource):
    name = "mlvu"
    task = "qa"
    roles = ("grounder", "verifier", "answerer")
    splits = ("test",)
    files = {"test": f"json/{TASK_DIRS['plotQA']}.json"}
    video_dir = "video"
    data_type = "multimodal"

    def _load(self, split: str) -> list[Sample]:
        out = []
        for folder in TASK_DIRS.values():
            path = self.first_file(split, [f"{d}/{folder}.json" for d in ANNOTATION_DIRS])
            skipped = []
            for i, rec in enumerate(json_records(path)):
                options = candidates(rec)
                if str(rec["answer"]) not in options or not str(rec.get("question") or "").strip():
                    skipped.append(str(i))
                    continue
                out.append(self._sample(split, f"{folder}/{i}", rec, options))
            if skipped:
                log.warning("mlvu: %s: records %s: no question text or an answer that is not one of the candidates; skipped", path,
                            ", ".join(skipped))  # fmt: skip
        return out

    def _sample(self, split: str, key: str, rec: Record, options: list[str]) -> Sample:
        task = rec.text("question_type")
        if task not in TASK_DIRS:
            raise rec.error("question_type", f"unknown task {task!r}; known: {', '.join(TASK_DIRS)}")
        fields = mcq(rec.text("question"), options, answer_letter(options, str(rec["answer"])))
        return self.sample(
            split,
            key,
            video=str(self.video_root() / TASK_DIRS[task] / rec.text("video")),
            task=(task,),
            **fields,
        )
