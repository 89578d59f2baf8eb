"""The training loop we own (torchtune / nanochat style), on accelerate's public API.

One optimiser step = ``grad_accum`` micro-batches, each ``accelerator.accumulate(model)``: forward (autocast),
``accelerator.backward``; on the last one ``accelerator.clip_grad_norm_`` (``max_grad_norm``), the optimiser and
the schedule step (DeepSpeed steps its engine inside ``backward``). Then, every ``logging_steps``, the loss and its
parts (summed on the device) are reduced over the processes and logged (``log_history``, TensorBoard); every
``save_steps`` and at the last step an atomic checkpoint is written (``checkpoints.py``).

Data: ``GroupSampler`` (one data type per global micro-batch, reshuffled per epoch from ``seed + epoch``; with
``group_by_data_type: false`` every example is one type), sharded over the processes by ``accelerator.prepare``.
Length: ``max_steps`` when > 0, else ``ceil(num_epochs x steps per epoch)``; an epoch's last, partial
accumulation still makes a step.

Resume: the weights (released layout, or DeepSpeed's ``global_stepN``), optimiser, schedule, grad scaler,
trainer state and every random generator are read back, the epoch's consumed batches are skipped
(``accelerator.skip_first_batches``) and the run continues exactly as if never stopped.

Callbacks: any objects with some of these methods (all optional, called on every process, in this order):
``on_train_begin(state)``, ``on_step_end(state)`` after each optimiser step, ``on_log(state, logs)``,
``on_save(state, folder)`` once ``checkpoint-N`` is complete, ``on_train_end(state)``; ``state`` is the live
``TrainState`` (read it, do not change it).
"""

from __future__ import annotations

import logging
import math
import time
from collections.abc import Sequence
from pathlib import Path
from typing import Any, Protocol

import torch
from accelerate.utils import DistributedType, set_seed
from torch.utils.data import DataLoader

from videomind.data.mixing import GroupSampler
from videomind.errors import UserInputError
from videomind.model.devices import DTYPES
from videomind.train import checkpoints as ckpt
from videomind.train.config import TrainConfig
from videomind.train.optim import build_optimizer, build_scheduler
from videomind.train.runtime import (
    HALF,
    LossMeter,
    Precision,
    cast_floats,
    deepspeed_plugin,
    make_accelerator,
    resolve_precision,
)
from videomind.train.saving import load_trainable, save_base_run, save_role_run
from videomind.train.setup import PreparedModel

log = logging.getLogger(__name__)

TRACKER_PROJECT = "videomind"


class Callback(Protocol):
    """What ``run_training(cfg, callbacks=[...])`` calls; every method is optional (see the module docstring)."""

    def on_train_begin(self, state: ckpt.TrainState) -> None: ...

    def on_step_end(self, state: ckpt.TrainState) -> None: ...

    def on_log(self, state: ckpt.TrainState, logs: dict[str, float]) -> None: ...

    def on_save(self, state: ckpt.TrainState, folder: Path) -> None: ...

    def on_train_end(self, state: ckpt.TrainState) -> None: ...


