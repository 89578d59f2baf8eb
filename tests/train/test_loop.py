"""The training loop: the library API it stands on, epochs and accumulation, schedules, callbacks, loss sums kept
on the device, and the messages about settings that cannot apply."""

import dataclasses
import inspect
import json
import logging

import pytest
import torch
from accelerate import Accelerator, DeepSpeedPlugin
from accelerate.utils import DistributedDataParallelKwargs, DistributedType, ProjectConfiguration
from torch.utils.data import DataLoader, Dataset
from transformers import get_scheduler

from tests.train.conftest import tiny_overrides
from videomind.data.mixing import GroupSampler
from videomind.errors import UserInputError
from videomind.train.config import load_config
from videomind.train.run import resume_point, run_training
from videomind.train.runtime import LossMeter, Precision, resolve_precision


def params(fn) -> set[str]:
    return set(inspect.signature(fn).parameters)


def test_the_library_api_the_loop_uses_is_unchanged():
    """Fails loudly when transformers / accelerate / torch rename or drop what ``train/`` calls."""
    assert {"name", "optimizer", "num_warmup_steps", "num_training_steps"} <= params(get_scheduler)
    assert {"cpu", "gradient_accumulation_steps", "deepspeed_plugin", "log_with", "project_config",
            "mixed_precision", "kwargs_handlers"} <= params(Accelerator.__init__)  # fmt: skip
    methods = {
        "prepare": set(), "accumulate": set(), "backward": {"loss"}, "clip_grad_norm_": {"parameters", "max_norm"},
        "get_state_dict": {"model"}, "skip_first_batches": {"dataloader", "num_batches"}, "unwrap_model": {"model"},
        "reduce": {"tensor", "reduction"},
        "wait_for_everyone": set(), "end_training": set(),
    }  # fmt: skip
    for name, args in methods.items():
        assert args <= params(getattr(Accelerator, name)), name
    accelerator = Accelerator(cpu=True, mixed_precision="no")
    for name in ("sync_gradients", "optimizer_step_was_skipped", "is_main_process", "process_index",
                 "num_processes", "device", "distributed_type"):  # fmt: skip
        assert hasattr(accelerator, name), name
    accelerator.init_trackers(project_name="videomind")  # main-process methods (their signature is hidden)
    accelerator.log(values={"train/loss": 1.0}, step=1)
    plugin_fields = {f.name for f in dataclasses.fields(DeepSpeedPlugin)}
    assert {
        "hf_ds_config",
        "gradient_accumulation_steps",
        "gradient_clipping",
        "zero3_init_flag",
    } <= plugin_fields
    assert {"project_dir", "logging_dir"} <= params(ProjectConfiguration)
    assert "find_unused_parameters" in params(DistributedDataParallelKwargs)
    assert DistributedType.DEEPSPEED and DistributedType.NO
    for name in ("scale", "unscale_", "step", "update", "get_scale", "state_dict", "load_state_dict"):
        assert hasattr(torch.amp.GradScaler, name), name


def test_deepspeed_engine_api_is_unchanged():
    deepspeed = pytest.importorskip("deepspeed")
    assert {"save_dir", "tag"} <= params(deepspeed.DeepSpeedEngine.save_checkpoint)
    assert {"load_dir", "tag"} <= params(deepspeed.DeepSpeedEngine.load_checkpoint)


class Keys(Dataset):
    def __getitem__(self, key):
        return key

    def __len__(self):
        return 10


