"""``VideoMindTrainer``: the HF ``Trainer`` with VideoMind's optimiser groups, sampler, losses and saving.

- Optimiser: AdamW over six groups, {decay, no-decay} x {other, LoRA (``lora_lr``), head (``head_lr``)}; biases and
  normalisation weights do not decay (REFERENCE.md s.9.3).
- Sampler: ``GroupSampler`` (one data type per global micro-batch) when ``group_by_data_type``.
- Loss: the model's ``loss`` (LM + head); its parts (``loss_lm``, ``loss_cls``, ...) are logged beside it.
- Saving: the released layout (``saving.py``) instead of a plain state dict, for periodic checkpoints and the final
  output. Periodic checkpoints are ATOMIC: everything (weights, optimiser, scheduler, RNG, trainer state, a
  ``.complete`` marker) is written to ``tmp-checkpoint-N`` and renamed to ``checkpoint-N`` at the end, so a killed
  run never leaves a half-written checkpoint as the latest; old checkpoints are renamed before deletion.
- Resume: ``last_complete_checkpoint`` finds the newest ``checkpoint-N`` holding the marker; its weights are read
  back from the released layout (DeepSpeed reads its own engine files).
"""

from __future__ import annotations

import logging
import os
import re
import shutil
from collections import defaultdict
from pathlib import Path

from torch import nn
from transformers import Trainer
from transformers.trainer_callback import ExportableState

from videomind.data.mixing import GroupSampler
from videomind.model.devices import DTYPES
from videomind.train.saving import load_trainable, save_base_run, save_role_run
from videomind.train.setup import PreparedModel

log = logging.getLogger(__name__)

CHECKPOINT_PREFIX = "checkpoint-"
TMP_PREFIX = "tmp-checkpoint-"
DELETE_PREFIX = "tmp-delete-checkpoint-"
COMPLETE_MARKER = ".complete"
TRAINER_STATE = "trainer_state.json"
LOSS_PARTS = ("loss_lm", "loss_cls", "loss_reg", "loss_sal")
_CHECKPOINT_RE = re.compile(rf"^{CHECKPOINT_PREFIX}(\d+)$")


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


def checkpoint_step(path: Path) -> int | None:
    match = _CHECKPOINT_RE.match(path.name)
    return int(match.group(1)) if match else None


def complete_checkpoints(output_dir: str | Path) -> list[Path]:
    """``checkpoint-N`` folders holding the completion marker, oldest first."""
    folder = Path(output_dir)
    if not folder.is_dir():
        return []
    found = [
        p for p in folder.iterdir() if checkpoint_step(p) is not None and (p / COMPLETE_MARKER).is_file()
    ]
    return sorted(found, key=checkpoint_step)


def last_complete_checkpoint(output_dir: str | Path) -> Path | None:
    found = complete_checkpoints(output_dir)
    return found[-1] if found else None


def remove_stale(output_dir: str | Path) -> list[Path]:
    """Delete leftovers of a killed run (``tmp-checkpoint-*``, half-deleted checkpoints); returns them."""
    folder = Path(output_dir)
    stale = [p for p in folder.glob("tmp-*checkpoint-*") if p.is_dir()] if folder.is_dir() else []
    stale += [
        p for p in folder.glob(f"{CHECKPOINT_PREFIX}*") if p.is_dir() and not (p / COMPLETE_MARKER).is_file()
    ]
    for path in stale:
        log.warning("removing incomplete checkpoint %s", path)
        shutil.rmtree(path, ignore_errors=True)
    return stale


