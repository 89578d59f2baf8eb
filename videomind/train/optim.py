"""The optimiser and the learning-rate schedule of a training run.

- ``param_groups``: AdamW over up to six groups, {decay, no-decay} x {other, LoRA (``lora_lr``), head
  (``head_lr``)}; biases and normalisation weights do not decay (REFERENCE.md s.9.3).
- ``build_optimizer``: ``torch.optim.AdamW`` over those groups (``optim: adamw_torch``, or ``adamw_torch_fused``
  for the fused CUDA kernel), betas (0.9, 0.999) and eps 1e-8 as the official HF Trainer runs.
- ``build_scheduler``: transformers' public ``get_scheduler`` (cosine / constant / linear / ...) with
  ``ceil(warmup_ratio x steps)`` warm-up steps.
"""

from __future__ import annotations

import logging
import math
from collections import defaultdict

import torch
from torch import nn
from transformers import get_scheduler

log = logging.getLogger(__name__)

OPTIMIZERS = ("adamw_torch", "adamw_torch_fused")
# transformers' schedules that need nothing beyond warm-up and total steps
SCHEDULERS = ("linear", "cosine", "cosine_with_restarts", "polynomial", "constant", "constant_with_warmup",
              "inverse_sqrt")  # fmt: skip
ADAM_BETAS = (0.9, 0.999)
ADAM_EPS = 1e-8


def is_norm_module(module: nn.Module) -> bool:
    return isinstance(module, nn.LayerNorm) or "Norm" in type(module).__name__


def param_groups(model: nn.Module, lr: float, lora_lr: float | None, head_lr: float | None,
                 weight_decay: float) -> list[dict]:  # fmt: skip
    """Trainable parameters in up to six groups: {decay, no-decay} x {other, LoRA, head}; empty groups dropped."""
    no_decay = {f"{m}.{p}" if m else p for m, mod in model.named_modules() if is_norm_module(mod)
                for p, _ in mod.named_parameters(recurse=False)}  # fmt: skip
    rates = {"other": lr, "lora": lora_lr or lr, "head": head_lr or lr}
    groups: dict[tuple[str, bool], list[nn.Parameter]] = defaultdict(list)
    for name, param in model.named_parameters():
        if not param.requires_grad:
            continue
        kind = "head" if name.startswith("grounding_head.") else "lora" if "lora_" in name else "other"
        decay = not (name.endswith(".bias") or name in no_decay)
        groups[(kind, decay)].append(param)
    return [
        {"params": params, "lr": rates[kind], "weight_decay": weight_decay if decay else 0.0, "name": f"{kind}"
         f"{'' if decay else '_no_decay'}"}
        for (kind, decay), params in sorted(groups.items())
    ]  # fmt: skip


def build_optimizer(model: nn.Module, name: str, lr: float, lora_lr: float | None, head_lr: float | None,
                    weight_decay: float) -> torch.optim.AdamW:  # fmt: skip
    """AdamW over ``param_groups`` (``name``: one of ``OPTIMIZERS``)."""
    if name not in OPTIMIZERS:
        raise ValueError(f"unknown optimiser {name!r}; choose one of {', '.join(OPTIMIZERS)}")
    groups = param_groups(model, lr, lora_lr, head_lr, weight_decay)
    log.info("optimiser groups: %s", ", ".join(f"{g['name']} ({len(g['params'])})" for g in groups))
    fused = {"fused": True} if name == "adamw_torch_fused" else {}
    return torch.optim.AdamW(groups, lr=lr, betas=ADAM_BETAS, eps=ADAM_EPS, **fused)


def warmup_steps(warmup_ratio: float, total_steps: int) -> int:
    return math.ceil(warmup_ratio * total_steps)


def build_scheduler(optimizer: torch.optim.Optimizer, name: str, warmup_ratio: float, total_steps: int):
    """The learning-rate schedule over ``total_steps`` optimiser steps (stepped once per optimiser step)."""
    return get_scheduler(name, optimizer, num_warmup_steps=warmup_steps(warmup_ratio, total_steps),
                         num_training_steps=total_steps)  # fmt: skip