def test_prepared_loader_follows_the_epoch_and_skips_consumed_batches():
    """What resuming relies on: ``set_epoch`` reaches our sampler, also through ``skip_first_batches``; an epoch's
    last, partial accumulation still synchronises."""
    accelerator = Accelerator(cpu=True, mixed_precision="no", gradient_accumulation_steps=2)
    sampler = GroupSampler(["a"] * 6 + ["b"] * 4, 1, seed=3)
    loader = accelerator.prepare(
        DataLoader(Keys(), batch_size=1, sampler=sampler, collate_fn=lambda items: items)
    )
    orders = []
    for epoch in (0, 1):
        loader.set_epoch(epoch)
        full = [batch[0] for batch in loader]
        skipped = accelerator.skip_first_batches(loader, 3)
        skipped.set_epoch(epoch)
        assert [batch[0] for batch in skipped] == full[3:]
        assert {key_epoch for _, key_epoch in full} == {epoch}  # GroupSampler keys: (index, epoch)
        orders.append([index for index, _ in full])
    assert orders[0] != orders[1] and sorted(orders[0]) == sorted(orders[1])
    model = accelerator.prepare(torch.nn.Linear(1, 1))
    pattern = []
    for _ in accelerator.skip_first_batches(loader, 1):  # 9 micro-batches, accumulation 2
        with accelerator.accumulate(model):
            pattern.append(accelerator.sync_gradients)
    assert pattern == [False, True] * 4 + [True]


def test_loss_sums_stay_on_the_device_until_a_logging_step(monkeypatch):
    meter = LossMeter(torch.device("cpu"))
    outputs = [{"loss": torch.tensor(2.0), "loss_lm": torch.tensor(1.0)},
               {"loss": torch.tensor(4.0), "loss_lm": torch.tensor(3.0), "loss_cls": torch.tensor(0.5)}]  # fmt: skip

    def host_sync(*args, **kwargs):
        raise AssertionError("a micro-step brought a value to the host")

    with monkeypatch.context() as patch:
        for name in ("item", "tolist", "cpu", "numpy", "__float__", "__int__", "__bool__"):
            patch.setattr(torch.Tensor, name, host_sync)
        for out in outputs:
            meter.add(out)
    accelerator = Accelerator(cpu=True, mixed_precision="no")
    assert meter.take(accelerator) == {
        "loss": 3.0,
        "loss_lm": 2.0,
        "loss_cls": 0.5,
    }  # parts: over their batches
    meter.add({"loss": torch.tensor(6.0)})
    assert meter.take(accelerator) == {"loss": 6.0}  # reset at each logging step
    assert meter.run_mean == 4.0  # the session's mean, for the summary


class Recorder:
    """A callback of our protocol with every hook."""

    def __init__(self):
        self.events = []

    def on_train_begin(self, state):
        self.events.append(("begin", state.global_step))

    def on_step_end(self, state):
        self.events.append(("step", state.global_step))

    def on_log(self, state, logs):
        self.events.append(("log", logs["step"]))

    def on_save(self, state, folder):
        self.events.append(("save", folder.name, (folder / ".complete").is_file()))

    def on_train_end(self, state):
        self.events.append(("end", state.global_step))


def test_epochs_accumulation_schedule_and_callbacks(synth_root, tmp_path):
    """14 grounding samples, accumulation 2, one epoch: 7 optimiser steps (the schedule's length), a linear
    schedule warming up for ceil(0.3 x 7) = 3 steps; logs every 2 steps, checkpoints every 4 and at the end."""
    out = tmp_path / "run"
    overrides = [*tiny_overrides("grounder", out, synth_root), "train.max_steps=-1", "train.num_epochs=1",
                 "train.grad_accum=2", "train.lr_scheduler=linear", "train.warmup_ratio=0.3",
                 "train.logging_steps=2", "train.save_steps=4", "train.save_total_limit=2"]  # fmt: skip
    recorder = Recorder()
    result = run_training(load_config(None, overrides), callbacks=[recorder])
    assert result.global_step == 7
    assert recorder.events == [("begin", 0), *[("step", s) for s in (1, 2)], ("log", 2), ("step", 3), ("step", 4),
                               ("log", 4), ("save", "checkpoint-4", True), ("step", 5), ("step", 6), ("log", 6),
                               ("step", 7), ("save", "checkpoint-7", True), ("end", 7)]  # fmt: skip
    logged = [h for h in result.log_history if "loss" in h]
    lr = 2e-3
    assert [h["learning_rate"] for h in logged] == pytest.approx([lr * 2 / 3, lr * 3 / 4, lr * 1 / 4])
    assert [h["epoch"] for h in logged] == pytest.approx([4 / 14, 8 / 14, 12 / 14], abs=1e-4)
    assert all({"loss_lm", "loss_cls", "loss_reg", "loss_sal", "grad_norm"} <= h.keys() for h in logged)
    state = json.loads((out / "trainer_state.json").read_text())
    assert state["global_step"] == 7 and state["epoch"] == 1.0 and state["max_steps"] == 7
    assert state["log_history"][-1]["train_loss"] == pytest.approx(result.final_loss)
    assert sorted(p.name for p in out.glob("checkpoint-*")) == ["checkpoint-4", "checkpoint-7"]
    files = ("optimizer.pt", "scheduler.pt", "rng_state_0.pth", "trainer_state.json", "pytorch_model.safetensors",
             "grounder/adapter_model.safetensors", "config.json")  # fmt: skip
    assert all((out / "checkpoint-7" / f).is_file() for f in files)


