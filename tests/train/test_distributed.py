"""Several processes on CPU: ``torchrun --nproc_per_node 2`` (gloo) and DeepSpeed ZeRO-2 / ZeRO-3 train and save
the same weights (slow: process start-up, and DeepSpeed compiles a CPU op on first use)."""

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
import torch
from safetensors.torch import load_file

from tests.train.conftest import tiny_overrides
from videomind.model import load_model
from videomind.model.adapters import roles_of
from videomind.train.config import load_config, save_config

pytestmark = pytest.mark.slow
REPO = Path(__file__).resolve().parents[2]
STEPS = 4


def torchrun(cfg_file: Path, *overrides: str) -> subprocess.CompletedProcess:
    launcher = shutil.which("torchrun", path=str(Path(sys.executable).parent)) or "torchrun"
    env = dict(os.environ, OMP_NUM_THREADS="1")
    cmd = [launcher, "--nproc_per_node", "2", "-m", "videomind", "train", str(cfg_file), *overrides]
    proc = subprocess.run(cmd, cwd=REPO, env=env, capture_output=True, text=True, timeout=900)
    assert proc.returncode == 0, proc.stderr[-3000:]
    return proc


@pytest.fixture(scope="module")
def ddp_run(synth_root, tmp_path_factory):
    folder = tmp_path_factory.mktemp("ddp")
    cfg = load_config(None, [*tiny_overrides("grounder", folder / "ddp", synth_root, steps=STEPS),
                             "train.save_steps=2"])  # fmt: skip
    file = save_config(cfg, folder / "cfg")
    torchrun(file)
    return folder, file


def adapter(out: Path) -> dict:
    return {**load_file(str(out / "grounder" / "adapter_model.safetensors")),
            **load_file(str(out / "pytorch_model.safetensors"))}  # fmt: skip


def test_torchrun_two_processes_train_and_save(ddp_run):
    folder, _ = ddp_run
    out = folder / "ddp"
    state = json.loads((out / "trainer_state.json").read_text())
    assert state["global_step"] == STEPS
    # two processes, one sample each per step: 4 steps consume 8 of the 14 grounding samples
    assert state["epoch"] == pytest.approx(STEPS * 2 / 14)
    assert [p.name for p in out.glob("checkpoint-*")] == ["checkpoint-4"] and not list(out.glob("tmp-*"))
    model, _ = load_model(out, device="cpu", dtype=torch.float32)
    assert roles_of(model) == ["grounder"]


@pytest.mark.parametrize("stage", ["zero2", "zero3"])
def test_deepspeed_matches_ddp(ddp_run, stage):
    folder, file = ddp_run
    out = folder / stage
    torchrun(file, f"train.output_dir={out}", f"train.deepspeed=configs/deepspeed/{stage}.json")
    expected, found = adapter(folder / "ddp"), adapter(out)
    assert expected.keys() == found.keys()
    for key, tensor in expected.items():
        assert torch.allclose(tensor, found[key], atol=1e-5), key
    assert (out / "checkpoint-4" / "global_step4").is_dir()  # DeepSpeed's own engine state, for resuming
    load_model(out, device="cpu", dtype=torch.float32)


def test_deepspeed_resumes_from_its_checkpoint(ddp_run):
    """Two steps, then a second launch to four steps: resumed from checkpoint-2, equal to the straight run."""
    folder, file = ddp_run
    out = folder / "zero2-resumed"
    ds = "train.deepspeed=configs/deepspeed/zero2.json"
    torchrun(file, f"train.output_dir={out}", ds, "train.max_steps=2")
    proc = torchrun(file, f"train.output_dir={out}", ds)
    assert f"resuming from {out / 'checkpoint-2'}" in proc.stderr
    state = json.loads((out / "trainer_state.json").read_text())
    assert [h["step"] for h in state["log_history"] if "loss" in h] == [1, 2, 3, 4]
    expected, found = adapter(folder / "ddp"), adapter(out)
    for key, tensor in expected.items():
        assert torch.allclose(tensor, found[key], atol=1e-5), key
