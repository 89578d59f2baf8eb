"""The config schema: YAML presets, strict key=value overrides, validation, the resolved config file."""

from pathlib import Path

import pytest
import yaml

from videomind.data.mixing import SourceSpec
from videomind.errors import UserInputError
from videomind.train.config import (
    RESOLVED_CONFIG,
    BudgetConfig,
    RunConfig,
    apply_override,
    build,
    load_config,
    save_config,
    to_dict,
)
from videomind.video.budget import GROUNDER_BUDGET

PRESETS = sorted((Path(__file__).resolve().parents[2] / "configs" / "train").glob("*.yaml"))
MINIMAL = ["train.output_dir=/tmp/out", "data.datasets=[synthetic]"]


def test_defaults_are_the_official_lora_and_schedule():
    cfg = load_config(None, MINIMAL)
    assert (cfg.model.lora_r, cfg.model.lora_alpha, cfg.model.lora_dropout) == (64, 64, 0.1)
    assert (
        cfg.train.warmup_ratio == 0.03 and cfg.train.lr_scheduler == "cosine" and cfg.train.weight_decay == 0
    )
    assert cfg.data.datasets == [SourceSpec("synthetic")]
    assert cfg.data.settings().budget("grounding") == GROUNDER_BUDGET


def test_overrides_are_typed_and_nested():
    cfg = load_config(None, [
        *MINIMAL, "train.learning_rate=2e-4", "train.max_steps=7", "model.role=verifier", "train.lora_lr=1e-3",
        "model.modules_to_save=[lm_head]", "data.datasets.0.root=/data", "data.datasets.0.repeat=2",
        "data.budgets.grounding={fps: 0.5, max_frames: 10, min_tokens: 4, max_tokens: 16}", "model.tiny.seed=3",
        "train.deepspeed=null",
    ])  # fmt: skip
    assert cfg.train.learning_rate == 2e-4 and isinstance(cfg.train.learning_rate, float)
    assert cfg.train.max_steps == 7 and cfg.model.role == "verifier" and cfg.train.lora_lr == 1e-3
    assert (
        cfg.model.modules_to_save == ["lm_head"] and cfg.model.tiny.seed == 3 and cfg.train.deepspeed is None
    )
    assert cfg.data.datasets == [SourceSpec("synthetic", root="/data", repeat=2.0)]
    budget = cfg.data.settings().budget("grounding")
    assert (budget.fps, budget.max_frames, budget.min_pixels, budget.max_pixels) == (
        0.5,
        10,
        4 * 784,
        16 * 784,
    )


@pytest.mark.parametrize(
    "override, message",
    [
        ("train.learning_rte=1", "did you mean 'learning_rate'"),
        ("trian.max_steps=1", "did you mean 'train'"),
        ("train.max_steps=abc", "train.max_steps must be int"),
        ("train.max_steps=1.5", "must be int"),
        ("model.lora_dropout=[1]", "must be float"),
        ("train.gradient_checkpointing=maybe", "must be bool"),
        ("model.role=painter", "model.role is 'painter'"),
        ("train.precision=fp8", "train.precision"),
        ("train.optim=adafactor", "train.optim is 'adafactor'; choose one of adamw_torch"),
        (
            "train.lr_scheduler=cosine_decay",
            "train.lr_scheduler is 'cosine_decay'; choose one of linear, cosine",
        ),
        ("train.max_steps", "not key=value"),
        ("train.max_steps.x=1", "below a plain value"),
        ("data.datasets.x=1", "list index"),
        ("data.datasets.5.root=/x", "out of range"),
        ("data.budgets.dancing={fps: 1, max_frames: 2, min_tokens: 1, max_tokens: 2}", "data.budgets key"),
    ],
)
def test_bad_overrides_are_clear_errors(override, message):
    with pytest.raises(UserInputError, match=message):
        load_config(None, [*MINIMAL, override])


def test_missing_essentials_are_errors():
    with pytest.raises(UserInputError, match="output_dir"):
        load_config(None, ["data.datasets=[synthetic]"])
    with pytest.raises(UserInputError, match="datasets is empty"):
        load_config(None, ["train.output_dir=/x"])
    with pytest.raises(UserInputError, match="give each dataset a task"):
        load_config(None, [*MINIMAL, "model.role=base"])
    with pytest.raises(UserInputError, match="not found"):
        load_config("/nonexistent.yaml")


def test_resolved_config_round_trips(tmp_path):
    cfg = load_config(None, [*MINIMAL, "train.learning_rate=3e-5", "data.answer_crop=true"])
    file = save_config(cfg, tmp_path)
    assert file == tmp_path / RESOLVED_CONFIG
    data = yaml.safe_load(file.read_text())
    assert data["train"]["learning_rate"] == 3e-5 and data["model"]["lora_r"] == 64  # defaults filled in
    assert load_config(file) == cfg


