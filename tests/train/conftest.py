"""Training-test fixtures: a small synthetic world on disk and tiny-run configs (CPU, seconds per run)."""

from __future__ import annotations

from pathlib import Path

import pytest
import torch

# Every tiny run: random tiny base, small LoRA and head, 56x56 frames at most 4 tokens each, no logging.
TINY_MODEL = [
    "model.base=tiny",
    "model.lora_r=8",
    "model.lora_alpha=16",
    "model.lora_dropout=0.0",
    "model.head.dims=32",
    "model.head.num_heads=4",
    "model.head.num_fusion_layers=1",
    "model.head.drop_path=0.0",
]
TINY_TRAIN = [
    "train.learning_rate=2e-3",
    "train.warmup_ratio=0",
    "train.lr_scheduler=constant",
    "train.report_to=[none]",
    "train.num_workers=0",
    "train.save_steps=1000",
    "train.logging_steps=1",
]
BUDGET = "{fps: 1.0, max_frames: 8, min_tokens: 1, max_tokens: 4}"
KINDS = {"grounder": "grounding", "verifier": "verifying", "planner": "planning", "answerer": "mcq"}


def tiny_overrides(role: str, out: Path, root: Path, steps: int = 4, kind: str | None = None) -> list[str]:
    """Overrides that make any preset a seconds-long CPU run of ``role`` on the synthetic world in ``root``."""
    kind = kind or KINDS.get(role, "caption")
    task = "" if role != "base" else ", task: captioning"
    tasks = ("grounding", "verifying", "planning", "answering", "captioning", "timing")
    return [
        *TINY_MODEL,
        f"model.role={role}",
        f"data.datasets=[{{name: synthetic, root: {root}, kind: {kind}{task}}}]",
        "data.budgets={" + ", ".join(f"{t}: {BUDGET}" for t in tasks) + "}",
        *TINY_TRAIN,
        f"train.max_steps={steps}",
        f"train.output_dir={out}",
    ]


@pytest.fixture(scope="session")
def synth_root(tmp_path_factory) -> Path:
    """Three short 56x56 videos with annotations for every role."""
    from videomind.data.synthetic import make_dataset

    out = tmp_path_factory.mktemp("train_data") / "synthetic"
    make_dataset(out, 3, seed=1, preset="easy", splits=("train",), size=(56, 56), duration=(8.0, 10.0))
    return out


@pytest.fixture(autouse=True)
def _training_device(device, monkeypatch):
    """The training loop takes a visible GPU by itself: training tests use one only when VIDEOMIND_TEST_DEVICE asks."""
    if device.type == "cpu" and torch.cuda.is_available():
        monkeypatch.setattr(torch.cuda, "is_available", lambda: False)


@pytest.fixture(autouse=True)
def _few_threads():
    """Tiny models run fastest on one thread, and the test machine is shared."""
    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(threads)
