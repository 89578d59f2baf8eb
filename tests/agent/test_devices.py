"""The agent where the device matters: seeded sampling on the model's device, non-finite scores never re-ranked,
and the decoding policy on accelerators (issue 19). Model tests run on ``VIDEOMIND_TEST_DEVICE`` (default cpu)."""

from __future__ import annotations

import contextlib
import math
import threading

import pytest
import torch

from tests.agent.fakes import FakeReader, ScriptedBackend
from videomind.agent import AgentOptions, GenerationSettings, VideoMindAgent
from videomind.agent.backend import ClipInput, ModelBackend, _decoding
from videomind.agent.feeder import FrameFeeder, decode_threads, prefetch_answer_clips
from videomind.video import ANSWERER_BUDGET, VERIFIER_BUDGET

OPTIONS = ["red", "green", "blue", "yellow"]


@pytest.fixture(scope="module")
def tiny_on_device(device):
    from videomind.model import build_tiny_model

    model, processor = build_tiny_model(seed=0)
    return model.to(device), processor


def _clip():
    frames = torch.randint(
        0, 255, (4, 3, 56, 56), generator=torch.Generator().manual_seed(0), dtype=torch.uint8
    )
    return ClipInput(frames, ("clip",))


def test_seeded_sampling_builds_its_generator_on_the_model_device(tiny_on_device):
    model, processor = tiny_on_device
    generator = _decoding(GenerationSettings(seed=3), model.device)["generator"]
    assert generator.device == model.device
    backend = ModelBackend(model, processor)
    settings = GenerationSettings(max_new_tokens=6, temperature=1.5, top_p=0.95, seed=11)
    runs = [backend.generate("answerer", _clip(), "What is it?", "", settings) for _ in range(2)]
    assert runs[0] == runs[1]


@pytest.mark.gpu
def test_seeded_sampling_on_cuda():
    """Failed before the fix: the backend's CPU generator met CUDA probabilities in torch.multinomial."""
    from videomind.model import build_tiny_model

    model, processor = build_tiny_model(seed=0)
    backend = ModelBackend(model.to("cuda"), processor)
    settings = GenerationSettings(max_new_tokens=4, temperature=1.0, seed=5)
    assert backend.generate("answerer", _clip(), "What is it?", "", settings) == backend.generate(
        "answerer", _clip(), "What is it?", "", settings
    )


# ---------------------------------------------------------------------------------------------- non-finite values
def _scripted_agent(backend, **options):
    @contextlib.contextmanager
    def opener(path, **kwargs):
        yield FakeReader(60.0)

    return VideoMindAgent(backend, AgentOptions(**options), open_video=opener)


def test_non_finite_verifier_scores_keep_the_grounders_order():
    backend = ScriptedBackend(scores=[0.2, float("nan"), 0.9])
    result = _scripted_agent(backend).run("v.mp4", "What colour is the dog?", ["red", "green"])
    assert [m.as_span() for m in result.moments] == [m.as_span() for m in result.candidates]
    assert result.verifier_scores is None
    assert any(f.startswith("verifier: non-finite scores") for f in result.fallbacks)
    verifier = result.trace[1]
    assert verifier.note and "bfloat16" in verifier.note and verifier.parsed["ranks"] == [0, 1, 2]
    assert result.answer == "B"  # the answerer still runs, on the grounder's best moment


def test_non_finite_grounder_rows_fall_back_like_a_missing_reg():
    backend = ScriptedBackend(rows=[[float("inf"), 0.2, 0.9], [0.5, 0.7, 0.8]])
    result = _scripted_agent(backend).run("v.mp4", "What colour is the dog?", ["red", "green"])
    assert result.grounder_success is False
    assert any("non-finite moments" in f for f in result.fallbacks)
    assert all(math.isfinite(x) for m in result.candidates for x in (m.start, m.end, m.score))


