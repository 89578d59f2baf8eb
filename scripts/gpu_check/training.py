"""GPU check, part ``training``: a few optimiser steps of each role on the device, as ``videomind train`` runs them.

Each role (grounder, verifier, planner, answerer) trains a tiny random base on a generated synthetic world with the
our training loop in bf16 mixed precision, gradient checkpointing on, SDPA (FlashAttention-2 when ``flash_attn`` imports
on a GPU) and Liger kernels when ``liger-kernel`` imports on a GPU. Passes when every logged loss is finite and the
loss on a fixed batch (two examples, evaluated before and after) falls for every role.
"""

from __future__ import annotations

import importlib.util
import math
import shutil
from pathlib import Path
from typing import Any

from scripts.gpu_check.common import all_passed, attention_implementations, prepare_device, run_part

ROLES = ("grounder", "verifier", "planner", "answerer")
KINDS = {"grounder": "grounding", "verifier": "verifying", "planner": "planning", "answerer": "mcq"}
BUDGET = "{fps: 1.0, max_frames: 8, min_tokens: 1, max_tokens: 4}"
TASKS = ("grounding", "verifying", "planning", "answering", "captioning", "timing")


def overrides(role: str, data: Path, out: Path, steps: int, attn: str) -> list[str]:
    """A seconds-long run of ``role``: tiny random base, small LoRA and head, the check's precision settings."""
    return [
        "model.base=tiny", "model.lora_r=8", "model.lora_alpha=16", "model.lora_dropout=0.0",
        "model.head.dims=32", "model.head.num_heads=4", "model.head.num_fusion_layers=1", "model.head.drop_path=0.0",
        f"model.role={role}", f"model.attn_implementation={attn}",
        f"data.datasets=[{{name: synthetic, root: {data}, kind: {KINDS[role]}}}]",
        "data.budgets={" + ", ".join(f"{t}: {BUDGET}" for t in TASKS) + "}",
        "train.learning_rate=2e-3", "train.warmup_ratio=0", "train.lr_scheduler=constant", "train.report_to=[none]",
        "train.num_workers=0", "train.save_steps=1000", "train.logging_steps=1", "train.batch_size=2",
        "train.precision=bf16", "train.gradient_checkpointing=true", "train.liger=true", "train.resume=never",
        f"train.max_steps={steps}", f"train.output_dir={out}",
    ]  # fmt: skip


def synthetic_world(cache: Path) -> Path:
    from videomind.data.synthetic import make_dataset

    root = cache / "train_data" / "synthetic"
    if not (root / "done").is_file():
        make_dataset(root, 3, seed=1, preset="easy", splits=("train",), size=(56, 56), duration=(8.0, 10.0))
        (root / "done").write_text("")
    return root


def fixed_loss(model, batch, role: str, device) -> float:
    import torch

    from videomind.model.adapters import use_role

    model.eval()
    moved = {k: v.to(device) if torch.is_tensor(v) else v for k, v in batch.items()}
    with torch.no_grad(), use_role(model, role):
        return float(model.to(device)(**moved)["loss"])


def train_role(role: str, data: Path, out: Path, steps: int, attn: str, device) -> dict[str, Any]:
    import torch

    from videomind.data.collator import Collator
    from videomind.train.config import load_config
    from videomind.train.run import build_dataset, run_training
    from videomind.train.setup import prepare_model

    shutil.rmtree(out / role, ignore_errors=True)  # a fresh run each time (a warm machine keeps the cache)
    cfg = load_config(None, overrides(role, data, out / role, steps, attn))
    fresh = prepare_model(cfg.model)
    dataset = build_dataset(cfg, fresh)
    batch = Collator(fresh.processor)([dataset[(0, 0)], dataset[(1, 0)]])
    before = fixed_loss(fresh.model, batch, role, device)
    del fresh
    result = run_training(cfg)
    model = result.prepared.model
    after = fixed_loss(model, batch, role, device)
    logged = [h["loss"] for h in result.log_history if "loss" in h]
    liger = (
        cfg.train.liger and torch.cuda.is_available() and importlib.util.find_spec("liger_kernel") is not None
    )
    return {
        "steps": result.global_step,
        "logged_losses": logged,
        "fixed_batch_loss": {"before": before, "after": after},
        "finite": all(math.isfinite(x) for x in [*logged, before, after]),
        "falling": after < before,
        "gradient_checkpointing": bool(model.text_model.gradient_checkpointing),
        "liger": liger,
        "attn_implementation": attn,
        "trained_on": str(next(model.parameters()).device),
    }


def body(args) -> dict[str, Any]:
    device = prepare_device(args.device)
    data = synthetic_world(args.cache)
    attn = attention_implementations()[-1]
    steps = 3 if args.quick else 8
    roles = {role: train_role(role, data, args.cache / "train_runs", steps, attn, device) for role in ROLES}
    checks = {f"{role}_{k}": r[k] for role, r in roles.items() for k in ("finite", "falling")}
    checks.update({f"{role}_on_device": r["trained_on"].startswith(device.type) for role, r in roles.items()})
    return {"roles": roles, "precision": "bf16", "checks": checks, "passed": all_passed(checks)}


if __name__ == "__main__":
    raise SystemExit(run_part("training", __doc__.splitlines()[0], body))
