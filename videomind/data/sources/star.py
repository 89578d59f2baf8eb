"""STAR (``star/STAR_{train,val}.json``; Charades videos and ``durations.json`` under ``charades_sta/``).

Each record: ``video_id``, ``question_id`` (task = its prefix, e.g. "Interaction"), ``question``, ``choices``
([{``choice``}]), ``answer`` (text), ``start`` / ``end`` (seconds). Officially answered on the annotated clip without
jitter: ``extra["crop"]`` and ``extra["no_aug"]`` are set. There is no public test split with answers; the official
``test`` falls through to the validation file, here called ``valid``.
"""

from __future__ import annotations

from videomind.data.sources._common import OfficialSource, Record, answer_letter, json_records, mcq
from videomind.records import Sample


class STAR(OfficialSource):
    name = "star"
    task = "grounded_qa"
    roles = ("grounder", "verifier", "answerer")
    splits = ("train", "valid")
    files = {"train": "STAR_train.json", "valid": "STAR_val.json"}
    video_folder = "charades_sta"
    data_type = "multimodal"
    crop = True

    def _load(self, split: str) -> list[Sample]:
        durations = self.durations()
        out = []
        for i, rec in enumerate(json_records(self.split_file(split))):
            vid = rec.text("video_id")
            out.append(
                self.sample(
                    split,
                    str(rec.get("question_id", f"{vid}/{i}")),
                    video=self.video(f"{vid}.mp4"),
                    duration=self.duration_of(durations, vid, rec),
                    spans=[(rec.number("start"), rec.number("end"))],
                    task=(rec.text("question_id").split("_")[0],),
                    extra={"vid": vid, "no_aug": True},
                    **self._question(rec),
                )
            )
        return out

    @staticmethod
    def _question(rec: Record) -> dict:
        with rec.field("choices"):
            options = [str(c["choice"]) for c in rec["choices"]]
        with rec.field("answer"):
            return mcq(rec.text("question"), options, answer_letter(options, rec.text("answer")))
