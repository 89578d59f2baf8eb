"""The tiny recipe's pointer stage: a pointer that did not form is set aside and trained again with the next seed."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from recipes import tiny_curriculum as curriculum

FORMED = {"words": {"accuracy": 95.2}, "phrases": {"accuracy": 61.5}, "hinted": {"accuracy": 61.2}}
NOT_FORMED = {"words": {"accuracy": 69.8}, "phrases": {"accuracy": 31.8}, "hinted": {"accuracy": 41.2}}


class FinishedRun:
    def __init__(self, args):
        self.args, self.returncode = args, 0

    def wait(self) -> int:
        return self.returncode


@pytest.fixture
def pointer_runs(monkeypatch, tmp_path):
    """``run_recipe`` replaced by a pointer run that writes its report at once (formed for the seeds in
    ``formed``); ``join_vision`` records what it would join."""
    calls: dict = {"seeds": [], "joined": [], "formed": set()}

    def run_recipe(module, *args, cwd: Path, background=False):
        assert module == "pointer_warmup" and background
        seed = int(args[args.index("--seed") + 1])
        calls["seeds"].append(seed)
        out = cwd / args[args.index("--out") + 1]
        out.mkdir(parents=True)
        held = FORMED if seed in calls["formed"] else NOT_FORMED
        (out / "pointer_warmup.json").write_text(json.dumps({"seed": seed, "held_out": held}))
        return FinishedRun(args)

    monkeypatch.setattr(curriculum, "run_recipe", run_recipe)
    monkeypatch.setattr(curriculum, "join_vision", lambda language, vision, out: (
        calls["joined"].append(language), out.mkdir(parents=True)))  # fmt: skip
    return tmp_path, calls


def test_misses_name_each_score_below_the_gate():
    assert curriculum.pointer_misses({"held_out": FORMED}) == []
    assert curriculum.pointer_misses({"held_out": NOT_FORMED}) == [
        "words 69.8 % < 90 %",
        "hinted 41.2 % < 50 %",
    ]
    assert curriculum.pointer_misses({}) == ["words 0.0 % < 90 %", "hinted 0.0 % < 50 %"]


def test_a_pointer_that_did_not_form_is_set_aside_and_the_next_seed_trained(pointer_runs, caplog):
    work, calls = pointer_runs
    calls["formed"] = {1}
    curriculum.stage_pointer(work)
    assert calls["seeds"] == [0, 1]
    kept = curriculum.set_aside_pointer(work, 0)
    assert json.loads((kept / "pointer_warmup.json").read_text())["seed"] == 0
    assert calls["joined"] == [work / curriculum.POINTER_LANGUAGE]
    report = json.loads((work / "runs" / "tiny-pointer" / "pointer_warmup.json").read_text())
    assert report["seed"] == 1
    assert "seed 0 missed the gate (words 69.8 % < 90 %, hinted 41.2 % < 50 %)" in caplog.text


def test_a_formed_pointer_is_joined_at_once(pointer_runs):
    work, calls = pointer_runs
    calls["formed"] = {0}
    curriculum.stage_pointer(work)
    assert calls["seeds"] == [0]
    assert not curriculum.set_aside_pointer(work, 0).exists()


def test_no_seed_forming_stops_the_recipe_with_the_runs_kept(pointer_runs):
    work, calls = pointer_runs
    with pytest.raises(RuntimeError, match=r"did not form with any of the seeds \(0, 1, 2\)"):
        curriculum.stage_pointer(work)
    assert calls["seeds"] == list(curriculum.POINTER_SEEDS)
    assert all(curriculum.set_aside_pointer(work, s).is_dir() for s in curriculum.POINTER_SEEDS)
    assert calls["joined"] == []


def test_a_resumed_recipe_goes_on_from_the_next_seed(pointer_runs):
    work, calls = pointer_runs
    calls["formed"] = {1, 2}
    curriculum.set_aside_pointer(work, 0).mkdir(parents=True)  # set aside before the recipe was cut off
    curriculum.stage_pointer(work)
    assert calls["seeds"] == [1]
