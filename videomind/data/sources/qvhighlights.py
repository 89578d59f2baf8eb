"""QVHighlights (``qvhighlights/highlight_{train,val,test}_release.jsonl``): moment retrieval + highlight detection.

Each line: ``qid``, ``query``, ``duration``, ``vid``, ``relevant_windows`` (one or more [s, e] seconds),
``relevant_clip_ids`` and ``saliency_scores`` (2 s clips, 3 annotators). The test file has no ground truth.
``Sample.extra`` keeps ``qid``, ``vid``, ``relevant_windows``, ``relevant_clip_ids`` and ``saliency_scores`` under
those names for the highlight-detection metrics.
"""

from __future__ import annotations

from videomind.data.sources._common import OfficialSource, Record
from videomind.data.sources._io import read_jsonl
from videomind.prompts import clean_query
from videomind.records import Sample

HIGHLIGHT_FIELDS = ("qid", "vid", "relevant_windows", "relevant_clip_ids", "saliency_scores")


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
