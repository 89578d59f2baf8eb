"""Your own data end to end: `data check custom` with only test.jsonl, `eval predict custom`, `eval score`."""

import json

import pytest

from videomind.cli.main import main
from videomind.video.testing import make_test_video


@pytest.fixture(scope="module")
def folder(tmp_path_factory):
    root = tmp_path_factory.mktemp("mine")
    (root / "videos").mkdir()
    make_test_video(root / "videos" / "a clip.mp4", seconds=8.0, fps=4.0, size=(56, 56))
    rows = [
        {"id": "g1", "video": "videos/a clip.mp4", "duration": 8.0, "query": "the red square", "spans": [[1, 3]]},
        {"id": "q1", "video": "videos/a clip.mp4", "question": "Which colour?", "options": ["red", "blue"],
         "answer": "A", "spans": [[2, 4]], "task": "colour"},
        {"id": "q2", "video": "videos/a clip.mp4", "question": "What happens?", "answer": "a square moves"},
    ]  # fmt: skip
    (root / "test.jsonl").write_text("".join(json.dumps(r) + "\n" for r in rows))
    return root


def test_data_check_with_only_a_test_file(folder):
    assert main(["data", "check", "custom", "--root", str(folder), "--no-progress"]) == 0


def test_eval_predict_and_score_custom_data(world, folder, tmp_path):
    out = tmp_path / "preds"
    command = ["-q", "eval", "predict", "custom", "--data-root", str(folder), "--model", str(world[1]), "--out",
               str(out), "--device", "cpu", "--no-progress", "--max-new-tokens", "4"]  # fmt: skip
    assert main(command) == 0
    lines = [json.loads(line) for line in next(out.glob("*.jsonl")).read_text().splitlines()]
    assert sorted(line["id"] for line in lines) == ["custom/test/g1", "custom/test/q1", "custom/test/q2"]
    assert not any(line["error"] for line in lines)
    assert main(["-q", "eval", "score", str(out), "--strict"]) == 0
    metrics = json.loads((out / "metrics.json").read_text())
    assert metrics["benchmark"] == "custom" and metrics["count"] == 3
    assert "mIoU" in metrics["overall"] and "Acc" in metrics["overall"]
