"""`eval predict` under failures: run faults retried then stopping the shard (nothing written for them, picked up on
resume), sample faults recorded, --retry-failed, the stop after failures in a row, torn last lines."""

from __future__ import annotations

import json
import types
from pathlib import Path

import pytest
import torch

from videomind.agent import GenerationSettings, VideoMindAgent
from videomind.cli.main import main
from videomind.errors import RunFaultError, is_run_fault
from videomind.eval import predict as predict_module
from videomind.eval.benchmarks import get_benchmark
from videomind.eval.predict import FaultPolicy, Shard, load_samples, predict
from videomind.eval.score import read_shards
from videomind.video import CorruptVideoError

LIMIT = 6
FAST = {"generation": GenerationSettings(max_new_tokens=4)}
OOM = "CUDA out of memory. Tried to allocate 2.00 GiB (GPU 0; 79.15 GiB total capacity)"


@pytest.fixture(scope="module")
def samples(world):
    data, _, _ = world
    return load_samples(get_benchmark("synthetic"), data, LIMIT)


@pytest.fixture(scope="module")
def real_agent(world):
    return VideoMindAgent.from_pretrained(world[1], device="cpu")


@pytest.fixture
def no_sleep(monkeypatch):
    """Retry pauses recorded instead of slept."""
    pauses: list[float] = []
    fake = types.SimpleNamespace(perf_counter=predict_module.time.perf_counter, sleep=pauses.append)
    monkeypatch.setattr(predict_module, "time", fake)
    return pauses


class Faulty:
    """The real agent, except that queries on chosen samples raise ``error()`` (``times`` times, or always)."""

    def __init__(self, agent, samples, error, times=None):
        self.agent, self.error, self.times = agent, error, times
        self.keys = {(s.video, s.question or s.query) for s in samples}
        self.calls = 0

    def __getattr__(self, name):
        return getattr(self.agent, name)

    def run(self, video, question, *args, **kwargs):
        if (video, question) in self.keys and (self.times is None or self.calls < self.times):
            self.calls += 1
            raise self.error()
        return self.agent.run(video, question, *args, **kwargs)


def _lines(out: Path) -> list[dict]:
    return [json.loads(line) for p in sorted(out.glob("*.jsonl")) for line in p.read_text().splitlines()]


def _run(out, agent, **kwargs):
    kwargs.setdefault("shard", Shard(0, 1))
    return predict(
        "synthetic", kwargs.pop("data"), out, agent=agent, limit=LIMIT, progress=False, **FAST, **kwargs
    )


@pytest.mark.parametrize(
    "exc, fault",
    [
        (torch.OutOfMemoryError(OOM), True),
        (RuntimeError("CUDA error: device-side assert triggered"), True),
        (RuntimeError("cuDNN error: CUDNN_STATUS_INTERNAL_ERROR"), True),
        (MemoryError(), True),
        (RuntimeError("MPS backend out of memory (MPS allocated: 9.0 GB)"), True),
        (CorruptVideoError("clip.mp4 is corrupt"), False),
        (ValueError("3 <|video_pad|> tokens but 4 video features were given"), False),
        (FileNotFoundError("gone.mp4"), False),
        (RunFaultError("stopped"), True),
    ],
)
def test_run_faults_are_told_from_sample_faults(exc, fault):
    assert is_run_fault(exc) is fault


def test_a_run_fault_stops_the_shard_and_resume_retries_it(
    world, samples, real_agent, tmp_path, monkeypatch, no_sleep
):
    """The must-show case, through the command line: a persistent (simulated) CUDA OOM on the 3rd sample stops the
    run with exit 3 after its retries; nothing is written for that sample or after it; running the same command
    again predicts every remaining sample once, none lost, none duplicated, no failure recorded."""
    data, ckpt, _ = world
    out = tmp_path / "oom"
    struck = samples[2]
    faulty = Faulty(real_agent, [struck], lambda: torch.OutOfMemoryError(OOM))
    monkeypatch.setattr(VideoMindAgent, "from_pretrained", classmethod(lambda cls, *a, **k: faulty))
    command = ["-q", "eval", "predict", "synthetic", "--data-root", str(data), "--model", str(ckpt), "--out",
               str(out), "--limit", str(LIMIT), "--device", "cpu", "--no-progress", "--max-new-tokens", "4"]  # fmt: skip
    assert main(command) == 3
    assert faulty.calls == 1 + len(predict_module.RETRY_DELAYS)  # tried, then retried after each pause
    assert no_sleep == list(predict_module.RETRY_DELAYS)
    written = [line["id"] for line in _lines(out)]
    assert written == [s.id for s in samples[:2]]  # nothing for the struck sample, no zeros, no error line
    monkeypatch.setattr(VideoMindAgent, "from_pretrained", classmethod(lambda cls, *a, **k: real_agent))
    assert main(command) == 0
    lines = _lines(out)
    assert sorted(line["id"] for line in lines) == sorted(s.id for s in samples)  # none lost or duplicated
    assert not any(line["error"] for line in lines)
    assert main(["-q", "eval", "score", str(out), "--strict", "--no-write"]) == 0


