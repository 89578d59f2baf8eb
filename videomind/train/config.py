"""Training configuration: a typed dataclass schema, YAML presets and strict ``key=value`` overrides.

A config file has three sections, ``model``, ``data`` and ``train`` (every field below; unknown keys are errors).
Overrides use dotted paths into the schema: ``train.learning_rate=2e-4``, ``model.role=verifier``,
``data.datasets.0.root=/data``, ``data.datasets=[{name: synthetic, kind: grounding}]``; values are parsed as YAML.
``save_config`` writes the fully resolved config (every default filled in) beside the run.
"""

from __future__ import annotations

from dataclasses import dataclass, field, fields
from pathlib import Path
from typing import Any

import yaml

from videomind.data.conversations import (
    ANSWER_CROP_JITTER,
    ANSWER_CROP_MIN_LEN,
    DEFAULT_BUDGETS,
    TASKS,
    ExampleSettings,
)
from videomind.data.mixing import SampleFilter, SourceSpec
from videomind.errors import UserInputError
from videomind.model.adapters import LoraSettings
from videomind.model.bases import FAMILIES
from videomind.model.grounding_head import TimestampDecoderConfig
from videomind.model.tiny import TinyShape
from videomind.train.optim import OPTIMIZERS, SCHEDULERS
from videomind.train.schema import build, read_yaml, set_override, to_dict
from videomind.video.budget import PATCH_AREA, FrameBudget

TRAIN_ROLES = ("grounder", "verifier", "planner", "answerer", "base")
PRECISIONS = ("fp32", "bf16", "fp16")
RESOLVED_CONFIG = "train_config.yaml"
TINY_BASE = "tiny"  # model.base value: build a tiny random Qwen2-VL in-process (tests, CPU experiments)


@dataclass
class BudgetConfig:
    """A frame budget: frames per second, frame-count bounds, visual tokens per frame (x 28x28 pixels)."""

    fps: float
    max_frames: int
    min_tokens: int
    max_tokens: int
    min_frames: int = 4

    def budget(self) -> FrameBudget:
        return FrameBudget(self.fps, self.max_frames, self.min_tokens * PATCH_AREA, self.max_tokens * PATCH_AREA,
                           self.min_frames)  # fmt: skip


@dataclass(frozen=True)
class TinyConfig(TinyShape):
    """The tiny random model built when ``model.base: tiny``: every size of ``TinyShape`` (the model's own record,
    so a new size cannot be forgotten here, its base family included) plus the seed of its random weights."""

    seed: int = 0

    def shape(self) -> TinyShape:
        return TinyShape(**{f.name: getattr(self, f.name) for f in fields(TinyShape)})


@dataclass
class ModelConfig:
    """What to train. ``base``: a Qwen2-VL folder or hub id, a VideoMind checkpoint (continue its adapter: the
    official fine-tune), or ``tiny``. ``role``: grounder / verifier / planner / answerer (a LoRA adapter) or
    ``base`` (no LoRA: the whole Qwen2-VL is trained, vision tower too unless ``freeze_vision``, less the parameters
    ``frozen`` names)."""

    base: str = TINY_BASE
    role: str = "grounder"
    base_model_path: str | None = None  # recorded in config.json (default: ``base`` as written)
    conv_type: str = "chatml"
    attn_implementation: str = "sdpa"
    dtype: str = "float32"  # parameter dtype at load (mixed precision is train.precision)
    lora_r: int = 64
    lora_alpha: int = 64
    lora_dropout: float = 0.1
    lora_bias: str = "none"
    lora_mlp: bool = False  # LoRA on the MLPs too (the official adapters cover attention only)
    modules_to_save: list[str] | None = None  # default: embed_tokens + lm_head for grounder / verifier
    tuning_modules: list[str] = field(default_factory=list)  # "projector": also train visual.merger
    freeze_vision: bool = False  # base role only
    # base role only: regular expressions (re.search) of parameter names kept frozen, e.g. the norms and biases, so
    # that what trains is what a full-rank LoRA with its own embedding / output matrices can hold (recipes.full_rank)
    frozen: list[str] = field(default_factory=list)
    tiny: TinyConfig = field(default_factory=TinyConfig)
    # A NEW timestamp decoder's settings (official defaults; smaller heads suit the tiny model): the model's own
    # record. Saved in config.json when not the defaults, so the checkpoint reloads with the same head.
    head: TimestampDecoderConfig = field(default_factory=TimestampDecoderConfig)

    def lora(self) -> LoraSettings:
        return LoraSettings(self.lora_r, self.lora_alpha, self.lora_dropout, self.lora_bias, self.lora_mlp)


@dataclass
class DataConfig:
    datasets: list[SourceSpec] = field(default_factory=list)
    min_video_len: float = -1
    max_video_len: float = -1
    min_num_words: int = -1
    max_num_words: int = -1
    max_retries: int = 10
    max_length: int = 32768
    budgets: dict[str, BudgetConfig] = field(default_factory=dict)  # per task, overriding the official ones
    answer_style: str = "mcq"
    answer_crop: bool = False
    answer_crop_min_len: float = ANSWER_CROP_MIN_LEN  # the official crop wrapper's 16 s
    answer_crop_jitter: float = ANSWER_CROP_JITTER
    # the answer letter's weight in the loss of multiple-choice replies (1 = every reply token alike, as officially)
    answer_letter_weight: float = 1.0
    cache_mb: float = 0.0  # keep sampled clips in memory (per dataloader worker)
    video_backend: str = "auto"

    def settings(self) -> ExampleSettings:
        budgets = dict(DEFAULT_BUDGETS)
        budgets.update({task: b.budget() for task, b in self.budgets.items()})
        return ExampleSettings(budgets, self.answer_style, self.answer_crop, self.answer_crop_min_len,
                               self.answer_crop_jitter, self.answer_letter_weight)  # fmt: skip

    def filter(self) -> SampleFilter:
        return SampleFilter(self.min_video_len, self.max_video_len, self.min_num_words, self.max_num_words)


