"""One training run from a ``RunConfig``: model, data, HF ``TrainingArguments``, train, save in the released layout.

The same entry point serves one CPU process, ``torchrun --nproc_per_node N`` (gloo on CPU, NCCL on GPUs; the HF
Trainer reads the launcher's environment) and ``deepspeed`` (``train.deepspeed: configs/deepspeed/zero2.json``).
Output folder (``train.output_dir``)::

    train_config.yaml            the resolved config (every default filled in)
    config.json, <role>/, ...    the final weights in the released layout (or a plain Qwen2-VL for role base)
    checkpoint-N/                periodic checkpoints (same layout + optimiser / scheduler / RNG / trainer state)
    runs/                        TensorBoard logs (HF default location)
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
from videomind.train.config import RunConfig, save_config
from videomind.train.saving import save_base_run
from videomind.train.setup import (
    TINY_BASE_FOLDER,
    PreparedModel,
    apply_liger,
    enable_gradient_checkpointing,
    prepare_model,
)
from videomind.train.trainer import VideoMindTrainer, last_complete_checkpoint, remove_stale

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


def training_arguments(cfg: RunConfig):
    """HF ``TrainingArguments`` for the ``train`` section."""
    from transformers import TrainingArguments

    t = cfg.train
    report = [r for r in t.report_to if r != "none"]
    fp16 = t.precision == "fp16"
    if fp16 and not torch.cuda.is_available():
        log.warning("fp16 mixed precision needs a GPU: training in fp32 (bf16 works on CPUs)")
        fp16 = False
    return TrainingArguments(
        output_dir=t.output_dir, per_device_train_batch_size=t.batch_size, gradient_accumulation_steps=t.grad_accum,
        num_train_epochs=t.num_epochs, max_steps=t.max_steps, learning_rate=t.learning_rate,
        weight_decay=t.weight_decay, warmup_steps=t.warmup_ratio, lr_scheduler_type=t.lr_scheduler,
        max_grad_norm=t.max_grad_norm, optim=t.optim, bf16=t.precision == "bf16", fp16=fp16,
        logging_steps=t.logging_steps, save_strategy="steps", save_steps=t.save_steps,
        save_total_limit=t.save_total_limit, report_to=report or "none", seed=t.seed, data_seed=t.seed,
        deepspeed=t.deepspeed, dataloader_num_workers=t.num_workers, remove_unused_columns=False,
        dataloader_persistent_workers=t.num_workers > 0,  # workers keep their clip caches across epochs
        ddp_find_unused_parameters=t.ddp_find_unused_parameters,
        use_cpu=not torch.cuda.is_available(), disable_tqdm=not is_main_process(),
        ddp_backend=_ddp_backend(),
    )  # fmt: skip


def _ddp_backend() -> str | None:
    """gloo for CPU processes started by torchrun / deepspeed; the default (NCCL) on GPUs; none when alone."""
    launched = int(os.environ.get("WORLD_SIZE", "1")) > 1
    return "gloo" if launched and not torch.cuda.is_available() else None


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
    if not path.is_dir():
        raise UserInputError(f"train.resume={mode!r}: no such checkpoint folder (or use auto / never)")
    return path


def run_training(cfg: RunConfig, callbacks: Sequence = ()) -> RunResult:
    """Train as configured and write the final weights; returns where and how far it went."""
    os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")
    if cfg.train.cpu_threads:
        torch.set_num_threads(cfg.train.cpu_threads)
    # The model is built before the TrainingArguments: with a ZeRO-3 config those switch transformers to
    # zero.Init construction, which our PEFT / head setup does not support; DeepSpeed then partitions the
    # ready model when the engine starts (each process holds the full model once, at start-up).
    prepared = prepare_model(cfg.model)
    args = training_arguments(cfg)
    resume = resume_point(cfg)
    if cfg.train.gradient_checkpointing:
        enable_gradient_checkpointing(prepared.model)
    if cfg.train.liger:
        apply_liger(prepared.model)
    dataset = build_dataset(cfg, prepared)
    if is_main_process():
        save_config(cfg, cfg.train.output_dir)
        _save_tiny_base(prepared, cfg)
    trainer = VideoMindTrainer(
        model=prepared.model, args=args, train_dataset=dataset,
        data_collator=Collator(prepared.processor, cfg.data.max_length), callbacks=list(callbacks),
        prepared=prepared, lora_lr=cfg.train.lora_lr, head_lr=cfg.train.head_lr,
        group_by_data_type=cfg.train.group_by_data_type, save_dtype=cfg.train.save_dtype,
    )  # fmt: skip
    if resume is not None:
        log.info("resuming from %s", resume)
    output = trainer.train(resume_from_checkpoint=str(resume) if resume is not None else None)
    trainer.save_model(cfg.train.output_dir)
    if trainer.args.should_save:
        trainer.state.save_to_json(str(Path(cfg.train.output_dir) / "trainer_state.json"))
    log.info("finished: step %d, loss %.4f; weights in %s", trainer.state.global_step, output.training_loss,
             cfg.train.output_dir)  # fmt: skip
    if (
        dataset.skip_summary()
    ):  # this process's loading (dataloader workers report their first skip themselves)
        log.warning("%s", dataset.skip_summary())
    return RunResult(Path(cfg.train.output_dir), trainer.state.global_step, output.training_loss, resume,
                     list(trainer.state.log_history), prepared)  # fmt: skip


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
