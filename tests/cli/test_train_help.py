"""`videomind train --help`: its first examples work on a fresh clone (no runs/, no data/ yet)."""

import os
import shlex
import subprocess
import sys
from pathlib import Path

import pytest

from videomind.cli.main import main
from videomind.cli.train import EPILOG

REPO = Path(__file__).resolve().parents[2]


def _examples() -> list[list[str]]:
    lines = [line.split("#")[0].strip() for line in EPILOG.splitlines()[1:]]
    return [shlex.split(line) for line in lines if line]


def test_the_first_training_example_resolves_against_the_repository(tmp_path):
    synth, train = _examples()[:2]
    assert synth[:3] == ["videomind", "synth", "make"] and train[:2] == ["videomind", "train"]
    overrides = {item.split("=", 1)[0]: item.split("=", 1)[1] for item in train[3:] if "=" in item}
    assert (REPO / overrides["model.base"] / "config.json").is_file(), (
        "the example's base ships with the package"
    )
    assert (REPO / train[2]).is_file()
    assert main(["train", str(REPO / train[2]), *train[3:], "--print-config"]) == 0


@pytest.mark.slow
def test_the_first_examples_run_on_a_fresh_clone(tmp_path):
    """The two commands as printed, in a folder laid out like a fresh clone, scaled down (2 videos, 1 step)."""
    (tmp_path / "videomind" / "assets" / "tiny").mkdir(parents=True)
    (tmp_path / "configs").symlink_to(REPO / "configs")
    (tmp_path / "videomind" / "assets" / "tiny" / "base").symlink_to(
        REPO / "videomind" / "assets" / "tiny" / "base"
    )
    synth, train = _examples()[:2]
    synth = [*synth[1:], "--videos", "2", "--no-progress"]
    train = [*[a for a in train[1:] if not a.startswith("train.max_steps")], "train.max_steps=1"]
    env = os.environ | {"PYTHONWARNINGS": "ignore"}
    for args in (synth, train):
        # the console script: `python -m` would import the clone's half-empty videomind/ folder from the cwd
        done = subprocess.run([str(Path(sys.executable).parent / "videomind"), *args], cwd=tmp_path, env=env, capture_output=True,
                              text=True, timeout=900)  # fmt: skip
        assert done.returncode == 0, done.stderr[-2000:]
    assert (tmp_path / "runs" / "tiny-grounder" / "config.json").is_file()