@dataclass
class TrainConfig:
    output_dir: str = ""
    num_epochs: float = 1.0
    max_steps: int = -1  # > 0 overrides num_epochs
    batch_size: int = 1  # per device
    grad_accum: int = 1
    learning_rate: float = 1e-4
    lora_lr: float | None = None  # default: learning_rate
    head_lr: float | None = None  # default: learning_rate
    weight_decay: float = 0.0
    warmup_ratio: float = 0.03
    lr_scheduler: str = "cosine"
    max_grad_norm: float = 1.0
    optim: str = "adamw_torch"
    precision: str = "fp32"
    gradient_checkpointing: bool = False
    deepspeed: str | None = None  # a ZeRO JSON config (configs/deepspeed/zero2.json)
    liger: bool = True  # Liger kernels when installed and training on a GPU
    save_steps: int = 500
    save_total_limit: int = 1
    save_dtype: str | None = None  # dtype of the final adapter / head files (the release: float16)
    logging_steps: int = 1
    report_to: list[str] = field(default_factory=lambda: ["tensorboard"])
    seed: int = 42
    resume: str = "auto"  # auto: last complete checkpoint if any; never; or a checkpoint folder
    num_workers: int = 0
    cpu_threads: int | None = None  # torch threads per process on CPU (None: torch's default)
    group_by_data_type: bool = True
    ddp_find_unused_parameters: bool = False


@dataclass
class RunConfig:
    model: ModelConfig = field(default_factory=ModelConfig)
    data: DataConfig = field(default_factory=DataConfig)
    train: TrainConfig = field(default_factory=TrainConfig)

    def validate(self) -> RunConfig:
        _one_of("model.role", self.model.role, TRAIN_ROLES)
        _one_of("train.precision", self.train.precision, PRECISIONS)
        _one_of("model.tiny.base", self.model.tiny.base, tuple(FAMILIES))
        _one_of("train.optim", self.train.optim, OPTIMIZERS)
        _one_of("train.lr_scheduler", self.train.lr_scheduler, SCHEDULERS)
        if not 0 <= self.train.warmup_ratio < 1:
            raise UserInputError(f"train.warmup_ratio must be in [0, 1), got {self.train.warmup_ratio}")
        _positive(self.train, ("learning_rate", "lora_lr", "head_lr", "batch_size", "grad_accum", "save_steps",
                               "logging_steps"))  # fmt: skip
        if self.train.max_steps <= 0 and not self.train.num_epochs > 0:
            raise UserInputError(
                f"train.num_epochs must be positive (or set train.max_steps), got {self.train.num_epochs}"
            )
        if self.train.weight_decay < 0 or self.train.max_grad_norm < 0:
            raise UserInputError("train.weight_decay and train.max_grad_norm must be >= 0")
        if not self.data.answer_letter_weight > 0:  # also catches NaN
            raise UserInputError(
                f"data.answer_letter_weight must be positive, got {self.data.answer_letter_weight}"
            )
        for task in self.data.budgets:
            _one_of("data.budgets key", task, TASKS)
        if not self.train.output_dir:
            raise UserInputError(
                "train.output_dir is not set: add it to the YAML or pass train.output_dir=DIR"
            )
        if not self.data.datasets:
            raise UserInputError("data.datasets is empty: list at least one dataset (see docs/TRAINING.md)")
        if self.model.role == "base" and any(s.task is None and s.kind is None for s in self.data.datasets):
            raise UserInputError(
                "role 'base' trains on any task: give each dataset a task (or a synthetic kind)"
            )
        return self


def _positive(section: Any, names: tuple[str, ...]) -> None:
    for name in names:
        value = getattr(section, name)
        if value is not None and not value > 0:  # also catches NaN
            raise UserInputError(f"train.{name} must be positive, got {value}")


def _one_of(name: str, value: str, allowed: tuple[str, ...]) -> None:
    if value not in allowed:
        raise UserInputError(f"{name} is {value!r}; choose one of {', '.join(allowed)}")


def load_config(path: str | Path | None, overrides: list[str] = ()) -> RunConfig:
    """Read a YAML preset (or start from the defaults when ``path`` is None), apply overrides, validate."""
    data: dict[str, Any] = {}
    if path is not None:
        path = Path(path)
        if not path.is_file():
            raise UserInputError(f"config file {path} not found (presets are in configs/train/)")
        data = read_yaml(path)
    for item in overrides:
        apply_override(data, item)
    return build(RunConfig, data).validate()


def apply_override(data: dict[str, Any], item: str) -> None:
    """Set ``a.b.c=value`` in the nested dict ``data`` of a run config (list items by index)."""
    set_override(data, item, RunConfig)


def save_config(config: RunConfig, folder: str | Path) -> Path:
    """Write the resolved config as ``train_config.yaml`` in ``folder``; returns the file."""
    folder = Path(folder)
    folder.mkdir(parents=True, exist_ok=True)
    file = folder / RESOLVED_CONFIG
    file.write_text(yaml.safe_dump(to_dict(config), sort_keys=False))
    return file
