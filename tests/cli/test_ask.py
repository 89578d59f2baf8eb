"""``videomind ask`` / ``videomind ground`` on a tiny random checkpoint: JSON output, the timeline plot, exit 2."""

import json

import pytest

from videomind.cli.main import main
from videomind.records import AgentResult, Role

OPTIONS = ["red", "green", "blue", "yellow"]


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


def test_the_normal_path_shows_no_library_warning():
    """`videomind ask` on the embedded model, as a user runs it: no FutureWarning / DeprecationWarning from torch,
    transformers or peft, and no progress bar of theirs, reaches the terminal (warnings shown as Python's default)."""
    import os
    import subprocess
    import sys
    from pathlib import Path

    example = Path(__file__).resolve().parents[2] / "examples" / "shapes.mp4"
    done = subprocess.run(
        [sys.executable, "-m", "videomind", "ask", str(example), "What colour is the shape that appears last?",
         "--options", "purple", "white", "blue", "green"],
        capture_output=True, text=True, timeout=900, env=os.environ | {"PYTHONWARNINGS": "default"},
    )  # fmt: skip
    assert done.returncode == 0, done.stderr
    noise = [
        line for line in done.stderr.splitlines() if "Warning" in line or "warn" in line or "Loading" in line
    ]
    assert not noise, noise
    assert "Answer:" in done.stdout
