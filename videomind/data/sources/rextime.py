"""ReXTime (``rextime/rextime_{train,val,test_release}.json``; videos and durations from ``activitynet/`` for
13-character ids, else ``qvhighlights/``).

Each record: ``vid``, ``question``, ``options``, ``answer`` ("From <s0> to <e0>, ..." prefix removed), ``ans``,
``span``, ``category`` (task). The test release has no ground truth (answer and span are then empty).

The validation split is also read as ReXTime publishes it on GitHub (``rextime/rextime_val.jsonl``, used when
``rextime_val.json`` is absent): JSON lines of ``qid``, ``query`` (the question), ``duration``, ``vid``,
``relevant_windows`` and ``ans``. That release has no option texts and no category: samples carry the answer letter
and ``extra["num_options"] = 4`` (so answers can be scored), and their own durations.
Variants: ``rextime_crop`` (answerer on the ground-truth clip) and ``rextime_grounding`` (grounder on the question).
"""

from __future__ import annotations

from pathlib import Path

from videomind.data.sources._common import OfficialSource, Record, json_records
from videomind.data.sources._io import read_jsonl
from videomind.data.sources._questions import capitalize_first, letter_index, mcq, option_letter
from videomind.prompts import clean_query, clean_question
from videomind.records import Sample

ANET_ID_LEN = 13
ANSWER_PREFIX = "From <s0> to <e0>, "
GITHUB_FILES = {"valid": ("rextime_val.jsonl",)}  # ReXTime/ReXTime data/
NUM_OPTIONS = 4  # every ReXTime question has four options


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
        path = self.first_file(split, (self.files[split], *GITHUB_FILES.get(split, ())))
        if path.suffix == ".jsonl":
            return self._load_github(path, split)
        tables = {
            "activitynet": self.durations("activitynet"),
            "qvhighlights": self.durations("qvhighlights"),
        }
        out = []
        for i, rec in enumerate(json_records(path)):
            vid = str(rec["vid"])
            folder = self._folder(vid)
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

    def _folder(self, vid: str) -> str:
        return "activitynet" if len(vid) == ANET_ID_LEN else "qvhighlights"

    def _load_github(self, path: Path, split: str) -> list[Sample]:
        out = []
        for n, raw in read_jsonl(path):
            rec = Record(raw, path, f"line {n}")
            vid, text = str(rec["vid"]), rec.text("query")
            with rec.field("ans"):
                letter = option_letter(letter_index(rec.text("ans"), NUM_OPTIONS))
            out.append(
                self.sample(
                    split,
                    str(rec["qid"]),
                    video=self.video(f"{vid}.mp4", self._folder(vid)),
                    duration=rec.number("duration"),
                    spans=rec.spans("relevant_windows"),
                    question=clean_question(text),
                    query=clean_query(text),
                    answer=letter,
                    extra={"vid": vid, "num_options": NUM_OPTIONS},
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