def test_apply_override_builds_missing_levels():
    data = {"data": {"datasets": ["synthetic"]}}
    apply_override(data, "data.datasets.0.kind=mcq")
    apply_override(data, "train.report_to=[none]")
    assert data == {
        "data": {"datasets": [{"name": "synthetic", "kind": "mcq"}]},
        "train": {"report_to": ["none"]},
    }


def test_build_rejects_unknown_nested_keys():
    with pytest.raises(
        UserInputError, match="unknown setting data.budgets.grounding.fsp; did you mean 'fps'"
    ):
        build(RunConfig, {"data": {"budgets": {"grounding": {"fsp": 1}}}})
    with pytest.raises(UserInputError, match="max_frames"):
        build(BudgetConfig, {"fps": 1})  # required fields
    assert build(BudgetConfig, {"fps": 1, "max_frames": 2, "min_tokens": 1, "max_tokens": 2}).fps == 1.0


@pytest.mark.parametrize("preset", PRESETS, ids=[p.stem for p in PRESETS])
def test_every_preset_loads(preset):
    cfg = load_config(preset)
    assert cfg.train.output_dir.startswith("runs/") and cfg.data.datasets
    assert to_dict(cfg)["model"]["role"] in ("grounder", "verifier", "planner", "answerer", "base")
    if preset.stem.startswith(("pretrain", "finetune")):  # the official scripts' settings
        t = cfg.train
        assert (t.batch_size, t.grad_accum, t.precision, t.warmup_ratio) == (1, 4, "fp16", 0.03)
        assert t.deepspeed == "configs/deepspeed/zero2.json" and t.gradient_checkpointing
        assert (cfg.data.min_video_len, cfg.data.max_video_len, cfg.data.max_num_words) == (5, 500, 200)
        assert (cfg.model.lora_r, cfg.model.lora_alpha, cfg.model.lora_dropout) == (64, 64, 0.1)


def test_tiny_and_head_sections_are_the_models_own_records(tmp_path):
    """Every size of TinyShape and every knob of TimestampDecoderConfig is a setting (no copied schema to forget
    a new field in), and a resolved config with tuples and inf round-trips through YAML."""
    from dataclasses import fields

    from videomind.model.grounding_head import TimestampDecoderConfig
    from videomind.model.tiny import TinyShape

    cfg = load_config(None, ["train.output_dir=x", "data.datasets=[synthetic]", "model.tiny.mrope_section=[2,2,4]",
                             "model.head.regression_ranges=[[0, 3], [3, .inf]]", "model.head.strides=[1, 2]"])  # fmt: skip
    assert {f.name for f in fields(TinyShape)} | {"seed"} == {f.name for f in fields(cfg.model.tiny)}
    assert isinstance(cfg.model.head, TimestampDecoderConfig)
    assert cfg.model.tiny.shape() == TinyShape(mrope_section=(2, 2, 4))
    assert cfg.model.head.regression_ranges == ((0.0, 3.0), (3.0, float("inf")))
    assert load_config(save_config(cfg, tmp_path)) == cfg
    with pytest.raises(UserInputError, match="must hold 3 values"):
        load_config(
            None, ["train.output_dir=x", "data.datasets=[synthetic]", "model.tiny.mrope_section=[1, 2]"]
        )


@pytest.mark.parametrize(
    "content, message",
    [
        (b"model: [unclosed\n", "not valid YAML: expected ',' or ']'"),
        (b"\x00\x01binary\xff\xfe", "is not text"),
        (b"model:\n  role: grounder\n\x00\n", "not valid YAML: unacceptable character"),
        (b"- a\n- b\n", "holds a list, not a mapping"),
    ],
)
def test_unreadable_presets_are_one_line_errors(tmp_path, content, message):
    path = tmp_path / "bad.yaml"
    path.write_bytes(content)
    with pytest.raises(UserInputError, match=message) as info:
        load_config(path, MINIMAL)
    assert "\n" not in str(info.value)


@pytest.mark.parametrize(
    "override, message",
    [
        ("data.datasets=[unclosed", "the value is not valid YAML"),
        ("train.learning_rate=-1", "train.learning_rate must be positive"),
        ("train.head_lr=0", "train.head_lr must be positive"),
        ("train.batch_size=0", "train.batch_size must be positive"),
        ("train.learning_rate=.nan", "train.learning_rate must be positive"),
        ("train.num_epochs=0", "train.num_epochs must be positive"),
        ("data.answer_letter_weight=0", "data.answer_letter_weight must be positive"),
        ("train.weight_decay=-0.1", "must be >= 0"),
    ],
)
def test_bad_overrides_are_refused(override, message):
    with pytest.raises(UserInputError, match=message):
        load_config(None, [*MINIMAL, override])


def test_zero_epochs_with_max_steps_is_allowed():
    assert load_config(None, [*MINIMAL, "train.num_epochs=0", "train.max_steps=5"]).train.max_steps == 5
