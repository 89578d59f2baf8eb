"""DiDeMo (``didemo/{train,val,test}_data.json``, as LisaAnne/LocalizingMoments publishes them and VideoMind ships them).

Each record: ``video`` (file name), ``times`` (one [first, last] 5-second segment index pair per annotator),
``description``. The span is the annotators' mean converted to seconds: start = round(5 * s), end = round(5 * (e + 1))
(Python rounding, as the official loader).

Durations and videos: with VideoMind's ``durations.json``, its compressed videos ``videos_3fps_480_noaudio/<id>.mp4``
(``<id>`` = the file name up to its first dot). The original release has no durations (only the frame rates in
``frame_rate_clean.p``; annotations stop at 30 s): without ``durations.json`` each video is measured, taking the first
file found of ``videos_3fps_480_noaudio/<id>.mp4``, ``videos/<video>`` (the release's Flickr download script) and
``videos/<video>.mp4`` (its AWS download script); the log says which durations were used.

Fix (REFERENCE s.13.18): the official loader shifts every training span by ``random.randint(-2, 2)`` seconds once at
load time, so the "augmentation" is frozen for the whole run and differs between processes. Sources only parse
here: spans are never shifted; ``TRAIN_SHIFT`` is the official jitter range for training code that wants it.
"""

from __future__ import annotations

from videomind.data.sources._common import DURATIONS_FILE, OfficialSource, Record, json_records
from videomind.data.sources._durations import first_existing, probe_durations, source_log
from videomind.errors import DataError
from videomind.prompts import clean_query
from videomind.records import Sample

SEGMENT_SECONDS = 5
TRAIN_SHIFT = 2.0  # seconds, official per-load jitter range (not applied here)
RAW_VIDEO_DIR = "videos"  # the original release's download scripts' default --video_directory


def didemo_span(times: list) -> tuple[float, float]:
    """Mean of the annotators' segment index pairs, in seconds."""
    if not times or any(len(t) != 2 for t in times):
        raise ValueError(f"expected a non-empty list of [first, last] segment indices, got {times!r}")
    s = sum(float(t[0]) for t in times) / len(times)
    e = sum(float(t[1]) for t in times) / len(times)
    return float(round(s * SEGMENT_SECONDS)), float(round((e + 1) * SEGMENT_SECONDS))


class DiDeMo(OfficialSource):
    name = "didemo"
    task = "grounding"
    roles = ("grounder",)
    splits = ("train", "valid", "test")
    files = {"train": "train_data.json", "valid": "val_data.json", "test": "test_data.json"}

    def _load(self, split: str) -> list[Sample]:
        records = list(json_records(self.split_file(split)))
        with_ids = [(rec, rec.text("video"), rec.text("video").split(".")[0]) for rec in records]
        videos, durations = self._videos_and_durations({vid: name for _, name, vid in with_ids})
        return [self._sample(rec, split, i, vid, videos[vid], durations)
                for i, (rec, _, vid) in enumerate(with_ids)]  # fmt: skip

    def _videos_and_durations(self, names: dict[str, str]) -> tuple[dict[str, str], dict[str, float]]:
        """``({id: video path}, {id: seconds})``: VideoMind's durations.json and videos, else the videos found,
        measured."""
        log = source_log(self)
        if self.optional_file(DURATIONS_FILE) is not None:
            path, table = self.durations()
            log.info("didemo: durations from %s", path)
            return {vid: self.video(f"{vid}.mp4") for vid in names}, dict(table)
        log.info("didemo: no %s (the original release has none): measuring the videos", DURATIONS_FILE)
        videos = {vid: self._find_video(vid, name) for vid, name in sorted(names.items())}
        return videos, probe_durations(self, videos, (DURATIONS_FILE,))

    def _find_video(self, vid: str, name: str) -> str:
        raw = str(self.path / RAW_VIDEO_DIR)
        candidates = (self.video(f"{vid}.mp4"), f"{raw}/{name}", f"{raw}/{name}.mp4")
        found = first_existing(candidates)
        if found is None:
            raise DataError(
                f"didemo: no {DURATIONS_FILE} in {self.path} and no video of {name!r} to measure: looked for "
                f"{', '.join(candidates)}; add durations.json or the videos (docs/DATA.md)"
            )
        return found

    def _sample(self, rec: Record, split: str, i: int, vid: str, video: str, durations) -> Sample:
        with rec.field("times"):
            span = didemo_span(rec["times"])
        if vid not in durations:
            raise rec.error(
                "video", f"video id {vid!r} is not in {self.path / DURATIONS_FILE}; re-download it"
            )
        with rec.field("duration"):
            duration = float(durations[vid])
        return self.sample(
            split,
            str(rec.get("annotation_id", i)),
            video=video,
            duration=duration,
            query=clean_query(rec.text("description")),
            spans=[span],
            extra={"vid": vid},
        )
