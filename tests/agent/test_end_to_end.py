"""The whole agent on a tiny random model and a real (generated) video; the `ask` / `ground` commands."""

import json

import pytest

from videomind.agent import AgentOptions, GenerationSettings, VideoMindAgent
from videomind.agent.backend import ModelBackend
from videomind.cli.main import main
from videomind.records import AgentResult, Role
from videomind.video.testing import make_test_video

OPTIONS = ["red", "green", "blue", "yellow"]


@pytest.fixture(scope="module")
def video(tmp_path_factory):
    return make_test_video(
        tmp_path_factory.mktemp("video") / "clip.mp4", seconds=12.0, fps=4.0, size=(112, 112)
    )


@pytest.fixture(scope="module")
def agent(tiny):
    model, processor = tiny
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


@pytest.fixture(scope="module")
def checkpoint(tiny, tmp_path_factory):
    from videomind.model import build_tiny_model, save_checkpoint

    model, processor = tiny
    root = tmp_path_factory.mktemp("ckpt")
    build_tiny_model(seed=0, roles=())[0].base.save_pretrained(root / "base")
    return save_checkpoint(model, processor, root / "tiny-videomind", base_model_path="../base")


def test_cli_ask_json(checkpoint, video, capsys):
    code = main(["ask", str(video), "What colour is the circle?", "--options", *OPTIONS, "--model", str(checkpoint),
                 "--device", "cpu", "--json"])  # fmt: skip
    assert code == 0
    data = json.loads(capsys.readouterr().out)
    result = AgentResult.from_dict(data)
    assert [s.role for s in result.trace] == [Role.GROUNDER, Role.VERIFIER, Role.ANSWERER]
    assert all(0 <= m.start <= m.end <= result.duration for m in result.moments)


def test_cli_ground_and_plot(checkpoint, video, capsys, tmp_path):
    plot = tmp_path / "timeline.png"
    code = main(["ground", str(video), "the red circle", "--top-k", "3", "--model", str(checkpoint), "--device", "cpu",
                 "--json", "--plot", str(plot)])  # fmt: skip
    assert code == 0
    moments = json.loads(capsys.readouterr().out)
    assert 1 <= len(moments) <= 3 and plot.stat().st_size > 1000


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["ask", "missing.mp4", "q?"], "video not found"),
        (["ask", "{video}", "   "], "non-empty"),
        (["ask", "{corrupt}", "q?"], "corrupt.mp4"),
    ],
)
def test_cli_bad_input_exits_2(checkpoint, video, caplog, tmp_path, args, message):
    corrupt = tmp_path / "corrupt.mp4"
    corrupt.write_bytes(b"\x00\x00\x00\x18ftypmp42" + bytes(range(256)) * 8)
    args = [a.format(video=video, corrupt=corrupt) for a in args] + [
        "--model",
        str(checkpoint),
        "--device",
        "cpu",
    ]
    assert main(args) == 2
    assert message in caplog.text
