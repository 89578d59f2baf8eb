"""A run killed with SIGKILL while writing a checkpoint resumes from the last COMPLETE one and ends where an
uninterrupted run ends."""

import signal
import subprocess
import sys
from pathlib import Path

import pytest
import torch

from tests.train.conftest import tiny_overrides
from videomind.train.config import load_config, save_config
from videomind.train.run import run_training

REPO = Path(__file__).resolve().parents[2]
# Runs a config in a fresh process and SIGKILLs it in the middle of writing the checkpoint of step KILL_AT:
# after the weights and the optimiser state are written, before the RNG and trainer state and the rename.
KILLER = """
import os, signal, sys
import torch
torch.set_num_threads(1)
from videomind.train import checkpoints
from videomind.train.config import load_config
from videomind.train.run import run_training

kill_at = int(sys.argv[2])
save_rng = checkpoints.save_rng_state

def dying(folder, rank):
    if folder.name == f"{checkpoints.TMP_PREFIX}{kill_at}":
        os.kill(os.getpid(), signal.SIGKILL)
    return save_rng(folder, rank)

checkpoints.save_rng_state = dying  # the loop calls it through the module, after weights and optimiser
run_training(load_config(sys.argv[1]))
"""


class StepCounter:
    """A callback of our protocol (``videomind.train.loop``): the global step after each optimiser step."""

    def __init__(self):
        self.steps = []

    def on_step_end(self, state):
        self.steps.append(state.global_step)


def config(root, out, steps=6):
    return load_config(None, [*tiny_overrides("grounder", out, root, steps=steps), "train.save_steps=2"])


def kill_during_checkpoint(cfg, tmp_path, kill_at):
    folder = tmp_path / "cfg"
    file = save_config(cfg, folder)
    script = tmp_path / "killer.py"
    script.write_text(KILLER)
    proc = subprocess.run([sys.executable, str(script), str(file), str(kill_at)], cwd=REPO, capture_output=True,
                          text=True, timeout=300)  # fmt: skip
    assert proc.returncode == -signal.SIGKILL, proc.stderr[-2000:]


def test_killed_run_resumes_from_the_last_complete_checkpoint(synth_root, tmp_path):
    out = tmp_path / "run"
    cfg = config(synth_root, out)
    kill_during_checkpoint(cfg, tmp_path, kill_at=4)
    assert (out / "checkpoint-2" / ".complete").is_file()
    assert (out / "tmp-checkpoint-4").is_dir() and not (out / "checkpoint-4").exists()
    assert not (out / "tmp-checkpoint-4" / ".complete").exists()  # the half-written one was never the latest
    counter = StepCounter()
    result = run_training(cfg, callbacks=[counter])
    assert result.resumed_from == out / "checkpoint-2"
    assert counter.steps == [3, 4, 5, 6] and result.global_step == 6  # continued after step 2
    assert [h["step"] for h in result.log_history if "loss" in h] == [1, 2, 3, 4, 5, 6]
    assert not list(out.glob("tmp-*"))
    assert [p.name for p in out.glob("checkpoint-*")] == ["checkpoint-6"]  # save_total_limit 1


@pytest.mark.slow
def test_resumed_run_equals_an_uninterrupted_run(synth_root, tmp_path):
    out = tmp_path / "killed"
    cfg = config(synth_root, out)
    kill_during_checkpoint(cfg, tmp_path, kill_at=4)
    resumed = run_training(cfg).prepared.model.state_dict()
    straight = run_training(config(synth_root, tmp_path / "straight")).prepared.model.state_dict()
    for name, tensor in straight.items():
        assert torch.allclose(tensor, resumed[name], atol=1e-6), name


def test_a_base_run_from_a_saved_base_resumes(synth_root, tmp_path):
    """A role-``base`` run whose base was read from disk: its checkpoints are written in the official names
    (``model.layers.N``) and must load back into transformers 5's (``model.language_model.layers.N``)."""
    from videomind.model import build_tiny_model
    from videomind.train.saving import save_base_run

    model, processor = build_tiny_model(seed=0, roles=())
    base = save_base_run(model, processor, tmp_path / "base")
    out = tmp_path / "run"
    overrides = [
        *tiny_overrides("base", out, synth_root, steps=6),
        f"model.base={base}",
        "train.save_steps=2",
    ]
    cfg = load_config(None, [*overrides, "model.freeze_vision=true"])
    kill_during_checkpoint(cfg, tmp_path, kill_at=4)
    counter = StepCounter()
    result = run_training(cfg, callbacks=[counter])
    assert result.resumed_from == out / "checkpoint-2"
    assert counter.steps == [3, 4, 5, 6]
