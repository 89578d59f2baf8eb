"""MLVU (``mlvu/json/{1_plotQA,...,7_topic_reasoning}.json``, test only; videos ``mlvu/video/<task dir>/<video>``).

Each record: ``video`` (file name), ``question``, ``candidates``, ``answer`` (text), ``question_type`` (task).
No durations (read from the video at inference).
"""

from __future__ import annotations

from videomind.data.sources._common import OfficialSource, answer_letter, json_records, mcq
from videomind.records import Sample

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
            for i, rec in enumerate(json_records(self.file(f"json/{folder}.json"))):
                task = rec.text("question_type")
                if task not in TASK_DIRS:
                    raise rec.error("question_type", f"unknown task {task!r}; known: {', '.join(TASK_DIRS)}")
                options = rec.texts("candidates", numbers=True)
                with rec.field("answer"):
                    fields = mcq(rec.text("question"), options, answer_letter(options, str(rec["answer"])))
                out.append(
                    self.sample(
                        split,
                        f"{folder}/{i}",
                        video=str(self.video_root() / TASK_DIRS[task] / rec.text("video")),
                        task=(task,),
                        **fields,
                    )
                )
        return out