def test_a_transient_run_fault_is_retried_in_place(world, samples, real_agent, tmp_path, no_sleep):
    faulty = Faulty(real_agent, [samples[1]], lambda: torch.OutOfMemoryError(OOM), times=1)
    _run(tmp_path / "once", faulty, data=world[0])
    lines = _lines(tmp_path / "once")
    assert [line["id"] for line in lines] == [s.id for s in samples]
    assert not any(line["error"] for line in lines) and no_sleep == [predict_module.RETRY_DELAYS[0]]


def test_failures_in_a_row_stop_the_run_and_retry_failed_replaces_their_lines(
    world, samples, real_agent, tmp_path
):
    out = tmp_path / "bad"
    broken = Faulty(real_agent, samples, lambda: CorruptVideoError("clip.mp4 is corrupt or truncated"))
    with pytest.raises(RunFaultError, match="the last 3 samples all failed"):
        _run(out, broken, data=world[0], faults=FaultPolicy(max_consecutive_failures=3))
    assert [bool(line["error"]) for line in _lines(out)] == [True, True, True]
    _run(out, broken, data=world[0], faults=FaultPolicy(max_consecutive_failures=0))  # the rest, all failing
    assert len(_lines(out)) == LIMIT and all(line["error"] for line in _lines(out))
    _run(out, real_agent, data=world[0])  # a plain rerun keeps failed lines: they are done
    assert all(line["error"] for line in _lines(out))
    _run(out, real_agent, data=world[0], retry_failed=True)
    lines = _lines(out)
    assert sorted(line["id"] for line in lines) == sorted(s.id for s in samples)  # replaced, not duplicated
    assert not any(line["error"] for line in lines)


def test_retry_failed_across_a_different_shard_count(world, samples, real_agent, tmp_path):
    out = tmp_path / "reshard"
    broken = Faulty(real_agent, samples[::2], lambda: CorruptVideoError("clip.mp4 is corrupt"))
    for index in range(2):
        _run(out, broken, data=world[0], shard=Shard(index, 2))
    assert sum(bool(line["error"]) for line in _lines(out)) == 3
    _run(out, real_agent, data=world[0], shard=Shard(0, 1), retry_failed=True)
    lines = _lines(out)
    assert sorted(line["id"] for line in lines) == sorted(s.id for s in samples)
    assert not any(line["error"] for line in lines)
    assert read_shards(out).duplicates == 0


def test_a_torn_last_line_is_cut_before_resuming(world, samples, real_agent, tmp_path):
    out = tmp_path / "torn"
    path = _run(out, real_agent, data=world[0], faults=FaultPolicy(), shard=Shard(0, 1))
    text = path.read_text().splitlines(keepends=True)
    path.write_text("".join(text[:3]) + text[3][: len(text[3]) // 2])  # killed while writing the 4th line
    _run(out, real_agent, data=world[0])
    assert [line["id"] for line in _lines(out)] == [s.id for s in samples]
    assert read_shards(out).truncated == [] and read_shards(out).malformed == []
    assert main(["-q", "eval", "score", str(out), "--strict", "--no-write"]) == 0


def test_a_cut_line_left_mid_file_by_an_older_version_is_not_unreadable(world, samples, real_agent, tmp_path):
    out = tmp_path / "old"
    path = _run(out, real_agent, data=world[0])
    lines = path.read_text().splitlines(keepends=True)
    cut = lines[3][: len(lines[3]) // 2] + "\n"  # an older version started the next run on a new line
    path.write_text("".join(lines[:3]) + cut + "".join(lines[3:]))
    shards = read_shards(out)
    assert shards.truncated == [f"{path.name}:4"] and shards.malformed == []
    assert main(["-q", "eval", "score", str(out), "--strict", "--no-write"]) == 0


def test_out_given_as_an_existing_file_is_refused_in_one_line(world, tmp_path, caplog):
    target = tmp_path / "predictions.jsonl"
    target.write_text("")
    command = [
        "eval",
        "predict",
        "synthetic",
        "--data-root",
        str(world[0]),
        "--out",
        str(target),
        "--limit",
        "2",
    ]
    assert main(command) == 2
    errors = [r.getMessage() for r in caplog.records if r.levelname == "ERROR"]
    assert len(errors) == 1 and "is a file; give a folder" in errors[0]
