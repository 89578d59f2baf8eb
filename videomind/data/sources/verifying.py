"""Verifier training sets ``{qvhighlights,didemo,tacos}_verify_{2b,7b}`` (``verifying/verifying_<set>_<size>.json``,
or every json in a folder of that name; each size's data was produced by that size's grounder).

Each raw record: ``video_path``, ``duration``, ``query``, ``span`` (ground truth) and ``pred`` (the grounder's ranked
candidates), optional ``task``. Each of the top ``TOP_K`` candidates becomes one sample: ``query``, ``spans`` (ground
truth), ``extra["candidate"]`` [s, e], ``extra["label"]`` "Yes" iff its best IoU with a ground-truth span is at least
``POSITIVE_IOU`` else "No", ``extra["iou"]`` and ``extra["rank"]`` (the same fields as the synthetic verifying
samples). As officially, positives and negatives are not rebalanced.
"""

from __future__ import annotations

from pathlib import Path

from videomind.data.sources._common import OfficialSource, Record, json_records, span_iou, to_span
from videomind.records import Sample

TOP_K = 5
POSITIVE_IOU = 0.5
OFFICIAL_DATA_PREFIX = "data/"


def resolve_video(root: Path, path: str) -> str:
    """An official ``video_path`` ("data/<folder>/...", relative to the repository) under our data root."""
    if Path(path).is_absolute():
        return path
    return str(root / (path[len(OFFICIAL_DATA_PREFIX) :] if path.startswith(OFFICIAL_DATA_PREFIX) else path))


class Verifying(OfficialSource):
    """Base of the six verifying sets; ``base`` and ``size`` name the file."""

    task = "verifying"
    roles = ("verifier",)
    splits = ("train",)
    folder = "verifying"
    data_type = "multimodal"
    base = ""
    size = ""

    @classmethod
    def folders(cls) -> tuple[str, ...]:
        return ("verifying", cls.base)

    @classmethod
    def video_dirs(cls) -> dict[str, str]:
        return {cls.base: cls.video_dir}

    def _files(self) -> list[Path]:
        stem = f"verifying_{self.base}_{self.size}"
        for folder in (self.path / f"{stem}.json", self.path / stem):  # the official code accepts a folder
            if folder.is_dir():
                return sorted(folder.glob("*.json"))
        return [self.file(f"{stem}.json")]

    def _load(self, split: str) -> list[Sample]:
        out = []
        for path in self._files():
            for i, rec in enumerate(json_records(path)):
                out.extend(self._candidates(split, f"{path.stem}/{i}", rec))
        return out

    def _candidates(self, split: str, key: str, rec: Record) -> list[Sample]:
        truth = rec.spans("span")
        with rec.field("pred"):
            preds = [to_span(p) for p in rec["pred"][:TOP_K]]
        out = []
        for k, cand in enumerate(preds):
            iou = max((span_iou(cand, g) for g in truth), default=0.0)
            out.append(
                self.sample(
                    split,
                    f"{key}/{k}",
                    video=resolve_video(self.root, rec.text("video_path")),
                    duration=rec.number("duration"),
                    query=rec.text("query"),
                    spans=truth,
                    task=(str(rec["task"]),) if "task" in rec else (),
                    extra={
                        "candidate": list(cand),
                        "label": "Yes" if iou >= POSITIVE_IOU else "No",
                        "iou": iou,
                        "rank": k,
                    },
                )
            )
        return out


class QVHighlightsVerify2B(Verifying):
    name, base, size = "qvhighlights_verify_2b", "qvhighlights", "2b"


class DiDeMoVerify2B(Verifying):
    name, base, size = "didemo_verify_2b", "didemo", "2b"


class TACoSVerify2B(Verifying):
    name, base, size = "tacos_verify_2b", "tacos", "2b"


class QVHighlightsVerify7B(Verifying):
    name, base, size = "qvhighlights_verify_7b", "qvhighlights", "7b"


class DiDeMoVerify7B(Verifying):
    name, base, size = "didemo_verify_7b", "didemo", "7b"


class TACoSVerify7B(Verifying):
    name, base, size = "tacos_verify_7b", "tacos", "7b"
