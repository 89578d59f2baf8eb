"""Optimiser groups (six: {decay, no-decay} x {other, LoRA, head}) and the learning-rate schedules."""

import pytest
import torch
from torch import nn

from videomind.train.optim import build_optimizer, build_scheduler, param_groups, warmup_steps


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


def test_build_optimizer_is_adamw_over_the_groups():
    model = Toy()
    optimizer = build_optimizer(model, "adamw_torch", 1e-4, 2e-4, None, weight_decay=0.1)
    assert isinstance(optimizer, torch.optim.AdamW)
    names = {g["name"] for g in optimizer.param_groups}
    assert names == {"other", "other_no_decay", "lora", "head", "head_no_decay"}
    assert all(g["betas"] == (0.9, 0.999) and g["eps"] == 1e-8 for g in optimizer.param_groups)
    with pytest.raises(ValueError, match="unknown optimiser"):
        build_optimizer(model, "sgd", 1e-4, None, None, 0.0)


def rates(name, warmup_ratio, total=10, lr=1.0):
    optimizer = torch.optim.SGD([nn.Parameter(torch.zeros(1))], lr=lr)
    scheduler = build_scheduler(optimizer, name, warmup_ratio, total)
    out = []
    for _ in range(total):
        out.append(scheduler.get_last_lr()[0])
        optimizer.step()
        scheduler.step()
    return out


def test_schedules_warm_up_for_a_ratio_of_the_steps():
    assert warmup_steps(0.03, 100) == 3 and warmup_steps(0.03, 10) == 1 and warmup_steps(0.0, 10) == 0
    assert rates("constant", 0.0) == [1.0] * 10
    assert rates("linear", 0.2) == pytest.approx([0, 0.5, 1, 7 / 8, 6 / 8, 5 / 8, 4 / 8, 3 / 8, 2 / 8, 1 / 8])
    cosine = rates("cosine", 0.2)
    assert cosine[:3] == pytest.approx([0, 0.5, 1]) and cosine[6] == pytest.approx(0.5)  # half-way down
    assert all(a > b for a, b in zip(cosine[2:], cosine[3:]))  # then decreasing