def test_save_dtype_applies_to_the_final_files_only(synth_root, tmp_path):
    from safetensors.torch import load_file

    out = tmp_path / "run"
    cfg = load_config(
        None, [*tiny_overrides("grounder", out, synth_root, steps=1), "train.save_dtype=float16"]
    )
    run_training(cfg)

    def dtypes(folder):
        return {t.dtype for t in load_file(str(folder / "grounder" / "adapter_model.safetensors")).values()}

    assert dtypes(out) == {torch.float16} and dtypes(out / "checkpoint-1") == {torch.float32}


def test_resume_needs_a_checkpoint_folder(tmp_path):
    cfg = load_config(
        None, [*tiny_overrides("grounder", tmp_path / "run", tmp_path), f"train.resume={tmp_path}"]
    )
    with pytest.raises(UserInputError, match="not a checkpoint folder"):
        resume_point(cfg)
    never = load_config(None, [*tiny_overrides("grounder", tmp_path / "run", tmp_path), "train.resume=never"])
    assert resume_point(never) is None


@pytest.mark.skipif(torch.cuda.is_available(), reason="the CPU fallback")
def test_fp16_on_a_cpu_trains_in_fp32_with_a_warning(caplog):
    with caplog.at_level(logging.WARNING, logger="videomind.train.runtime"):
        assert resolve_precision("fp16") == "fp32"
    assert "fp16 mixed precision needs a GPU" in caplog.text
    assert resolve_precision("bf16") == "bf16"


def test_liger_without_the_package_on_a_gpu_says_so_once(monkeypatch, caplog):
    import sys

    from videomind.train import setup

    monkeypatch.setattr(torch.cuda, "is_available", lambda: True)
    monkeypatch.setitem(sys.modules, "liger_kernel", None)  # "not installed": importing it raises ImportError
    monkeypatch.setitem(sys.modules, "liger_kernel.transformers", None)
    setup._warn_liger_missing.cache_clear()
    with caplog.at_level(logging.WARNING, logger="videomind.train.setup"):
        assert setup.apply_liger(None) is False
        assert setup.apply_liger(None) is False
    assert caplog.text.count("liger-kernel is not installed") == 1
    setup._warn_liger_missing.cache_clear()


def test_fp16_gradient_scaling_steps_or_skips():
    """The fp16 path (GPU runs; its logic runs on a CPU too): scaled backward, unscale before clipping, a step
    when the gradients are finite, a skipped step and a lower scale when they are not."""
    precision = Precision("fp16", torch.device("cpu"), deepspeed=False)
    model = torch.nn.Linear(4, 1)
    optimizer = torch.optim.SGD(model.parameters(), lr=0.1)

    def step(factor):
        optimizer.zero_grad()
        with precision.autocast():
            out = model(torch.ones(2, 4))
        assert out.dtype == torch.float16
        precision.scale(out.float().mean() * factor).backward()
        precision.unscale(optimizer)
        if factor < 1:
            assert model.weight.grad.abs().max() < 1  # true units again, ready for clipping
        before = model.weight.detach().clone()
        return precision.step(optimizer), not torch.equal(before, model.weight), precision.scaler.get_scale()

    assert step(1e-3) == (True, True, 2.0**16)
    assert step(float("inf")) == (False, False, 2.0**15)
    assert Precision("fp16", torch.device("cpu"), deepspeed=True).scaler is None  # DeepSpeed scales itself
    assert Precision("fp32", torch.device("cpu"), deepspeed=False).scaler is None
