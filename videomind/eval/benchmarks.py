"""The benchmark table: the 15 benchmarks of the paper's results tables, plus ``synthetic`` and ``custom``.

One frozen :class:`Benchmark` per entry in the ``BENCHMARKS`` dict literal: which data source and split it reads,
how it is scored (a :class:`videomind.metrics.report.MetricSpec` whose ``headline`` are the paper's columns and whose
``iou_rule`` is how the benchmark's official script computes IoU / IoP: QVHighlights and ReXTime their own
Moment-DETR-based scripts, NExT-GQA its ``eval_ground.py``, every other benchmark VideoMind's ``eval_auto.py``, the
``MetricSpec`` default), which roles run and how. Rounding unit, answer crop and the answerer's frame budget are the per-dataset inference settings of
``DATASET_CONSTANTS`` below (one table, shared by the benchmarks and their ``_crop`` / ``_grounding`` variants); the
other roles' budgets come from ``videomind.video.budget``. docs/EVALUATION.md prints the table.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from types import MappingProxyType
from typing import Any

from videomind.agent.options import DEFAULT_UNIT, AnswerCrop
from videomind.errors import UserInputError
from videomind.metrics.grounding import MOMENT_DETR_RULE, NEXTGQA_RULE
from videomind.metrics.highlights import RECALL_THRESHOLDS
from videomind.metrics.qa import CGBENCH_THRESHOLDS
from videomind.metrics.report import MetricSpec
from videomind.records import Role
from videomind.video.budget import (
    ANSWERER_BUDGET,
    GROUNDER_BUDGET,
    PLANNER_BUDGET,
    VERIFIER_BUDGET,
    FrameBudget,
)

GROUNDED_QA, VTG, RTL, VIDEO_QA, SYNTHETIC, CUSTOM = (
    "Grounded VideoQA",
    "Video Temporal Grounding",
    "Reasoning Temporal Localization",
    "General VideoQA",
    "Synthetic",
    "Your own data",
)
ZERO_SHOT, FINE_TUNED = "ZS", "FT"
VTG_HEADLINE = ("R1@0.3", "R1@0.5", "R1@0.7", "mIoU")


# Per-dataset inference settings (REFERENCE.md s.6, s.7.1, s.10): ``unit`` is the rounding unit of predicted
# timestamps in seconds; ``answer_crop`` the minimum length of the answerer's clip; ``answerer_budget`` overrides the
# answerer's frame budget. Everything not listed uses ``DEFAULT_CONSTANTS``.


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


@dataclass(frozen=True)
class Benchmark:
    """One evaluation benchmark.

    ``answer_style`` is the answerer's prompt style (``"mcq"``: options plus the "Best Option: (" prefill) or
    ``None`` when no answerer runs; ``use_verifier`` says whether the verifier re-ranks the grounder's top-5;
    ``load_kwargs`` are passed to the source's ``load`` (the synthetic source selects sample kinds with them).
    """

    name: str
    title: str
    group: str
    source: str
    split: str
    metrics: MetricSpec
    answer_style: str | None = "mcq"
    use_grounder: bool = True
    use_verifier: bool = True
    setting: str = ZERO_SHOT
    load_kwargs: Mapping[str, Any] = field(default_factory=dict)
    note: str = ""

    @property
    def constants(self) -> DatasetConstants:
        return dataset_constants(self.source)

    @property
    def unit(self) -> float:
        """Rounding unit of predicted timestamps, seconds."""
        return self.constants.unit

    @property
    def answer_crop(self) -> AnswerCrop:
        return self.constants.answer_crop

    @property
    def roles(self) -> tuple[Role, ...]:
        """Roles that run, in order (the official scripts never enable the planner)."""
        out = [Role.GROUNDER] if self.use_grounder else []
        out += [Role.VERIFIER] if self.use_verifier else []
        out += [Role.ANSWERER] if self.answer_style else []
        return tuple(out)

    @property
    def budgets(self) -> dict[Role, FrameBudget]:
        """Frame budget of every role (the answerer's is per dataset)."""
        return {
            Role.PLANNER: PLANNER_BUDGET,
            Role.GROUNDER: GROUNDER_BUDGET,
            Role.VERIFIER: VERIFIER_BUDGET,
            Role.ANSWERER: self.constants.answerer_budget,
        }

    def to_dict(self) -> dict[str, Any]:
        crop = self.answer_crop
        return {
            "name": self.name,
            "title": self.title,
            "group": self.group,
            "source": self.source,
            "split": self.split,
            "family": self.metrics.family,
            "headline": list(self.metrics.headline),
            "roles": [r.value for r in self.roles],
            "answer_style": self.answer_style,
            "unit": self.unit,
            "answer_crop": {"min_len": crop.min_len, "min_ratio": crop.min_ratio},
            "setting": self.setting,
            "iou_rule": self.metrics.iou_rule.name,
        }


def _qa(headline: tuple[str, ...] = ("Acc",), task_mean: bool = False) -> MetricSpec:
    return MetricSpec(family="qa", headline=headline, task_mean=task_mean)


BENCHMARKS: Mapping[str, Benchmark] = MappingProxyType(
    {
        "cgbench": Benchmark(
            "cgbench", "CG-Bench (mini)", GROUNDED_QA, "cgbench", "test",
            MetricSpec("cgbench", top_k=(1,), iou_thresholds=CGBENCH_THRESHOLDS,
                       headline=("long-acc.", "mIoU", "rec.@IoU", "acc.@IoU")),
        ),
        "rextime": Benchmark(
            "rextime", "ReXTime (val)", GROUNDED_QA, "rextime", "valid",
            MetricSpec("grounded_qa", headline=("R1@0.3", "R1@0.5", "mIoU", "Acc", "Acc@IoU"),
                       iou_rule=MOMENT_DETR_RULE),
        ),
        "nextgqa": Benchmark(
            "nextgqa", "NExT-GQA (test)", GROUNDED_QA, "nextgqa", "test",
            MetricSpec("grounded_qa",
                       headline=("R1@0.3", "R1@0.5", "mIoU", "R@IoP0.3", "R@IoP0.5", "mIoP", "Acc@GQA"),
                       iou_rule=NEXTGQA_RULE),
        ),
        "deve_qa": Benchmark(
            "deve_qa", "DeVE-QA (val)", GROUNDED_QA, "deve_qa", "valid",
            MetricSpec("grounded_qa", headline=("R1@0.5", "mIoU", "R@IoP0.5", "mIoP", "Acc", "Acc@GQA")),
            note="15th benchmark (paper v3); no official loader exists, needs a `deve_qa` data source",
        ),
        "charades_sta": Benchmark(
            "charades_sta", "Charades-STA (test)", VTG, "charades_sta", "test",
            MetricSpec("grounding", headline=VTG_HEADLINE), answer_style=None,
        ),
        "activitynet_captions": Benchmark(
            "activitynet_captions", "ActivityNet-Captions (val_2)", VTG, "activitynet_captions", "test",
            MetricSpec("grounding", headline=VTG_HEADLINE), answer_style=None,
            note="the source's test split is val_2.json",
        ),
        "qvhighlights": Benchmark(
            "qvhighlights", "QVHighlights (val)", VTG, "qvhighlights", "valid",
            MetricSpec("qvhighlights", top_k=(1, 5), iou_thresholds=RECALL_THRESHOLDS,
                       headline=("R1@0.5", "R1@0.7", "mAP@0.5", "mAP@0.75", "mAP", "HL-mAP", "HIT@1"),
                       iou_rule=MOMENT_DETR_RULE),
            answer_style=None, use_verifier=False, setting=FINE_TUNED,
            note="grounder only, every candidate kept; the test split scores too with highlight_test_with_gt.jsonl",
        ),
        "tacos": Benchmark(
            "tacos", "TACoS (test)", VTG, "tacos", "test",
            MetricSpec("grounding", headline=VTG_HEADLINE), answer_style=None, setting=FINE_TUNED,
        ),
        "ego4d_nlq": Benchmark(
            "ego4d_nlq", "Ego4D-NLQ (val)", VTG, "ego4d_nlq", "valid",
            MetricSpec("grounding", headline=VTG_HEADLINE), answer_style=None,
        ),
        "activitynet_rtl": Benchmark(
            "activitynet_rtl", "ActivityNet-RTL (val)", RTL, "activitynet_rtl", "test",
            MetricSpec("rtl", headline=("P@0.5", "mIoU")), answer_style=None,
            note="the source's test split is annot_val_1_q229.json",
        ),
        "videomme": Benchmark(
            "videomme", "Video-MME (w/o subs)", VIDEO_QA, "videomme", "test", _qa(),
            note="tasks are the duration classes (the paper reports All and Long)",
        ),
        "mlvu": Benchmark("mlvu", "MLVU", VIDEO_QA, "mlvu", "test", _qa(("M-Avg", "Acc"), task_mean=True)),
        "lvbench": Benchmark("lvbench", "LVBench", VIDEO_QA, "lvbench", "test", _qa()),
        "mvbench": Benchmark("mvbench", "MVBench", VIDEO_QA, "mvbench", "test", _qa(("M-Avg", "Acc"), True)),
        "longvideobench": Benchmark(
            "longvideobench", "LongVideoBench (val)", VIDEO_QA, "longvideobench", "valid", _qa(),
            note="tasks are the duration groups",
        ),
        "synthetic": Benchmark(
            "synthetic", "Synthetic shapes (test)", SYNTHETIC, "synthetic", "test",
            MetricSpec("grounded_qa",
                       headline=("R1@0.3", "R1@0.5", "R1@0.7", "mIoU", "mIoP", "Acc", "Acc@IoU", "Acc@GQA")),
            setting=FINE_TUNED,  # the tiny model is trained on the synthetic train split
            load_kwargs=MappingProxyType({"kind": ("grounding", "mcq", "qa")}),
            note="grounding queries, grounded and whole-video questions of `videomind synth make`",
        ),
        "custom": Benchmark(
            "custom", "Your own data (test.jsonl)", CUSTOM, "custom", "test",
            MetricSpec("auto", headline=("R1@0.3", "R1@0.5", "R1@0.7", "mIoU", "Acc", "Acc@IoU")),
            note="docs/DATA.md's JSON-lines schema; every metric the samples allow (grounding with spans, accuracy "
            "with options and answers); --data-root is the folder holding test.jsonl (or a root with custom/)",
        ),
    }
)  # fmt: skip


def list_benchmarks() -> list[str]:
    return list(BENCHMARKS)


def get_benchmark(name: str) -> Benchmark:
    """The table entry of a benchmark; a clear error naming the known ones otherwise."""
    try:
        return BENCHMARKS[name]
    except KeyError:
        raise UserInputError(f"unknown benchmark {name!r}; choose one of: {', '.join(BENCHMARKS)}") from None
