"""What the training loop runs on: the ``Accelerator`` (processes, DeepSpeed), mixed precision, on-device loss sums.

- ``make_accelerator``: accelerate's ``Accelerator`` for one process, ``torchrun`` (gloo on CPUs, NCCL on GPUs) or
  DeepSpeed ZeRO-2/3 from a JSON file (``DeepSpeedPlugin``; its ``auto`` precision is filled from
  ``train.precision``, clipping and accumulation from the config, the batch size from the data loader).
- ``Precision``: ``torch.autocast`` (bf16 / fp16) and, for fp16, a ``GradScaler``. The Accelerator itself always
  runs with ``mixed_precision="no"``: accelerate keeps one process-wide state whose precision cannot change once
  set (a second ``Accelerator(mixed_precision=...)`` raises), so owning the autocast lets several runs of
  different precisions share a process (tests, notebooks). Under DeepSpeed the engine does mixed precision.
- ``LossMeter``: the loss and its parts summed ON THE DEVICE; they reach the host only at logging steps.
"""

from __future__ import annotations

import json
import logging
from contextlib import nullcontext
from pathlib import Path

import torch
from accelerate import Accelerator, DeepSpeedPlugin, PartialState
from accelerate.utils import DistributedDataParallelKwargs, ProjectConfiguration

from videomind.errors import UserInputError

log = logging.getLogger(__name__)

LOSS_PARTS = ("loss_lm", "loss_cls", "loss_reg", "loss_sal")
HALF = {"bf16": torch.bfloat16, "fp16": torch.float16}
TENSORBOARD_DIR = "runs"


def resolve_precision(precision: str) -> str:
    """``fp32``, ``bf16`` or ``fp16``; fp16 needs a GPU (on a CPU: fp32, with a warning)."""
    if precision == "fp16" and not torch.cuda.is_available():
        log.warning("fp16 mixed precision needs a GPU: training in fp32 (bf16 works on CPUs)")
        return "fp32"
    return precision


def deepspeed_plugin(
    config_file: str, precision: str, grad_accum: int, max_grad_norm: float
) -> DeepSpeedPlugin:
    """A ``DeepSpeedPlugin`` from a ZeRO JSON file; its ``"auto"`` fp16 / bf16 switches follow ``precision``.
    ZeRO-3 partitions the model when the engine starts (no ``zero.Init`` construction: the model is built first)."""
    path = Path(config_file)
    if not path.is_file():
        raise UserInputError(f"train.deepspeed={config_file!r}: no such file (see configs/deepspeed/)")
    config = json.loads(path.read_text())
    for key in HALF:
        section = config.get(key)
        if isinstance(section, dict) and section.get("enabled") == "auto":
            section["enabled"] = precision == key
    return DeepSpeedPlugin(hf_ds_config=config, gradient_accumulation_steps=grad_accum,
                           gradient_clipping=max_grad_norm, zero3_init_flag=False)  # fmt: skip


def make_accelerator(output_dir: str | Path, grad_accum: int, report_to: list[str],
                     find_unused_parameters: bool = False, plugin: DeepSpeedPlugin | None = None) -> Accelerator:  # fmt: skip
    """The Accelerator of one run; it reads the launcher's environment (``torchrun``: RANK, WORLD_SIZE, ...)."""
    cpu = not torch.cuda.is_available()
    if plugin is not None and cpu:
        # accelerate starts DeepSpeed only when not forced onto the CPU: open the (gloo) process group first,
        # as a CPU state, and let the Accelerator take it over with the plugin.
        PartialState(cpu=True)
        cpu = False
    trackers = [r for r in report_to if r != "none"]
    project = ProjectConfiguration(
        project_dir=str(output_dir), logging_dir=str(Path(output_dir) / TENSORBOARD_DIR)
    )
    return Accelerator(
        cpu=cpu, gradient_accumulation_steps=grad_accum, deepspeed_plugin=plugin, log_with=trackers or None,
        project_config=project, mixed_precision="no",
        kwargs_handlers=[DistributedDataParallelKwargs(find_unused_parameters=find_unused_parameters)],
    )  # fmt: skip


class Precision:
    """Autocast and (fp16) gradient scaling around the model's forward / backward; inert under DeepSpeed."""

    def __init__(self, precision: str, device: torch.device, deepspeed: bool) -> None:
        self.dtype = HALF.get(precision)
        self.device_type = device.type
        self.active = self.dtype is not None and not deepspeed
        self.scaler = torch.amp.GradScaler(device.type) if self.active and precision == "fp16" else None

    def autocast(self):
        return torch.autocast(self.device_type, dtype=self.dtype) if self.active else nullcontext()

    def scale(self, loss: torch.Tensor) -> torch.Tensor:
        return self.scaler.scale(loss) if self.scaler is not None else loss

    def unscale(self, optimizer) -> None:
        """Before clipping: the gradients in true units."""
        if self.scaler is not None:
            self.scaler.unscale_(optimizer)

    def step(self, optimizer) -> bool:
        """The optimiser step; False when fp16 found inf / NaN gradients and skipped it (the scale then drops)."""
        if self.scaler is None:
            optimizer.step()
            return True
        before = self.scaler.get_scale()
        self.scaler.step(optimizer)
        self.scaler.update()
        return self.scaler.get_scale() >= before


def cast_floats(data, dtype: torch.dtype):
    """Floating tensors of a batch (nested in dicts / lists) cast to ``dtype`` (DeepSpeed fp16 / bf16 engines)."""
    if isinstance(data, torch.Tensor):
        return data.to(dtype) if data.is_floating_point() else data
    if isinstance(data, dict) or hasattr(data, "items"):
        return type(data)({k: cast_floats(v, dtype) for k, v in data.items()})
    if isinstance(data, (list, tuple)):
        return type(data)(cast_floats(v, dtype) for v in data)
    return data


class LossMeter:
    """Sums and counts of ``loss`` and its parts since the last logging step, as one tensor on the device."""

    KEYS = ("loss", *LOSS_PARTS)

    def __init__(self, device: torch.device) -> None:
        self.device = device
        self.totals = torch.zeros(len(self.KEYS), 2, device=device)
        self.run_sum, self.run_count = 0.0, 0  # host side: this session's loss, for the summary

    def add(self, outputs) -> None:
        """One micro-batch's outputs; no host synchronisation."""
        for i, key in enumerate(self.KEYS):
            if key in outputs:
                self.totals[i, 0] += outputs[key].detach().float()
                self.totals[i, 1] += 1

    def take(self, accelerator: Accelerator) -> dict[str, float]:
        """Means over the micro-batches (of every process) since the last call; a collective: call it on every
        process. The one host synchronisation of a logging step."""
        sums, counts = accelerator.reduce(self.totals, reduction="sum").double().cpu().unbind(1)
        self.totals = torch.zeros_like(self.totals)
        self.run_sum += float(sums[0])
        self.run_count += int(counts[0])
        return {key: float(s / n) for key, s, n in zip(self.KEYS, sums, counts) if n > 0}

    @property
    def run_mean(self) -> float | None:
        return self.run_sum / self.run_count if self.run_count else None
