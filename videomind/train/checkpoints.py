"""Periodic checkpoints of a training run: what they hold, how they are written atomically, found and rotated.

A checkpoint is written to ``tmp-checkpoint-N``; when every file is in, a ``.complete`` marker is added and the
folder is renamed to ``checkpoint-N`` (one ``os.replace``). A killed run therefore never leaves a half-written
``checkpoint-N``: ``remove_stale`` deletes the leftovers and ``last_complete_checkpoint`` finds where to resume.
Old checkpoints beyond ``save_total_limit`` are renamed to ``tmp-delete-checkpoint-N`` before they are deleted.

Files (``TrainState`` in ``trainer_state.json``, the random generators in ``rng_state_<rank>.pth``; the loop adds
the weights in the released layout, ``optimizer.pt``, ``scheduler.pt``, ``scaler.pt`` or DeepSpeed's
``global_stepN/``).
"""

from __future__ import annotations

import json
import logging
import os
import random
import re
import shutil
from dataclasses import asdict, dataclass, field, fields
from pathlib import Path

import numpy as np
import torch

log = logging.getLogger(__name__)

CHECKPOINT_PREFIX = "checkpoint-"
TMP_PREFIX = "tmp-checkpoint-"
DELETE_PREFIX = "tmp-delete-checkpoint-"
COMPLETE_MARKER = ".complete"
TRAINER_STATE = "trainer_state.json"
OPTIMIZER_FILE = "optimizer.pt"
SCHEDULER_FILE = "scheduler.pt"
SCALER_FILE = "scaler.pt"
_CHECKPOINT_RE = re.compile(rf"^{CHECKPOINT_PREFIX}(\d+)$")


@dataclass
class TrainState:
    """Where a run stands; saved as ``trainer_state.json`` in every checkpoint and beside the final weights.

    ``epoch`` is fractional (micro-batches consumed / micro-batches per epoch); ``log_history`` holds one entry per
    logging step (``step``, ``epoch``, ``loss``, its parts, ``grad_norm``, ``learning_rate``) and a summary at the
    end (``train_loss``, ``train_runtime``)."""

    global_step: int = 0
    epoch: float = 0.0
    max_steps: int = 0
    num_train_epochs: int = 0
    steps_per_epoch: int = (
        0  # optimiser steps per epoch (per process: micro-batches / accumulation, rounded up)
    )
    logging_steps: int = 1
    save_steps: int = 0
    train_batch_size: int = 1  # per device
    log_history: list[dict] = field(default_factory=list)

    def save(self, path: str | Path) -> None:
        Path(path).write_text(json.dumps(asdict(self), indent=2, sort_keys=True) + "\n")

    @classmethod
    def load(cls, path: str | Path) -> TrainState:
        data = json.loads(Path(path).read_text())
        return cls(**{f.name: data[f.name] for f in fields(cls) if f.name in data})


# ---------------------------------------------------------------------------------------------- finding
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


# ---------------------------------------------------------------------------------------------- writing
def temporary_folder(output_dir: str | Path, step: int) -> Path:
    return Path(output_dir) / f"{TMP_PREFIX}{step}"


def start_checkpoint(output_dir: str | Path, step: int) -> Path:
    """An empty ``tmp-checkpoint-N`` (a leftover of the same step is removed first). Main process only."""
    tmp = temporary_folder(output_dir, step)
    if tmp.exists():
        shutil.rmtree(tmp)
    tmp.mkdir(parents=True)
    return tmp


def finish_checkpoint(tmp: Path, step: int, save_total_limit: int | None) -> Path:
    """Mark ``tmp`` complete, rename it to ``checkpoint-N`` and rotate old ones. Main process only."""
    final = tmp.with_name(f"{CHECKPOINT_PREFIX}{step}")
    (tmp / COMPLETE_MARKER).write_text(f"{step}\n")
    if final.exists():
        shutil.rmtree(final)
    os.replace(tmp, final)
    rotate(tmp.parent, save_total_limit)
    return final


def rotate(output_dir: Path, limit: int | None) -> None:
    """Keep the newest ``limit`` complete checkpoints (none deleted when ``limit`` is 0 or None)."""
    if not limit or limit <= 0:
        return
    for old in complete_checkpoints(output_dir)[:-limit]:
        doomed = old.with_name(f"{DELETE_PREFIX}{checkpoint_step(old)}")
        os.replace(old, doomed)  # atomic: a kill during deletion leaves no half checkpoint-N
        shutil.rmtree(doomed, ignore_errors=True)


# ---------------------------------------------------------------------------------------------- random generators
def rng_file(folder: Path, rank: int) -> Path:
    return folder / f"rng_state_{rank}.pth"


def rng_state() -> dict:
    """Every random generator a training step may draw from: Python's, NumPy's, torch's CPU and CUDA ones (plain
    tensors and tuples, so that ``torch.load(weights_only=True)`` reads them back)."""
    kind, keys, pos, has_gauss, gauss = np.random.get_state()
    state = {"python": random.getstate(), "torch": torch.get_rng_state(),
             "numpy": {"kind": kind, "keys": torch.from_numpy(keys.astype(np.int64)), "pos": int(pos),
                       "has_gauss": int(has_gauss), "gauss": float(gauss)}}  # fmt: skip
    if torch.cuda.is_available():
        state["cuda"] = torch.cuda.get_rng_state_all()
    return state


def set_rng_state(state: dict) -> None:
    random.setstate(state["python"])
    n = state["numpy"]
    np.random.set_state(
        (n["kind"], n["keys"].numpy().astype(np.uint32), n["pos"], n["has_gauss"], n["gauss"])
    )
    torch.set_rng_state(state["torch"])
    if "cuda" in state and torch.cuda.is_available():
        torch.cuda.set_rng_state_all(state["cuda"])


def save_rng_state(folder: Path, rank: int) -> None:
    """Every process writes its own generators (they differ per rank: dropout masks)."""
    torch.save(rng_state(), rng_file(folder, rank))


def load_rng_state(folder: Path, rank: int) -> None:
    file = rng_file(folder, rank)
    if not file.is_file():
        log.warning("%s is missing: random draws after resuming will differ from an uninterrupted run", file)
        return
    set_rng_state(torch.load(file, weights_only=True))
