"""Per-dataset inference constants in one table (REFERENCE.md s.6, s.7.1, s.10).

``unit`` is the rounding unit of predicted timestamps in seconds; ``answer_crop`` decides the minimum length of the
clip the answerer sees; ``answerer_budget`` overrides the answerer's frame budget. Everything not listed uses
``DEFAULT_CONSTANTS``.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from videomind.video.budget import ANSWERER_BUDGET, FrameBudget

DEFAULT_UNIT = 0.001
DEFAULT_ANSWER_MIN_LEN = 32.0


@dataclass(frozen=True)
class AnswerCrop:
    """Minimum length of the answerer's clip: ``min_ratio`` of the duration if set, else ``min_len`` seconds."""

    min_len: float = DEFAULT_ANSWER_MIN_LEN
    min_ratio: float | None = None

    def min_length(self, duration: float) -> float:
        return duration * self.min_ratio if self.min_ratio is not None else self.min_len


@dataclass(frozen=True)
class DatasetConstants:
    unit: float = DEFAULT_UNIT
    answer_crop: AnswerCrop = field(default_factory=AnswerCrop)
    answerer_budget: FrameBudget = ANSWERER_BUDGET


DEFAULT_CONSTANTS = DatasetConstants()

DATASET_CONSTANTS: dict[str, DatasetConstants] = {
    "qvhighlights": DatasetConstants(unit=2.0),
    "qvhighlights_single": DatasetConstants(unit=2.0),
    "didemo": DatasetConstants(unit=1.0),
    "tacos": DatasetConstants(unit=0.001),
    "queryd": DatasetConstants(unit=0.001),
    "cosmo_cap": DatasetConstants(unit=1.0),
    "internvid_vtime": DatasetConstants(unit=0.1),
    "hirest_grounding": DatasetConstants(unit=1.0),
    "hirest_step": DatasetConstants(unit=1.0),
    "hirest_step_bias": DatasetConstants(unit=1.0),
    "charades_sta": DatasetConstants(unit=0.1),
    "activitynet_captions": DatasetConstants(unit=0.01),
    "activitynet_captions_bias": DatasetConstants(unit=0.01),
    "activitynet_rtl": DatasetConstants(unit=0.01),
    "ego4d_nlq": DatasetConstants(unit=0.001),
    "ego4d_naq": DatasetConstants(unit=0.001),
    "ego_timeqa": DatasetConstants(unit=0.001),
    "qa_ego4d": DatasetConstants(unit=0.001),
    "vid_morp": DatasetConstants(unit=0.001),
    "videoxum": DatasetConstants(unit=0.01),
    "youcook2": DatasetConstants(unit=1.0),
    "youcook2_bias": DatasetConstants(unit=1.0),
    "cgbench": DatasetConstants(unit=0.001),
    "rextime": DatasetConstants(unit=1.0, answer_crop=AnswerCrop(min_len=64.0)),
    "nextgqa": DatasetConstants(unit=0.1),
    "star": DatasetConstants(unit=0.1),
    "videomme": DatasetConstants(
        answer_crop=AnswerCrop(min_ratio=0.8),
        answerer_budget=FrameBudget.from_tokens(fps=2.0, max_frames=300, min_tokens=100, max_tokens=128),
    ),
    "mvbench": DatasetConstants(
        answer_crop=AnswerCrop(min_ratio=0.9),
        answerer_budget=FrameBudget.from_tokens(fps=2.0, max_frames=64, min_tokens=128, max_tokens=256),
    ),
    # The synthetic world: 10-120 s videos whose events last a few seconds, timestamps to 0.1 s. The official 32 s
    # minimum answer crop was chosen for minutes-long real videos (it would cover most of a synthetic video), so
    # the answerer's crop is scaled down to 4 s here: it sees the grounded event and a little context.
    "synthetic": DatasetConstants(unit=0.1, answer_crop=AnswerCrop(min_len=4.0)),
}


def dataset_constants(name: str) -> DatasetConstants:
    """Constants of a dataset (variants such as ``rextime_crop`` fall back to their base name)."""
    if name in DATASET_CONSTANTS:
        return DATASET_CONSTANTS[name]
    for base in sorted(DATASET_CONSTANTS, key=len, reverse=True):
        if name.startswith(base + "_"):
            return DATASET_CONSTANTS[base]
    return DEFAULT_CONSTANTS
