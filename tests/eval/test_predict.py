"""`eval predict`: one line per sample, resumable after SIGKILL, sharded (also under torchrun), errors recorded."""

import contextlib
import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from videomind.eval.predict import Shard, predict
from videomind.eval.score import read_shards, score_folder

LIMIT = 12


def _command(world, out, *extra):
    data, ckpt, _ = world
    return [sys.executable, "-m", "videomind", "-q", "eval", "predict", "synthetic", "--data-root", str(data),
            "--model", str(ckpt), "--out", str(out), "--limit", str(LIMIT), "--device", "cpu", "--no-progress",
            "--max-new-tokens", "8", *extra]  # fmt: skip


def _ids(out):
    ids = []
    for path in Path(out).glob("*.jsonl"):
        for line in path.read_text().splitlines():
            with contextlib.suppress(json.JSONDecodeError, KeyError):
                ids.append(json.loads(line)["id"])
    return ids


def _metrics(out):
    return score_folder(out, None, {}, write=False)["overall"]


def _same_metrics(a, b):
    # the same predictions; only the summation order (line order of the shards) may differ
    assert a.keys() == b.keys()
    for key in a:
        assert a[key] == pytest.approx(b[key], rel=1e-12, abs=1e-12), key


def test_uninterrupted_run_writes_every_sample_once(world, tmp_path):
    out = tmp_path / "full"
    subprocess.run(_command(world, out), check=True, env=os.environ | {"PYTHONWARNINGS": "ignore"})
    ids = _ids(out)
    assert len(ids) == LIMIT == len(set(ids))
    assert json.loads((out / "expected_ids.json").read_text()) == sorted(ids, key=ids.index)
    world[2].joinpath("full_metrics.json").write_text(json.dumps(_metrics(out)))


def test_sigkill_then_resume_loses_and_duplicates_nothing(world, tmp_path):
    out = tmp_path / "killed"
    proc = subprocess.Popen(_command(world, out), env=os.environ | {"PYTHONWARNINGS": "ignore"})
    deadline = time.time() + 240
    while time.time() < deadline and len(_ids(out)) < 3:
        time.sleep(0.05)
    proc.send_signal(signal.SIGKILL)
    proc.wait()
    written = len(_ids(out))
    assert 3 <= written < LIMIT, "the run must be killed mid-way for this test to mean anything"
    subprocess.run(_command(world, out), check=True, env=os.environ | {"PYTHONWARNINGS": "ignore"})
    ids = _ids(out)
    assert sorted(ids) == sorted(set(ids)) and len(ids) == LIMIT
    full = world[2] / "full_metrics.json"
    if full.exists():
        _same_metrics(_metrics(out), json.loads(full.read_text()))


def test_shards_partition_the_set_and_a_bad_sample_is_recorded(world, tmp_path, monkeypatch):
    from videomind.agent import GenerationSettings, VideoMindAgent
    from videomind.data.sources.synthetic import SyntheticSource

    data, ckpt, _ = world
    agent = VideoMindAgent.from_pretrained(ckpt, device="cpu")
    original = SyntheticSource.load

    def load_with_a_broken_video(self, split, **kw):
        samples = original(self, split, **kw)
        from dataclasses import replace

        return [replace(samples[0], video=str(tmp_path / "gone.mp4"))] + samples[1:]

    monkeypatch.setattr(SyntheticSource, "load", load_with_a_broken_video)
    out = tmp_path / "sharded"
    for index in range(3):
        predict(
            "synthetic",
            data,
            out,
            agent=agent,
            limit=7,
            shard=Shard(index, 3),
            progress=False,
            generation=GenerationSettings(max_new_tokens=8),
        )
    lines = read_shards(out).lines
    assert len(lines) == 7
    assert sorted(p.name for p in out.glob("*.jsonl")) == [
        f"predictions.rank{i}-of-3.jsonl" for i in range(3)
    ]
    errors = [line for line in lines.values() if line["error"]]
    assert len(errors) == 1 and "gone.mp4" in errors[0]["error"]


def test_shard_parsing(monkeypatch):
    assert Shard.parse("1/4") == Shard(1, 4)
    monkeypatch.setenv("RANK", "2")
    monkeypatch.setenv("WORLD_SIZE", "3")
    assert Shard.parse(None) == Shard(2, 3)
    from videomind.errors import UserInputError

    with pytest.raises(UserInputError):
        Shard.parse("4/4")
    with pytest.raises(UserInputError):
        Shard.parse("one/two")


@pytest.mark.slow
def test_torchrun_two_processes_merge_to_the_same_metrics(world, tmp_path):
    out = tmp_path / "torchrun"
    command = _command(world, out)
    torchrun = [sys.executable, "-m", "torch.distributed.run", "--nproc_per_node", "2", "--master_port", "29533",
                "-m", "videomind", *command[3:]]  # fmt: skip
    subprocess.run(
        torchrun, check=True, env=os.environ | {"PYTHONWARNINGS": "ignore", "OMP_NUM_THREADS": "1"}
    )
    assert sorted(p.name for p in out.glob("*.jsonl")) == [
        "predictions.rank0-of-2.jsonl",
        "predictions.rank1-of-2.jsonl",
    ]
    ids = _ids(out)
    assert len(ids) == LIMIT == len(set(ids))
    single = tmp_path / "single"
    subprocess.run(_command(world, single), check=True, env=os.environ | {"PYTHONWARNINGS": "ignore"})
    _same_metrics(_metrics(out), _metrics(single))