class TrainingLoop:
    """Trains ``prepared.model`` on ``dataset`` as ``cfg`` says: ``train(resume)``, ``save_final()``, ``close()``.
    Creating it starts the Accelerator (and the process group of a multi-process launch)."""

    def __init__(self, prepared: PreparedModel, dataset, collator, cfg: TrainConfig,
                 callbacks: Sequence[Any] = ()) -> None:  # fmt: skip
        self.prepared, self.cfg, self.callbacks = prepared, cfg, list(callbacks)
        self.output_dir = Path(cfg.output_dir)
        precision = resolve_precision(cfg.precision)
        self.accelerator = self._accelerator(precision)
        self.deepspeed = self.accelerator.distributed_type == DistributedType.DEEPSPEED
        self.half = (
            HALF.get(precision) if self.deepspeed else None
        )  # DeepSpeed's engine dtype, for the inputs
        self.precision = Precision(precision, self.accelerator.device, self.deepspeed)
        set_seed(cfg.seed)
        self.sampler = self._sampler(dataset)
        self.model, self.optimizer, self.loader = self.accelerator.prepare(
            prepared.model, self._optimizer(), self._loader(dataset, collator)
        )
        self.state = self._initial_state()
        self.scheduler = build_scheduler(
            self.optimizer, cfg.lr_scheduler, cfg.warmup_ratio, self.state.max_steps
        )
        self.trainable = [p for p in self.model.parameters() if p.requires_grad]
        self.meter = LossMeter(self.accelerator.device)
        self._rng_from: Path | None = (
            None  # resuming: restore the generators saved there before the first batch
        )
        self._last_norm = None

    def _accelerator(self, precision: str):
        cfg = self.cfg
        plugin = None
        if cfg.deepspeed:
            plugin = deepspeed_plugin(cfg.deepspeed, precision, cfg.grad_accum, cfg.max_grad_norm)
        return make_accelerator(self.output_dir, cfg.grad_accum, cfg.report_to, cfg.ddp_find_unused_parameters,
                                plugin)  # fmt: skip

    def _optimizer(self) -> torch.optim.Optimizer:
        cfg = self.cfg
        return build_optimizer(self.prepared.model, cfg.optim, cfg.learning_rate, cfg.lora_lr, cfg.head_lr,
                               cfg.weight_decay)  # fmt: skip

    def _loader(self, dataset, collator) -> DataLoader:
        workers = self.cfg.num_workers
        return DataLoader(dataset, batch_size=self.cfg.batch_size, sampler=self.sampler, collate_fn=collator,
                          num_workers=workers, persistent_workers=workers > 0,  # workers keep their clip caches
                          pin_memory=torch.cuda.is_available())  # fmt: skip

    @property
    def is_main_process(self) -> bool:
        return self.accelerator.is_main_process

    def _sampler(self, dataset) -> GroupSampler:
        group = self.cfg.batch_size * self.accelerator.num_processes
        types = dataset.data_types if self.cfg.group_by_data_type else ["any"] * len(dataset)
        return GroupSampler(types, group, self.cfg.seed)

    def _initial_state(self) -> ckpt.TrainState:
        batches = len(self.loader)
        if batches == 0:
            raise UserInputError(
                f"no training batches: every data type needs at least batch_size x processes = "
                f"{self.sampler.group_size} examples (the data has {sum(map(len, self.sampler.groups.values()))})"
            )
        per_epoch = math.ceil(batches / self.cfg.grad_accum)
        steps = self.cfg.max_steps if self.cfg.max_steps > 0 else math.ceil(self.cfg.num_epochs * per_epoch)
        return ckpt.TrainState(max_steps=steps, num_train_epochs=math.ceil(steps / per_epoch),
                               steps_per_epoch=per_epoch, logging_steps=self.cfg.logging_steps,
                               save_steps=self.cfg.save_steps, train_batch_size=self.cfg.batch_size)  # fmt: skip

    # ------------------------------------------------------------------ training
    def train(self, resume: Path | None = None) -> ckpt.TrainState:
        """Run to ``max_steps`` (from ``resume``, a complete checkpoint folder, if given); returns the state."""
        skip = self._resume(resume) if resume is not None else 0
        self.accelerator.init_trackers(TRACKER_PROJECT)
        self._emit("on_train_begin", self.state)
        start = time.perf_counter()
        self.model.train()
        epoch = self.state.global_step // self.state.steps_per_epoch
        while self.state.global_step < self.state.max_steps:
            self._epoch(epoch, skip)
            epoch, skip = epoch + 1, 0
        self._summary(time.perf_counter() - start)
        self._emit("on_train_end", self.state)
        return self.state

    def _epoch(self, epoch: int, skip: int) -> None:
        """One pass over the data (the first ``skip`` micro-batches already done), or until ``max_steps``."""
        loader = self.accelerator.skip_first_batches(self.loader, skip) if skip else self.loader
        loader.set_epoch(epoch)  # GroupSampler: the order of epoch ``epoch``
        for index, batch in enumerate(loader, start=skip + 1):
            self._restore_rng_once()
            with self.accelerator.accumulate(self.model):
                self._forward_backward(batch)
                if self.accelerator.sync_gradients:
                    self._optimizer_step()
            if self.accelerator.sync_gradients:
                self._after_step(epoch + index / len(self.loader))
                if self.state.global_step >= self.state.max_steps:
                    break

    def _restore_rng_once(self) -> None:
        """Resuming: the generators as they were after the checkpoint's step, once the first batch is loaded."""
        if self._rng_from is not None:
            ckpt.load_rng_state(self._rng_from, self.accelerator.process_index)
            self._rng_from = None

    def _forward_backward(self, batch) -> None:
        if self.half is not None:
            batch = cast_floats(batch, self.half)
        with self.precision.autocast():
            outputs = self.model(**batch)
        if "loss" not in outputs:
            raise ValueError("the batch has no supervised tokens (all labels are -100)")
        self.accelerator.backward(self.precision.scale(outputs["loss"]))
        self.meter.add(outputs)

    def _optimizer_step(self) -> None:
        if self.cfg.max_grad_norm > 0:
            self.precision.unscale(self.optimizer)
            self._last_norm = self.accelerator.clip_grad_norm_(self.trainable, self.cfg.max_grad_norm)
        stepped = self.precision.step(self.optimizer)
        if stepped and not self.accelerator.optimizer_step_was_skipped:
            self.scheduler.step()
        self.optimizer.zero_grad(set_to_none=True)

    def _after_step(self, epoch: float) -> None:
        state = self.state
        state.global_step += 1
        state.epoch = epoch
        self._emit("on_step_end", state)
        if state.global_step % max(self.cfg.logging_steps, 1) == 0:
            self._log()
        every = self.cfg.save_steps
        if state.global_step == state.max_steps or (every > 0 and state.global_step % every == 0):
            self.save_checkpoint()

    # ------------------------------------------------------------------ logging
    def _log(self) -> None:
        """Reduce the loss sums over the processes (the step's one host sync) and record them."""
        means = self.meter.take(self.accelerator)
        logs = {key: round(value, 4 if key == "loss" else 6) for key, value in means.items()}
        if self._last_norm is not None:
            logs["grad_norm"] = float(self._last_norm)
        logs["learning_rate"] = self.scheduler.get_last_lr()[0]
        logs["epoch"] = round(self.state.epoch, 4)
        logs["step"] = self.state.global_step
        self.state.log_history.append(logs)
        self.accelerator.log(
            {f"train/{k}": v for k, v in logs.items() if k != "step"}, step=self.state.global_step
        )
        if self.is_main_process:
            log.info("step %d/%d: %s", self.state.global_step, self.state.max_steps,
                     ", ".join(f"{k} {v:.4g}" for k, v in logs.items() if k not in ("step", "epoch")))  # fmt: skip
        self._emit("on_log", self.state, logs)

    def _summary(self, seconds: float) -> None:
        self.meter.take(self.accelerator)  # the steps after the last logging step count in the mean
        self.state.log_history.append({"train_loss": self.final_loss, "train_runtime": round(seconds, 3),
                                       "step": self.state.global_step, "epoch": round(self.state.epoch, 4)})  # fmt: skip

    @property
    def final_loss(self) -> float | None:
        """The mean micro-batch loss of this session (every process)."""
        return self.meter.run_mean

    def _emit(self, event: str, *args) -> None:
        for callback in self.callbacks:
            hook = getattr(callback, event, None)
            if hook is not None:
                hook(*args)

    # ------------------------------------------------------------------ saving
    def save_weights(self, folder: Path, dtype: torch.dtype | None = None) -> None:
        """The released layout (a collective under ZeRO-3, which gathers the weights; written by the main process)."""
        state = self.accelerator.get_state_dict(self.model)
        if not self.is_main_process:
            return
        p = self.prepared
        if p.role == "base":
            save_base_run(p.model, p.processor, folder, state, dtype)
        else:
            save_role_run(p.model, p.processor, folder, p.role, state, dtype)

    def save_checkpoint(self) -> Path:
        """``checkpoint-N``, atomically: weights, optimiser (or DeepSpeed's engine), schedule, scaler, then every
        process's random generators and the trainer state, the ``.complete`` marker, the rename, the rotation."""
        step, acc = self.state.global_step, self.accelerator
        tmp = ckpt.temporary_folder(self.output_dir, step)
        if self.is_main_process:
            ckpt.start_checkpoint(self.output_dir, step)
        acc.wait_for_everyone()
        self.save_weights(tmp)  # training dtype: resuming is exact
        if self.deepspeed:
            self.model.save_checkpoint(str(tmp), tag=f"global_step{step}")
        if self.is_main_process:
            self._save_optimisation(tmp)
        acc.wait_for_everyone()
        ckpt.save_rng_state(tmp, acc.process_index)
        if self.is_main_process:
            self.state.save(tmp / ckpt.TRAINER_STATE)
        acc.wait_for_everyone()
        final = tmp.with_name(f"{ckpt.CHECKPOINT_PREFIX}{step}")
        if self.is_main_process:
            ckpt.finish_checkpoint(tmp, step, self.cfg.save_total_limit)
        acc.wait_for_everyone()
        self._emit("on_save", self.state, final)
        return final

    def _save_optimisation(self, folder: Path) -> None:
        if not self.deepspeed:
            torch.save(self.optimizer.state_dict(), folder / ckpt.OPTIMIZER_FILE)
        torch.save(self.scheduler.state_dict(), folder / ckpt.SCHEDULER_FILE)
        if self.precision.scaler is not None:
            torch.save(self.precision.scaler.state_dict(), folder / ckpt.SCALER_FILE)

    def save_final(self) -> None:
        """The final weights in the released layout (``save_dtype``) and ``trainer_state.json`` in the output dir."""
        dtype = DTYPES[self.cfg.save_dtype] if self.cfg.save_dtype else None
        self.save_weights(self.output_dir, dtype)
        if self.is_main_process:
            self.state.save(self.output_dir / ckpt.TRAINER_STATE)
        self.accelerator.wait_for_everyone()

    def close(self) -> None:
        """Finish the trackers (TensorBoard) and leave the process group."""
        self.accelerator.end_training()

    # ------------------------------------------------------------------ resuming
    def _resume(self, folder: Path) -> int:
        """Read a complete checkpoint back; returns how many micro-batches of its epoch were consumed."""
        saved = ckpt.TrainState.load(folder / ckpt.TRAINER_STATE)
        self.state.global_step, self.state.epoch = saved.global_step, saved.epoch
        self.state.log_history = list(saved.log_history)
        if self.deepspeed:
            self.model.load_checkpoint(str(folder), tag=f"global_step{saved.global_step}")
        else:
            load_trainable(self.accelerator.unwrap_model(self.model), folder, self.prepared.role)
            self.optimizer.load_state_dict(_load(folder / ckpt.OPTIMIZER_FILE))
        self.scheduler.load_state_dict(_load(folder / ckpt.SCHEDULER_FILE))
        if self.precision.scaler is not None and (folder / ckpt.SCALER_FILE).is_file():
            self.precision.scaler.load_state_dict(_load(folder / ckpt.SCALER_FILE))
        self._rng_from = folder
        return (saved.global_step % self.state.steps_per_epoch) * self.cfg.grad_accum


def _load(file: Path):
    return torch.load(file, map_location="cpu", weights_only=True)
