"""QVHighlights (``qvhighlights/highlight_{train,val,test}_release.jsonl``): moment retrieval + highlight detection.

Each line: ``qid``, ``query``, ``duration``, ``vid``, ``relevant_windows`` (one or more [s, e] seconds),
``relevant_clip_ids`` and ``saliency_scores`` (2 s clips, 3 annotators). The test split reads
``highlight_test_with_gt.jsonl`` (the ground truth jayleicn/moment_detr released when the evaluation server closed)
when it is there, else ``highlight_test_release.jsonl``, which has no ground truth.
``Sample.extra`` keeps ``qid``, ``vid``, ``relevant_windows``, ``relevant_clip_ids`` and ``saliency_scores`` under
those names for the highlight-detection metrics.
"""

from __future__ import annotations

import logging
from pathlib import Path

from videomind.data.sources._common import OfficialSource, Record
from videomind.data.sources._io import read_jsonl
from videomind.prompts import clean_query
from videomind.records import Sample

log = logging.getLogger(__name__)

HIGHLIGHT_FIELDS = ("qid", "vid", "relevant_windows", "relevant_clip_ids", "saliency_scores")
TEST_WITH_GT = "highlight_test_with_gt.jsonl"


class QVHighlights(OfficialSource):
    name = "qvhighlights"
    task = "grounding"
    roles = ("grounder",)
    splits = ("train", "valid", "test")
    files = {
        "train": "highlight_train_release.jsonl",
        "valid": "highlight_val_release.jsonl",
        "test": "highlight_test_release.jsonl",
    }

    def split_file(self, split: str) -> Path:
        if split == "test":
            path = self.first_file(split, (TEST_WITH_GT, self.files["test"]))
            if path.name != TEST_WITH_GT:
                log.info("qvhighlights: no %s, test has no ground truth (%s)", TEST_WITH_GT, path)
            return path
        return super().split_file(split)

    def _load(self, split: str) -> list[Sample]:
        path = self.split_file(split)
        out = []
        for n, raw in read_jsonl(path):
            rec = Record(raw, path, f"line {n}")
            windows = rec.spans("relevant_windows") if "relevant_windows" in rec else []
            if self._keep(windows):
                out.append(self._sample(rec, split, windows))
        return out

    def _keep(self, windows: list) -> bool:
        return True

    def _sample(self, rec: Record, split: str, windows: list) -> Sample:
        vid = str(rec.text("vid"))
        extra = {k: rec.get(k) for k in HIGHLIGHT_FIELDS if k in rec}
        return self.sample(
            split,
            str(rec["qid"]),
            video=self.video(f"{vid}.mp4"),
            duration=rec.number("duration"),
            query=clean_query(rec.text("query")),
            spans=windows,
            extra=extra,
        )


class QVHighlightsSingle(QVHighlights):
    """Training queries of QVHighlights with exactly one relevant window."""

    name = "qvhighlights_single"
    folder = "qvhighlights"
    roles = ("grounder",)
    splits = ("train",)

    def _keep(self, windows: list) -> bool:
        return len(windows) == 1
