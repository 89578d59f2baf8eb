"""Optimiser groups and checkpoint bookkeeping (completion marker, stale folders, atomic rotation)."""

import pytest
from torch import nn

from videomind.train.checkpoints import (
    COMPLETE_MARKER,
    checkpoint_step,
    complete_checkpoints,
    last_complete_checkpoint,
    remove_stale,
)
from videomind.train.optim import param_groups


class Toy(nn.Module):
    """Names like the real model: LoRA matrices, a norm, a bias, the head, a frozen weight."""

    def __init__(self):
        super().__init__()
        self.proj = nn.Linear(2, 2)  # "other": weight decays, bias does not
        self.lora_A = nn.Linear(2, 2, bias=False)  # LoRA
        self.norm = nn.LayerNorm(2)  # no decay
        self.grounding_head = nn.Sequential(nn.LayerNorm(2), nn.Linear(2, 2))  # head
        self.frozen = nn.Linear(2, 2)
        self.frozen.requires_grad_(False)


def test_param_groups_split_by_kind_and_decay():
    model = Toy()
    groups = {
        g["name"]: g for g in param_groups(model, lr=1e-4, lora_lr=2e-4, head_lr=3e-4, weight_decay=0.1)
    }
    names = {id(p): n for n, p in model.named_parameters()}
    members = {k: sorted(names[id(p)] for p in g["params"]) for k, g in groups.items()}
    assert members == {
        "other": ["proj.weight"],
        "other_no_decay": ["norm.bias", "norm.weight", "proj.bias"],
        "lora": ["lora_A.weight"],
        "head": ["grounding_head.1.weight"],
        "head_no_decay": ["grounding_head.0.bias", "grounding_head.0.weight", "grounding_head.1.bias"],
    }
    assert (groups["other"]["lr"], groups["lora"]["lr"], groups["head"]["lr"]) == (1e-4, 2e-4, 3e-4)
    assert groups["head_no_decay"]["lr"] == 3e-4
    assert groups["other"]["weight_decay"] == 0.1 and groups["other_no_decay"]["weight_decay"] == 0.0


def test_param_groups_default_rates_are_the_learning_rate():
    groups = param_groups(Toy(), lr=5e-5, lora_lr=None, head_lr=None, weight_decay=0.0)
    assert {g["lr"] for g in groups} == {5e-5}


def make(folder, complete=True):
    folder.mkdir()
    (folder / "trainer_state.json").write_text("{}")
    if complete:
        (folder / COMPLETE_MARKER).write_text("1\n")
    return folder


def test_last_complete_checkpoint_ignores_partial_and_temporary_folders(tmp_path):
    assert last_complete_checkpoint(tmp_path / "missing") is None
    make(tmp_path / "checkpoint-2")
    make(tmp_path / "checkpoint-10")
    make(tmp_path / "checkpoint-12", complete=False)  # e.g. written by an older, non-atomic run
    make(tmp_path / "tmp-checkpoint-14", complete=False)  # killed while saving
    (tmp_path / "checkpoint-x").mkdir()
    assert [p.name for p in complete_checkpoints(tmp_path)] == [
        "checkpoint-2",
        "checkpoint-10",
    ]  # numeric order
    assert last_complete_checkpoint(tmp_path).name == "checkpoint-10"
    removed = sorted(p.name for p in remove_stale(tmp_path))
    assert removed == ["checkpoint-12", "checkpoint-x", "tmp-checkpoint-14"]
    assert sorted(p.name for p in tmp_path.iterdir()) == ["checkpoint-10", "checkpoint-2"]


@pytest.mark.parametrize(
    "name, step", [("checkpoint-7", 7), ("tmp-checkpoint-7", None), ("checkpoint-7b", None)]
)
def test_checkpoint_step(tmp_path, name, step):
    assert checkpoint_step(tmp_path / name) == step
