"""How the tiny recipe's stages run the library and each other: as the documented commands, in the work folder."""

from __future__ import annotations

import logging
import os
import subprocess
import sys
from pathlib import Path

log = logging.getLogger(__name__)

REPO = Path(__file__).resolve().parents[1]


def run_videomind(*args: str, cwd: Path, nproc: int = 1) -> None:
    """``python -m videomind ...`` in the work folder, under ``torchrun --nproc_per_node nproc`` when > 1."""
    command = [sys.executable, "-m", "videomind", *args]
    if nproc > 1:
        command = [
            sys.executable,
            "-m",
            "torch.distributed.run",
            "--nproc_per_node",
            str(nproc),
            *command[1:],
        ]
    log.info("$ %s", " ".join(command[2:]))
    env = {**os.environ, "OMP_NUM_THREADS": "1"} if nproc > 1 else None
    subprocess.run(command, cwd=cwd, check=True, env=env)


def run_recipe(module: str, *args: str, cwd: Path, background: bool = False) -> subprocess.Popen | None:
    """``python -m recipes.<module> ...`` in the work folder; with ``background`` started and returned, not waited."""
    command = [sys.executable, "-m", f"recipes.{module}", *args]
    log.info("$ %s%s", " ".join(command[1:]), " &" if background else "")
    # The recipes package lives beside the library, not in it: make it importable from the work folder.
    env = {
        **os.environ,
        "PYTHONPATH": os.pathsep.join(filter(None, [str(REPO), os.environ.get("PYTHONPATH")])),
    }
    if background:
        return subprocess.Popen(command, cwd=cwd, env=env)
    subprocess.run(command, cwd=cwd, check=True, env=env)
    return None
