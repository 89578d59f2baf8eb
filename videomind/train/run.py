"""One training run from a ``RunConfig``: model, data, our training loop (``loop.py``), the released layout.

The same entry point serves one CPU process, ``torchrun --nproc_per_node N`` (gloo on CPU, NCCL on GPUs; the
Accelerator reads the launcher's environment) and DeepSpeed (``train.deepspeed: configs/deepspeed/zero2.json``).
Output folder (``train.output_dir``)::

    train_config.yaml            the resolved config (every default filled in)
    config.json, <role>/, ...    the final weights in the released layout (or a plain Qwen2-VL for role base)
    trainer_state.json           global step, epoch, log history
    checkpoint-N/                periodic checkpoints (same layout + optimiser / scheduler / RNG / trainer state)
    runs/                        TensorBoard logs (``report_to: [tensorboard]``)
    base/                        (tiny runs only) the random base model config.json points to
"""

from __future__ import annotations

import logging
import os
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import torch

from videomind.data.collator import Collator
from videomind.data.mixing import RoleDataset, build_mix
from videomind.errors import UserInputError
from videomind.train.checkpoints import TRAINER_STATE, last_complete_checkpoint, remove_stale
from videomind.train.config import RunConfig, save_config
from videomind.train.loop import TrainingLoop
from videomind.train.saving import save_base_run
from videomind.train.setup import (
    TINY_BASE_FOLDER,
    PreparedModel,
    apply_liger,
    enable_gradient_checkpointing,
    prepare_model,
)

log = logging.getLogger(__name__)


@dataclass
class RunResult:
    output_dir: Path
    global_step: int
    final_loss: float | None
    resumed_from: Path | None
    log_history: list[dict]
    prepared: PreparedModel  # the trained model (in memory) and its processor


def is_main_process() -> bool:
    return int(os.environ.get("RANK", "0")) == 0


def resume_point(cfg: RunConfig) -> Path | None:
    """Which checkpoint to resume from: ``auto`` = the last complete one in the output dir (if any)."""
    mode = cfg.train.resume
    if mode == "never":
        return None
    if mode == "auto":
        if is_main_process():
            remove_stale(cfg.train.output_dir)
        return last_complete_checkpoint(cfg.train.output_dir)
    path = Path(mode)
    if not (path / TRAINER_STATE).is_file():
        raise UserInputError(f"train.resume={mode!r}: not a checkpoint folder (no {TRAINER_STATE}); "
                             "give a checkpoint-N folder, auto or never")  # fmt: skip
    return path


def run_training(cfg: RunConfig, callbacks: Sequence = ()) -> RunResult:
    """Train as configured and write the final weights; returns where and how far it went.

    ``callbacks``: objects with any of ``on_train_begin(state)``, ``on_step_end(state)``, ``on_log(state, logs)``,
    ``on_save(state, folder)``, ``on_train_end(state)`` (``videomind.train.loop``)."""
    os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")
    if cfg.train.cpu_threads:
        torch.set_num_threads(cfg.train.cpu_threads)
    # The model is built before the Accelerator; with ZeRO-3, DeepSpeed partitions the ready model when its
    # engine starts (each process holds the full model once, at start-up).
    prepared = prepare_model(cfg.model)
    resume = resume_point(cfg)
    if cfg.train.gradient_checkpointing:
        enable_gradient_checkpointing(prepared.model)
    if cfg.train.liger:
        apply_liger(prepared.model)
    dataset = build_dataset(cfg, prepared)
    loop = TrainingLoop(
        prepared, dataset, Collator(prepared.processor, cfg.data.max_length), cfg.train, callbacks
    )
    if loop.is_main_process:
        save_config(cfg, cfg.train.output_dir)
        _save_tiny_base(prepared, cfg)
    if resume is not None:
        log.info("resuming from %s", resume)
    state = loop.train(resume)
    loop.save_final()
    loop.close()
    loss = loop.final_loss
    log.info("finished: step %d, loss %s; weights in %s", state.global_step, "n/a" if loss is None else f"{loss:.4f}",
             cfg.train.output_dir)  # fmt: skip
    if (
        dataset.skip_summary()
    ):  # this process's loading (dataloader workers report their first skip themselves)
        log.warning("%s", dataset.skip_summary())
    return RunResult(Path(cfg.train.output_dir), state.global_step, loss, resume, list(state.log_history),
                     prepared)  # fmt: skip


def build_dataset(cfg: RunConfig, prepared: PreparedModel) -> RoleDataset:
    examples = build_mix(
        cfg.data.datasets, cfg.model.role, cfg.data.settings(), cfg.data.filter(), cfg.train.seed
    )
    return RoleDataset(examples, prepared.processor, cfg.data.max_retries, cfg.train.seed,
                       cfg.data.cache_mb, cfg.data.video_backend)  # fmt: skip


def _save_tiny_base(prepared: PreparedModel, cfg: RunConfig) -> None:
    """A tiny run's random base exists only in memory: write it where config.json's base_model_path points."""
    if not prepared.save_base or prepared.role == "base":
        return
    folder = Path(cfg.train.output_dir) / TINY_BASE_FOLDER
    if (folder / "config.json").is_file():
        return
    save_base_run(prepared.model, prepared.processor, folder, prepared.base_state)
