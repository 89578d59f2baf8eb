"""The whole agent on a tiny random model and a real (generated) video, on the test device (the commands:
tests/cli/test_ask.py)."""

import json

import pytest

from videomind.agent import AgentOptions, GenerationSettings, VideoMindAgent
from videomind.agent.backend import ModelBackend
from videomind.records import AgentResult, Role
from videomind.video.testing import make_test_video

OPTIONS = ["red", "green", "blue", "yellow"]


@pytest.fixture(scope="module")
def video(tmp_path_factory):
    return make_test_video(
        tmp_path_factory.mktemp("video") / "clip.mp4", seconds=12.0, fps=4.0, size=(112, 112)
    )


@pytest.fixture(scope="module")
def agent(tiny, device):
    """The tiny model on the test device (VIDEOMIND_TEST_DEVICE)."""
    if device.type == "cpu":
        model, processor = tiny
    else:  # a copy of its own: the session's tiny model stays on the CPU for the other tests
        from videomind.model import build_tiny_model

        model, processor = build_tiny_model(seed=0)
        model.to(device)
    options = AgentOptions(auto_planning=True, generation=GenerationSettings(max_new_tokens=8))
    return VideoMindAgent(ModelBackend(model, processor), options)


def test_run_returns_moments_inside_the_video_and_a_full_trace(agent, video):
    result = agent.run(video, "What colour is the circle?", OPTIONS)
    assert result.duration == pytest.approx(12.0, abs=0.3)
    assert result.moments and all(0 <= m.start <= m.end <= result.duration for m in result.moments)
    assert result.roles == [Role.PLANNER, Role.GROUNDER, Role.VERIFIER, Role.ANSWERER]
    assert all(step.seconds > 0 for step in result.trace)
    grounder = result.trace[1]
    assert grounder.view is not None and grounder.view.fps == 1.0 and grounder.view.num_frames >= 4
    assert AgentResult.from_dict(json.loads(json.dumps(result.to_dict()))).to_dict() == result.to_dict()


@pytest.mark.parametrize(
    "fast_options",
    [{}, {"decode_ahead": True, "stream_chunk_frames": 2}, {"decode_ahead": False, "stream_chunk_frames": 5}],
    ids=["default", "threaded-pairs", "inline-odd-chunks"],
)
def test_fast_and_plain_modes_agree(agent, video, fast_options):
    fast = agent.run(video, "What colour is the circle?", OPTIONS, fast=True, **fast_options)
    plain = agent.run(video, "What colour is the circle?", OPTIONS, fast=False)
    assert fast.answer == plain.answer and fast.response == plain.response
    assert len(fast.moments) == len(plain.moments)
    for a, b in zip(fast.moments, plain.moments):
        assert a.start == pytest.approx(b.start, abs=1e-5) and a.end == pytest.approx(b.end, abs=1e-5)
        assert a.score == pytest.approx(b.score, abs=1e-5)
    assert [s.view for s in fast.trace] == [s.view for s in plain.trace]


def test_fast_mode_shares_vision_features(agent, video):
    backend = agent.backend
    backend.vision_calls = 0
    result = agent.run(video, "What colour is the circle?", OPTIONS, fast=True)
    fast_calls = backend.vision_calls
    backend.vision_calls = 0
    agent.run(video, "What colour is the circle?", OPTIONS, fast=False)
    candidates = len(result.verifier_scores)
    assert candidates > 1
    # plain: planner, grounder, one per verifier candidate, answerer; fast: the planner's frames are the
    # grounder's (same fps and size on a short video); on a CPU the candidates go one by one in both modes
    assert backend.vision_calls == 2 + candidates + 1
    assert fast_calls == 1 + candidates + 1