def test_a_real_overflow_is_flagged_not_ranked(device, tmp_path):
    """The verifier's own lm_head overflowing (as fp16 Qwen2-VL can) gives NaN scores: flagged, grounder order kept."""
    from videomind.model import build_tiny_model
    from videomind.video.testing import make_test_video

    model, processor = build_tiny_model(seed=0)
    with torch.no_grad():
        for name, param in model.named_parameters():
            if ".modules_to_save.verifier." in name and "lm_head" in name:
                param.fill_(float("inf"))
    video = make_test_video(tmp_path / "v.mp4", seconds=12.0, fps=4.0, size=(56, 56))
    agent = VideoMindAgent(ModelBackend(model.to(device), processor),
                           AgentOptions(generation=GenerationSettings(max_new_tokens=8)))  # fmt: skip
    result = agent.run(video, "What colour is the circle?", OPTIONS)
    assert len(result.candidates) > 1 and result.roles[1].value == "verifier"
    assert result.verifier_scores is None and any("non-finite" in f for f in result.fallbacks)
    assert [m.as_span() for m in result.moments] == [m.as_span() for m in result.candidates]


# ---------------------------------------------------------------------------------------------- decoding policy
def test_decoding_policy_per_device():
    assert decode_threads(None, "cpu", ahead=True) == 1  # beside torch, on the core it leaves free
    assert decode_threads(None, "cpu", ahead=False) == 0
    assert decode_threads(None, torch.device("cuda"), ahead=True) == 0  # provisional: FFmpeg picks
    assert decode_threads(4, "cuda", ahead=True) == 4
    assert prefetch_answer_clips(None, "cpu") and not prefetch_answer_clips(None, "cuda:0")
    assert prefetch_answer_clips(True, "cuda")
    with pytest.raises(Exception, match="decode_threads"):
        AgentOptions(decode_threads=-1)


@pytest.mark.parametrize("device, threads, answer_prefetch", [("cpu", 1, True), ("cuda", None, False)])
def test_agent_applies_the_policy_of_its_backends_device(monkeypatch, device, threads, answer_prefetch):
    """No GPU needed: the rule reads only the backend's device type."""
    opened, prefetched = [], []

    @contextlib.contextmanager
    def opener(path, **kwargs):
        opened.append(kwargs.get("num_threads"))
        yield FakeReader(60.0)

    prefetch = FrameFeeder.prefetch

    def recording(self, budget, windows, speculative=False):
        prefetched.append((budget, speculative))
        return prefetch(self, budget, windows, speculative)

    monkeypatch.setattr(FrameFeeder, "prefetch", recording)
    backend = ScriptedBackend(scores=[0.2, 0.9, 0.5])
    backend.device = torch.device(device)
    agent = VideoMindAgent(backend, AgentOptions(decode_ahead=True), open_video=opener)
    agent.run("v.mp4", "What colour is the dog?", ["red", "green"])
    assert opened == [threads]
    assert prefetched[0] == (VERIFIER_BUDGET, False)
    assert ((ANSWERER_BUDGET, True) in prefetched) == answer_prefetch


def test_a_stream_request_drops_speculative_prefetches_not_started():
    release, started = threading.Event(), threading.Event()
    calls = []

    class SlowReader(FakeReader):
        def prefetch(self, budget, windows):
            calls.append(budget)
            started.set()
            release.wait(10)
            return 0

    reader = SlowReader(60.0)
    with FrameFeeder(reader, chunk_frames=2, threaded=True) as feeder:
        feeder.prefetch(VERIFIER_BUDGET, [(0.0, 10.0)])  # occupies the worker
        assert started.wait(10)
        feeder.prefetch(ANSWERER_BUDGET, [(0.0, 32.0)], speculative=True)
        stream = feeder.stream(feeder.plan(ANSWERER_BUDGET, 0.0, 32.0))
        release.set()
        pieces = list(stream)
    assert sum(p.shape[0] for p in pieces) == 4
    assert feeder.dropped_prefetches == 1 and calls == [VERIFIER_BUDGET]
