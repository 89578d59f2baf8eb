"""ReXTime (``rextime/rextime_{train,val,test_release}.json``; videos and durations from ``activitynet/`` for
13-character ids, else ``qvhighlights/``).

Each record: ``vid``, ``question``, ``options``, ``answer`` ("From <s0> to <e0>, ..." prefix removed), ``ans``,
``span``, ``category`` (task). The test release has no ground truth (answer and span are then empty).
Variants: ``rextime_crop`` (answerer on the ground-truth clip) and ``rextime_grounding`` (grounder on the question).
"""

from __future__ import annotations

from videomind.data.sources._common import OfficialSource, Record, capitalize_first, json_records, mcq
from videomind.records import Sample

ANET_ID_LEN = 13
ANSWER_PREFIX = "From <s0> to <e0>, "


class ReXTime(OfficialSource):
    name = "rextime"
    task = "grounded_qa"
    roles = ("grounder", "verifier", "answerer")
    splits = ("train", "valid", "test")
    files = {"train": "rextime_train.json", "valid": "rextime_val.json", "test": "rextime_test_release.json"}
    extra_folders = ("activitynet", "qvhighlights")
    data_type = "multimodal"

    @classmethod
    def video_dirs(cls) -> dict[str, str]:
        return {"activitynet": cls.video_dir, "qvhighlights": cls.video_dir}

    def _load(self, split: str) -> list[Sample]:
        tables = {
            "activitynet": self.durations("activitynet"),
            "qvhighlights": self.durations("qvhighlights"),
        }
        out = []
        for i, rec in enumerate(json_records(self.split_file(split))):
            vid = str(rec["vid"])
            folder = "activitynet" if len(vid) == ANET_ID_LEN else "qvhighlights"
            out.append(
                self.sample(
                    split,
                    str(rec.get("qid", f"{vid}/{i}")),
                    video=self.video(f"{vid}.mp4", folder),
                    duration=self.duration_of(tables[folder], vid, rec),
                    spans=[rec.span("span")] if rec.get("span") else [],
                    task=(str(rec["category"]),) if "category" in rec else (),
                    extra={"vid": vid},
                    **self._question(rec),
                )
            )
        return out

    @staticmethod
    def _question(rec: Record) -> dict:
        options = [capitalize_first(o) for o in rec.texts("options")]
        if rec.get("ans") in (None, "") or not rec.get("answer"):
            return mcq(rec.text("question"), options, None)
        answer = capitalize_first(rec.text("answer").replace(ANSWER_PREFIX, ""))
        with rec.field("ans"):
            return mcq(rec.text("question"), options, rec["ans"], answer)


class ReXTimeCrop(ReXTime):
    name = "rextime_crop"
    folder = "rextime"
    task = "qa"
    roles = ("answerer",)
    crop = True


class ReXTimeGrounding(ReXTime):
    name = "rextime_grounding"
    folder = "rextime"
    task = "grounding"
    roles = ("grounder",)
    data_type = "grounding"