class VideoMindTrainer(Trainer):
    """HF Trainer for a ``PreparedModel`` (pass ``prepared=`` and the usual Trainer arguments)."""

    loss_is_scaled_for_ga = False  # our loss is a per-micro-batch mean: the Trainer divides by accumulation

    def __init__(self, *args, prepared: PreparedModel, lora_lr: float | None = None, head_lr: float | None = None,
                 group_by_data_type: bool = True, save_dtype: str | None = None, **kwargs) -> None:  # fmt: skip
        super().__init__(*args, **kwargs)
        self.prepared = prepared
        self.lora_lr, self.head_lr = lora_lr, head_lr
        self.group_by_data_type = group_by_data_type
        self.save_dtype = DTYPES[save_dtype] if save_dtype else None
        self.model_accepts_loss_kwargs = False
        self._parts: dict[str, list[float]] = defaultdict(list)

    # ------------------------------------------------------------------ optimisation
    def create_optimizer(self, model=None):
        if self.optimizer is None:
            groups = param_groups(self.model, self.args.learning_rate, self.lora_lr, self.head_lr,
                                  self.args.weight_decay)  # fmt: skip
            optimizer_cls, kwargs = self.get_optimizer_cls_and_kwargs(self.args, self.model)
            kwargs.pop("params", None)
            self.optimizer = optimizer_cls(groups, **kwargs)
            log.info("optimiser groups: %s", ", ".join(f"{g['name']} ({len(g['params'])})" for g in groups))
        return self.optimizer

    def _get_train_sampler(self, train_dataset=None):
        dataset = train_dataset if train_dataset is not None else self.train_dataset
        if self.group_by_data_type and hasattr(dataset, "data_types"):
            group = self.args.per_device_train_batch_size * self.args.world_size
            return GroupSampler(dataset.data_types, group, self.args.seed)
        return super()._get_train_sampler(train_dataset)

    def compute_loss(self, model, inputs, return_outputs=False, num_items_in_batch=None):
        outputs = model(**inputs)
        if "loss" not in outputs:
            raise ValueError("the batch has no supervised tokens (all labels are -100)")
        for key in LOSS_PARTS:
            if key in outputs:
                self._parts[key].append(float(outputs[key].detach()))
        return (outputs["loss"], outputs) if return_outputs else outputs["loss"]

    def log(self, logs: dict[str, float], start_time: float | None = None) -> None:
        if "loss" in logs:
            for key, values in self._parts.items():
                if values:
                    logs[key] = round(sum(values) / len(values), 6)
            self._parts.clear()
        super().log(logs, start_time)

    # ------------------------------------------------------------------ saving
    def _save(self, output_dir: str | None = None, state_dict: dict | None = None) -> None:
        if not self.args.should_save:
            return
        out = output_dir or self.args.output_dir
        model = self.prepared.model
        state = state_dict if state_dict else model.state_dict()
        if self.prepared.role == "base":
            save_base_run(model, self.prepared.processor, out, state, self.save_dtype)
        else:
            save_role_run(model, self.prepared.processor, out, self.prepared.role, state, self.save_dtype)

    def _save_checkpoint(self, model, trial) -> None:
        """The parent's checkpoint, written to ``tmp-checkpoint-N`` and renamed when complete."""
        step = self.state.global_step
        run_dir = Path(self._get_output_dir(trial=trial))
        tmp, final = run_dir / f"{TMP_PREFIX}{step}", run_dir / f"{CHECKPOINT_PREFIX}{step}"
        if self.args.should_save and tmp.exists():
            shutil.rmtree(tmp)
        self.accelerator.wait_for_everyone()
        self.store_flos()
        # Periodic checkpoints keep the training dtype so that resuming is exact.
        dtype, self.save_dtype = self.save_dtype, None
        try:
            self.save_model(str(tmp), _internal_call=True)
        finally:
            self.save_dtype = dtype
        if not self.args.save_only_model:
            self._save_optimizer_and_scheduler(str(tmp))
            self._save_scaler(str(tmp))
            self._save_rng_state(str(tmp))
        if self.args.should_save:
            self._save_trainer_state(tmp)
        self.accelerator.wait_for_everyone()
        if self.args.should_save:
            (tmp / COMPLETE_MARKER).write_text(f"{step}\n")
            if final.exists():
                shutil.rmtree(final)
            os.replace(tmp, final)
            self._rotate(run_dir)
        self.accelerator.wait_for_everyone()

    def _save_trainer_state(self, folder: Path) -> None:
        exportable = [
            cb for cb in self.callback_handler.callbacks + [self.control] if isinstance(cb, ExportableState)
        ]
        for cb in exportable:
            name = cb.__class__.__name__
            if isinstance(self.state.stateful_callbacks.get(name), list):
                self.state.stateful_callbacks[name].append(cb.state())
            else:
                self.state.stateful_callbacks[name] = cb.state()
        self.state.save_to_json(str(folder / TRAINER_STATE))

    def _rotate(self, run_dir: Path) -> None:
        limit = self.args.save_total_limit
        if not limit or limit <= 0:
            return
        for old in complete_checkpoints(run_dir)[:-limit]:
            doomed = old.with_name(f"{DELETE_PREFIX}{checkpoint_step(old)}")
            os.replace(old, doomed)  # atomic: a kill during deletion leaves no half checkpoint-N
            shutil.rmtree(doomed, ignore_errors=True)

    def _load_from_checkpoint(self, resume_from_checkpoint: str, model=None) -> None:
        log.info("resuming the weights of %s", resume_from_checkpoint)
        load_trainable(self.prepared.model, resume_from_checkpoint, self.prepared.role)
