"""The fast agent's frame feeder: streams equal to whole samples, decoding in one worker thread, errors surfacing
in the consumer, speculative work never on the model's thread."""

from __future__ import annotations

import logging
import threading

import pytest
import torch

from videomind.agent.feeder import FrameFeeder, decode_ahead_pays_off
from videomind.video import ANSWERER_BUDGET, GROUNDER_BUDGET, VERIFIER_BUDGET, open_video
from videomind.video.errors import CorruptVideoError
from videomind.video.testing import make_test_video

WINDOWS = [(2.0, 6.0), (4.0, 9.0), (1.0, 5.0)]


@pytest.fixture(scope="module")
def video(tmp_path_factory):
    return make_test_video(
        tmp_path_factory.mktemp("feeder") / "v.mp4", seconds=12, fps=8, size=(56, 84), gop=8
    )


class ThreadRecordingReader:
    """Passes everything to a real reader and records which threads decoded."""

    def __init__(self, reader) -> None:
        self._reader = reader
        self.threads: set[str] = set()

    def sample_chunks(self, plan, chunk):
        for piece in self._reader.sample_chunks(plan, chunk):
            self.threads.add(threading.current_thread().name)
            yield piece

    def prefetch(self, budget, windows):
        self.threads.add(threading.current_thread().name)
        return self._reader.prefetch(budget, windows)

    def __getattr__(self, name):
        return getattr(self._reader, name)


@pytest.mark.parametrize("threaded", [True, False])
def test_streams_deliver_the_sampled_frames(video, threaded):
    with open_video(video) as reader:
        expected = [reader.sample(VERIFIER_BUDGET, s, e).frames for s, e in WINDOWS]
        grounder = reader.sample(GROUNDER_BUDGET).frames
    with open_video(video) as inner:
        reader = ThreadRecordingReader(inner)
        with FrameFeeder(reader, chunk_frames=3, threaded=threaded) as feeder:
            assert feeder.chunk_frames == 4  # rounded up to whole frame pairs
            first = feeder.stream(feeder.plan(GROUNDER_BUDGET))
            feeder.prefetch(VERIFIER_BUDGET, WINDOWS)
            streams = [feeder.stream(feeder.plan(VERIFIER_BUDGET, s, e)) for s, e in WINDOWS]
            pieces = list(first)
            assert all(p.shape[0] <= 4 for p in pieces)
            assert torch.equal(torch.cat(pieces), grounder)
            for stream, frames in zip(streams, expected):
                assert torch.equal(torch.cat(list(stream)), frames)
            with pytest.raises(RuntimeError, match="only once"):
                list(first)
        assert max(inner.decode_counts.values()) == 1  # the windows' overlap was decoded once
    if threaded:
        assert len(reader.threads) == 1 and reader.threads.pop().startswith("videomind-decode")
    else:
        assert reader.threads == {threading.current_thread().name}


class FailingReader:
    """One piece, then the file turns out to be corrupt."""

    path = "broken.mp4"

    def __init__(self) -> None:
        self.prefetched = 0

    def plan(self, budget, start=None, end=None):
        return "plan"

    def sample_chunks(self, plan, chunk):
        yield torch.zeros(2, 3, 28, 28, dtype=torch.uint8)
        raise CorruptVideoError("broken.mp4: frame 9 does not decode; re-encode the file", "broken.mp4")

    def prefetch(self, budget, windows):
        self.prefetched += 1
        raise CorruptVideoError("broken.mp4: cannot decode", "broken.mp4")


@pytest.mark.parametrize("threaded", [True, False])
def test_decoding_errors_are_raised_in_the_consumer(threaded):
    with FrameFeeder(FailingReader(), chunk_frames=2, threaded=threaded) as feeder:
        stream = iter(feeder.stream(feeder.plan(VERIFIER_BUDGET)))
        assert next(stream).shape == (2, 3, 28, 28)
        with pytest.raises(CorruptVideoError, match="re-encode"):
            next(stream)


def test_failed_prefetches_are_logged_and_speculative_ones_stay_off_the_model_thread(caplog):
    reader = FailingReader()
    with FrameFeeder(reader, chunk_frames=2, threaded=False) as feeder:
        feeder.prefetch(ANSWERER_BUDGET, WINDOWS, speculative=True)
        assert reader.prefetched == 0  # inline: nothing runs ahead, so speculation would only cost time
        with caplog.at_level(logging.DEBUG, logger="videomind.agent.feeder"):
            feeder.prefetch(VERIFIER_BUDGET, WINDOWS)
        assert reader.prefetched == 1 and "prefetch failed" in caplog.text
    with FrameFeeder(reader, chunk_frames=2, threaded=True) as feeder:
        feeder.prefetch(ANSWERER_BUDGET, WINDOWS, speculative=True)
        with pytest.raises(CorruptVideoError):  # requests run in order: the prefetch is done by now
            list(feeder.stream(feeder.plan(VERIFIER_BUDGET)))
        assert reader.prefetched == 2


def test_decode_ahead_only_with_a_free_core(monkeypatch):
    previous = torch.get_num_threads()
    monkeypatch.setattr("os.cpu_count", lambda: 2)
    try:
        torch.set_num_threads(1)
        assert decode_ahead_pays_off("cpu") and decode_ahead_pays_off(None)
        torch.set_num_threads(2)
        assert not decode_ahead_pays_off("cpu")
        assert decode_ahead_pays_off("cuda:0")  # the model does not run on the CPU
    finally:
        torch.set_num_threads(previous)


def test_chunk_size_must_be_positive(video):
    with open_video(video) as reader, pytest.raises(ValueError, match="at least 1"):
        FrameFeeder(reader, chunk_frames=0, threaded=False)
