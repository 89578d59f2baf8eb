"""Checkpoint bookkeeping (completion marker, stale folders, atomic rotation) and the trainer state file."""

import pytest

from videomind.train.checkpoints import (
    COMPLETE_MARKER,
    checkpoint_step,
    complete_checkpoints,
    last_complete_checkpoint,
    remove_stale,
)


def make(folder, complete=True):
    folder.mkdir()
    (folder / "trainer_state.json").write_text("{}")
    if complete:
        (folder / COMPLETE_MARKER).write_text("1\n")
    return folder


def test_last_complete_checkpoint_ignores_partial_and_temporary_folders(tmp_path):
    assert last_complete_checkpoint(tmp_path / "missing") is None
    make(tmp_path / "checkpoint-2")
    make(tmp_path / "checkpoint-10")
    make(tmp_path / "checkpoint-12", complete=False)  # e.g. written by an older, non-atomic run
    make(tmp_path / "tmp-checkpoint-14", complete=False)  # killed while saving
    (tmp_path / "checkpoint-x").mkdir()
    assert [p.name for p in complete_checkpoints(tmp_path)] == [
        "checkpoint-2",
        "checkpoint-10",
    ]  # numeric order
    assert last_complete_checkpoint(tmp_path).name == "checkpoint-10"
    removed = sorted(p.name for p in remove_stale(tmp_path))
    assert removed == ["checkpoint-12", "checkpoint-x", "tmp-checkpoint-14"]
    assert sorted(p.name for p in tmp_path.iterdir()) == ["checkpoint-10", "checkpoint-2"]


@pytest.mark.parametrize(
    "name, step", [("checkpoint-7", 7), ("tmp-checkpoint-7", None), ("checkpoint-7b", None)]
)
def test_checkpoint_step(tmp_path, name, step):
    assert checkpoint_step(tmp_path / name) == step


def test_finish_checkpoint_renames_and_rotates(tmp_path):
    from videomind.train.checkpoints import finish_checkpoint, start_checkpoint

    for step in (1, 2, 3):
        tmp = start_checkpoint(tmp_path, step)
        assert tmp.name == f"tmp-checkpoint-{step}" and not list(tmp.iterdir())
        (tmp / "weights").write_text(str(step))
        final = finish_checkpoint(tmp, step, save_total_limit=2)
        assert final.name == f"checkpoint-{step}" and (final / COMPLETE_MARKER).read_text() == f"{step}\n"
    assert sorted(p.name for p in tmp_path.iterdir()) == [
        "checkpoint-2",
        "checkpoint-3",
    ]  # nothing half-deleted
    finish_checkpoint(start_checkpoint(tmp_path, 4), 4, save_total_limit=0)  # 0: keep everything
    assert len(complete_checkpoints(tmp_path)) == 3


def test_trainer_state_round_trip(tmp_path):
    import json

    from videomind.train.checkpoints import TrainState

    state = TrainState(global_step=4, epoch=0.5714, max_steps=6, log_history=[{"loss": 1.5, "step": 4}])
    state.save(tmp_path / "trainer_state.json")
    data = json.loads((tmp_path / "trainer_state.json").read_text())
    assert data["global_step"] == 4 and data["epoch"] == 0.5714 and data["log_history"][0]["step"] == 4
    data["added_later"] = 1  # unknown keys (a newer writer) are ignored
    (tmp_path / "trainer_state.json").write_text(json.dumps(data))
    assert TrainState.load(tmp_path / "trainer_state.json") == state


def test_every_random_generator_is_restored(tmp_path):
    import random

    import numpy as np
    import torch

    from videomind.train.checkpoints import load_rng_state, rng_file, save_rng_state

    def draws():
        return random.random(), float(np.random.rand()), torch.rand(3).tolist(), np.random.normal()

    save_rng_state(tmp_path, rank=3)
    assert rng_file(tmp_path, 3).is_file()
    first = draws()
    load_rng_state(tmp_path, rank=3)  # read with torch.load(weights_only=True)
    assert draws() == first
