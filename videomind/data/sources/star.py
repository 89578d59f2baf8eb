"""STAR (``star/STAR_{train,val}.json``; Charades videos and durations under ``charades_sta/``).

Each record: ``video_id``, ``question_id`` (task = its prefix, e.g. "Interaction"), ``question``, ``choices``
([{``choice``}]), ``answer`` (text), ``start`` / ``end`` (seconds). Officially answered on the annotated clip without
jitter: ``extra["crop"]`` and ``extra["no_aug"]`` are set. There is no public test split with answers; the official
``test`` falls through to the validation file, here called ``valid``.

The annotation files are the ones STAR publishes (same names; its README links them on its own storage, with the
Charades videos from the Charades release). Durations of the Charades videos, first found in ``charades_sta/`` of:
``durations.json`` (VideoMind's), the ``length`` column of the Charades release's ``Charades_v1_train.csv`` and
``Charades_v1_test.csv`` (STAR uses videos of both), the videos themselves; the log says which.
"""

from __future__ import annotations

from videomind.data.sources._common import OfficialSource, Record, json_records
from videomind.data.sources._durations import CHARADES_CSVS, charades_durations
from videomind.data.sources._questions import answer_letter, mcq
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
        records = list(json_records(self.split_file(split)))
        vids = sorted({rec.text("video_id") for rec in records})
        videos = {vid: self.video(f"{vid}.mp4") for vid in vids}
        where, durations = charades_durations(self, tuple(CHARADES_CSVS.values()), videos, self.video_folder)
        out = []
        for i, rec in enumerate(records):
            vid = rec.text("video_id")
            if vid not in durations:
                raise rec.error("video_id", f"video id {vid!r} is not in {where}")
            with rec.field("video_id"):
                duration = float(durations[vid])
            out.append(
                self.sample(
                    split,
                    str(rec.get("question_id", f"{vid}/{i}")),
                    video=self.video(f"{vid}.mp4"),
                    duration=duration,
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
