"""A corpus of bad (and odd but valid) inputs across the commands a user types and the demo's upload.

Each case ends one of two ways: exit 2 with one line saying what to do (never a traceback), or a correct result.
Batch commands (``video compress``, ``eval predict``, ``data check``) still process their good items.
"""

from __future__ import annotations

import json
import logging
import os
import re
import subprocess
import sys
from pathlib import Path

import av
import numpy as np
import pytest

from videomind.cli.main import main
from videomind.video.testing import make_audio_only, make_test_video

QUESTION = "What colour is the square?"


def _image(path: Path, fmt: str) -> Path:
    from PIL import Image

    pixels = (np.random.default_rng(0).random((32, 32, 3)) * 255).astype("uint8")
    Image.fromarray(pixels).save(path, format=fmt)
    return path


def _zero_frames(path: Path) -> Path:
    with av.open(str(path), "w") as container:
        stream = container.add_stream("mpeg4", rate=8)
        stream.width, stream.height, stream.pix_fmt = 64, 48, "yuv420p"
        container.start_encoding()  # a header with a video track, and no frame
    return path


def _has_encoder(name: str) -> bool:
    try:
        av.codec.Codec(name, "w")
    except Exception:  # noqa: BLE001 - any failure means "not in this FFmpeg build"
        return False
    return True


@pytest.fixture(scope="module")
def corpus(tmp_path_factory) -> Path:
    root = tmp_path_factory.mktemp("corpus")
    ok = make_test_video(root / "ok.mp4", seconds=6, fps=4, size=(64, 64))
    make_test_video(root / "one frame.mp4", seconds=0.25, fps=4, size=(64, 64))
    make_test_video(root / "thin.mp4", seconds=2, fps=4, size=(8, 1800))  # aspect ratio 225
    make_test_video(root / "speck.mp4", seconds=2, fps=4, size=(2, 2), codec="mpeg4")
    make_test_video(root / "uhd.mp4", seconds=2, fps=1, size=(2160, 3840))
    make_test_video(root / "rotated.mp4", seconds=3, fps=4, size=(48, 96), rotation=90)
    make_test_video(
        root / "vfr.mp4", seconds=3, fps=4, size=(64, 64), timestamps=[0, 0.1, 0.5, 1.4, 1.5, 2.9]
    )
    make_test_video(root / "clip.webm", seconds=3, fps=4, size=(64, 64), codec="libvpx-vp9")
    make_test_video(root / "clip.avi", seconds=3, fps=4, size=(64, 64), codec="mpeg4")
    make_test_video(root / "clip.mpg", seconds=3, fps=4, size=(64, 64), codec="mpeg2video")
    if _has_encoder("libsvtav1"):
        os.environ.setdefault("SVT_LOG", "1")  # the encoder's banner: errors only
        make_test_video(root / "av1.mkv", seconds=3, fps=4, size=(64, 64), codec="libsvtav1")
    make_test_video(root / "vidéo à l'été ☃.mp4", seconds=3, fps=4, size=(64, 64))
    make_test_video(root / "muted and sound.mp4", seconds=3, fps=4, size=(64, 64), audio=True)
    make_test_video(root / "long.mp4", seconds=1200, fps=1, size=(32, 32), gop=60)  # 20 minutes
    make_audio_only(root / "audio.m4a")
    _zero_frames(root / "zero.mkv")
    (root / "empty.mp4").write_bytes(b"")
    (root / "text.mp4").write_text("not a video\n" * 20)
    (root / "truncated.mp4").write_bytes(ok.read_bytes()[:600])
    (root / "folder.mp4").mkdir()
    os.mkfifo(root / "pipe.mp4")
    _image(root / "photo.mp4", "JPEG")
    _image(root / "photo.png", "PNG")
    return root


def run(args: list[str], capsys, caplog) -> tuple[int, str, list[str]]:
    """Exit code, stdout and the error lines (logged errors, else argparse's stderr) of one command, in-process:
    an exception escaping ``main`` (a traceback for a user) fails the test."""
    caplog.clear()
    capsys.readouterr()
    with caplog.at_level(logging.INFO):
        try:
            code = main(args)
        except SystemExit as exc:  # argparse
            code = exc.code
    out, err = capsys.readouterr()
    errors = [r.getMessage() for r in caplog.records if r.levelno >= logging.ERROR]
    return code, out, errors or [line for line in err.splitlines() if "error" in line]


def refused(result, words: str) -> None:
    code, _, errors = result
    assert code == 2, f"exit {code}, errors {errors}"
    assert len(errors) == 1 and "\n" not in errors[0] and "Traceback" not in errors[0], errors
    assert re.search(words, errors[0]), errors[0]


def model(checkpoint) -> list[str]:
    return ["--model", str(checkpoint), "--device", "cpu"]


@pytest.fixture
def no_model(monkeypatch):
    """Loading a model fails the test: the refusal must come first."""
    from videomind.agent import VideoMindAgent

    monkeypatch.setattr(
        VideoMindAgent, "from_pretrained", classmethod(lambda *a, **k: pytest.fail("loaded a model"))
    )


# ---------------------------------------------------------------------------------------------- ask / ground
VIDEO_REFUSALS = {
    "missing.mp4": "video not found",
    "empty.mp4": "the file is empty",
    "truncated.mp4": "corrupt or truncated",
    "text.mp4": "is not a video file FFmpeg can read",
    "photo.mp4": r"is a still image \(JPEG\)",
    "photo.png": r"is a still image \(PNG\)",
    "folder.mp4": "is a folder, not a video file",
    "pipe.mp4": "not a regular file",
    "audio.m4a": "has no video stream",
    "zero.mkv": "ends before its first frame|no frames",
    "thin.mp4": "aspect ratio must be below 200",
}


@pytest.mark.parametrize("name", sorted(VIDEO_REFUSALS))
@pytest.mark.parametrize("command", ["ask", "ground"])
def test_unusable_videos_are_refused_before_the_model_loads(corpus, capsys, caplog, no_model, command, name):
    refused(run([command, str(corpus / name), QUESTION], capsys, caplog), VIDEO_REFUSALS[name])


GOOD_VIDEOS = ["one frame.mp4", "speck.mp4", "uhd.mp4", "rotated.mp4", "vfr.mp4", "clip.webm", "clip.avi",
               "clip.mpg", "av1.mkv", "vidéo à l'été ☃.mp4", "muted and sound.mp4", "long.mp4"]  # fmt: skip


@pytest.mark.parametrize("name", GOOD_VIDEOS)
def test_odd_but_valid_videos_give_a_correct_result(corpus, checkpoint, capsys, caplog, name):
    if not (corpus / name).exists():
        pytest.skip(f"{name}: no encoder for it in this FFmpeg build")
    code, out, errors = run(["ask", str(corpus / name), QUESTION, "--options", "red", "blue", "--json",
                             *model(checkpoint)], capsys, caplog)  # fmt: skip
    assert code == 0 and not errors
    result = json.loads(out)
    assert result["duration"] > 0 and result["answer"] in ("A", "B", None)
    assert all(0 <= m["start"] <= m["end"] <= result["duration"] + 1e-6 for m in result["moments"])


ARGUMENT_REFUSALS = [
    (["ask", "{ok}", ""], "must be a non-empty string"),
    (["ask", "{ok}", "why? " * 2000], "characters long; the limit is 8,000"),
    (["ask", "{ok}", QUESTION, "--options", "red"], "between 2 and 26 options"),
    (
        ["ask", "{ok}", QUESTION, "--options", *[f"o{i}" for i in range(30)]],
        r"between 2 and 26 options \(the letters A-Z\), got 30",
    ),
    (["ask", "{ok}", QUESTION, "--device", "banana"], "unknown --device 'banana'; use auto, cpu, cuda"),
    (["ask", "{ok}", QUESTION, "--dtype", "int7"], "unknown --dtype 'int7'; use one of auto, float32"),
    (["ask", "{ok}", QUESTION, "--plot", "/no/such/dir/x.png"], "does not exist; create it first"),
    (
        ["ask", "{ok}", QUESTION, "--plot", "{tmp}/out.txt"],
        r"unsupported file type '\.txt'; use one of .*\.png",
    ),
    (["ask", "{ok}", QUESTION, "--subtitles", "{tmp}/none.srt"], "--subtitles .*: no such file"),
    (["ground", "{ok}", "a square", "--top-k", "0"], "argument --top-k: must be at least 1, got 0"),
    (["ground", "{ok}", "a square", "--top-k", "-3"], "argument --top-k: must be at least 1, got -3"),
]


@pytest.mark.parametrize(
    "args, words", ARGUMENT_REFUSALS, ids=[" ".join(a[2:])[:40] for a, _ in ARGUMENT_REFUSALS]
)
def test_bad_arguments_are_refused_before_the_model_loads(
    corpus, tmp_path, capsys, caplog, no_model, args, words
):
    args = [a.format(ok=corpus / "ok.mp4", tmp=tmp_path) for a in args]
    refused(run(args, capsys, caplog), words)


def test_cuda_on_a_cpu_only_machine_is_refused_in_one_line(corpus, capsys, caplog):
    import torch

    if torch.cuda.is_available():
        pytest.skip("this machine has a GPU")
    refused(
        run(["ask", str(corpus / "ok.mp4"), QUESTION, "--device", "cuda"], capsys, caplog), "--device cuda: "
    )


def test_ground_lists_as_many_moments_as_asked(capsys, caplog):
    example = Path(__file__).resolve().parents[2] / "examples" / "shapes.mp4"
    code, out, _ = run(
        ["ground", str(example), "the blue square leaves", "--top-k", "8", "--json"], capsys, caplog
    )
    moments = json.loads(out)
    assert code == 0 and len(moments) == 8  # was at most 5 (the verifier's default), now all verified
    assert [m["score"] for m in moments] == sorted((m["score"] for m in moments), reverse=True)


def _real_videos() -> list[Path]:
    """Videos no one here made: the sample clips gradio ships (mp4, avi, a muted one), when it is installed."""
    try:
        import gradio
    except ImportError:
        return []
    return sorted((Path(gradio.__file__).parent / "media_assets" / "videos").glob("*.*"))


@pytest.mark.parametrize("path", _real_videos(), ids=lambda p: p.name)
def test_real_videos_made_elsewhere_give_a_result(checkpoint, capsys, caplog, path):
    code, out, errors = run(["ask", str(path), QUESTION, "--json", *model(checkpoint)], capsys, caplog)
    assert code == 0 and not errors
    assert json.loads(out)["duration"] > 0


def test_a_damaged_container_gives_a_result_or_one_line(checkpoint, tmp_path, capsys, caplog):
    videos = [p for p in _real_videos() if p.suffix == ".mp4"]
    if not videos:
        pytest.skip("no real mp4 (gradio's samples) here")
    data = bytearray(videos[0].read_bytes())
    middle = len(data) // 2
    data[middle : middle + 4096] = bytes(4096)  # a stretch of the media data zeroed
    damaged = tmp_path / "damaged.mp4"
    damaged.write_bytes(bytes(data))
    code, out, errors = run(["ask", str(damaged), QUESTION, "--json", *model(checkpoint)], capsys, caplog)
    if code == 0:
        assert json.loads(out)["duration"] > 0
    else:
        refused((code, out, errors), "corrupt|truncated")


# ---------------------------------------------------------------------------------------------- batch commands
def test_video_compress_writes_the_good_files_and_reports_the_bad(corpus, tmp_path, capsys, caplog):
    src = tmp_path / "src"
    src.mkdir()
    for name in ("ok.mp4", "text.mp4", "empty.mp4", "photo.mp4", "truncated.mp4", "vidéo à l'été ☃.mp4"):
        (src / name).write_bytes((corpus / name).read_bytes())
    code, out, _ = run(
        ["video", "compress", str(src), str(tmp_path / "dst"), "--no-progress"], capsys, caplog
    )
    assert code == 1 and "written 2, already done 0, failed 4" in out
    assert sorted(p.name for p in (tmp_path / "dst").iterdir()) == ["ok.mp4", "vidéo à l'été ☃.mp4"]
    assert out.count("FAILED") == 4 and "still image (JPEG)" in out
    refused(
        run(["video", "compress", str(src), str(src)], capsys, caplog), "is \\(inside\\) the source folder"
    )
    refused(
        run(["video", "compress", str(src), str(tmp_path / "o"), "--fps", "0"], capsys, caplog),
        "--fps must be",
    )
    refused(
        run(["video", "compress", str(tmp_path / "none"), str(tmp_path / "o")], capsys, caplog), "not found"
    )


@pytest.fixture(scope="module")
def custom(corpus, tmp_path_factory) -> Path:
    """Own data: two good samples, one whose video is text (a sample fault), one malformed JSON line."""
    root = tmp_path_factory.mktemp("custom")
    rows = [
        json.dumps({"id": "a", "video": str(corpus / "ok.mp4"), "query": "the square", "spans": [[1, 2]]}),
        json.dumps({"id": "b", "video": str(corpus / "text.mp4"), "question": "Which?", "options": ["x", "y"]}),
        json.dumps({"id": "c", "video": str(corpus / "vfr.mp4"), "question": "Which?", "options": ["x", "y"],
                    "answer": "B"}),
    ]  # fmt: skip
    (root / "test.jsonl").write_text("\n".join(rows) + "\n")
    (root / "broken").mkdir()
    (root / "broken" / "test.jsonl").write_text(rows[0] + "\n{not json\n" + rows[2] + "\n")
    return root


def test_eval_predict_records_a_bad_video_and_goes_on(custom, checkpoint, tmp_path, capsys, caplog):
    out = tmp_path / "preds"
    code, _, errors = run(["-q", "eval", "predict", "custom", "--data-root", str(custom), "--out", str(out),
                           "--no-progress", "--max-new-tokens", "4", *model(checkpoint)], capsys, caplog)  # fmt: skip
    assert code == 0 and not errors
    lines = {json.loads(x)["id"]: json.loads(x) for x in next(out.glob("*.jsonl")).read_text().splitlines()}
    assert sorted(lines) == ["custom/test/a", "custom/test/b", "custom/test/c"]
    assert "not a video file" in lines["custom/test/b"]["error"]
    assert lines["custom/test/a"]["error"] is None and lines["custom/test/c"]["error"] is None


@pytest.mark.parametrize(
    "args, words",
    [
        (["--limit", "-2"], "argument --limit: must be at least 1, got -2"),
        (["--limit", "0"], "argument --limit: must be at least 1, got 0"),
        (["--out", "{file}"], "is a file; give a folder"),
        (["--data-root", "{custom}/broken"], r"line 2: invalid JSON"),
        (["--device", "cuda:7"], "--device cuda:7"),
    ],
)
def test_eval_predict_refusals(custom, tmp_path, capsys, caplog, no_model, args, words):
    (tmp_path / "file.jsonl").write_text("")
    base = {"--data-root": str(custom), "--out": str(tmp_path / "out")}
    given = dict(zip(args[::2], [a.format(file=tmp_path / "file.jsonl", custom=custom) for a in args[1::2]]))
    flat = [x for key, value in (base | given).items() for x in (key, value)]
    refused(run(["eval", "predict", "custom", *flat], capsys, caplog), words)
    refused(run(["eval", "predict", "nosuch", "--data-root", str(custom), "--out", str(tmp_path)], capsys, caplog),
            "unknown benchmark 'nosuch'; choose one of")  # fmt: skip


def test_data_check_lists_every_bad_line_and_checks_the_good_ones(custom, capsys, caplog):
    code, out, _ = run(
        ["data", "check", "custom", "--root", str(custom / "broken"), "--no-progress"], capsys, caplog
    )
    assert code == 1
    assert "samples test 2; 2 videos checked" in out and "line 2: invalid JSON" in out
    code, out, _ = run(["data", "check", "custom", "--root", str(custom), "--no-progress"], capsys, caplog)
    assert code == 1 and "text.mp4: unreadable" in out and "1 problem(s)" in out
    refused(run(["data", "check", "custom", "--root", "/no/such/root"], capsys, caplog), "is not a folder")
    refused(
        run(["data", "check", "nosuch", "--root", str(custom)], capsys, caplog), "unknown dataset 'nosuch'"
    )


# ---------------------------------------------------------------------------------------------- train
@pytest.mark.parametrize(
    "content, overrides, words",
    [
        (b"model: [unclosed\n", [], r"is not valid YAML: .* at line 2"),
        (b"\x89PNG\r\n\x1a\n\x00\x00binary", [], "is not text"),
        (b"- a list\n", [], "holds a list, not a mapping"),
        (None, ["data.datasets=[unclosed"], "the value is not valid YAML"),
        (None, ["train.learning_rate=-1"], "train.learning_rate must be positive"),
        (None, ["train.lerning_rate=1e-4"], "no setting 'lerning_rate'"),
        (None, ["novalue"], "is not key=value"),
    ],
)
def test_train_refusals(tmp_path, capsys, caplog, content, overrides, words):
    preset = Path(__file__).resolve().parents[2] / "configs" / "train" / "tiny_grounder.yaml"
    if content is not None:
        preset = tmp_path / "preset.yaml"
        preset.write_bytes(content)
    refused(run(["train", str(preset), *overrides, "--print-config"], capsys, caplog), words)


# ---------------------------------------------------------------------------------------------- demo upload
UPLOAD_REFUSALS = {
    "empty.mp4": "empty",
    "text.mp4": "is not a video",
    "photo.mp4": r"is a still image \(JPEG\), not a video; upload a video file",
    "truncated.mp4": "cannot be read as a video",
    "zero.mkv": "cannot be read as a video",
    "audio.m4a": r"is a \.m4a file; the demo accepts",
}


@pytest.mark.parametrize("name", sorted(UPLOAD_REFUSALS))
def test_demo_upload_refusals(corpus, name):
    from videomind.demo.config import DemoLimits
    from videomind.demo.limits import UploadRejected, check_video

    with pytest.raises(UploadRejected, match=UPLOAD_REFUSALS[name]) as info:
        check_video(corpus / name, DemoLimits(), [corpus])
    assert "\n" not in str(info.value) and str(corpus) not in str(info.value)  # one line, no server path


@pytest.mark.parametrize("name", ["rotated.mp4", "clip.webm", "vidéo à l'été ☃.mp4", "vfr.mp4"])
def test_demo_upload_accepts_odd_but_valid_videos(corpus, name):
    from videomind.demo.config import DemoLimits
    from videomind.demo.limits import check_video

    assert check_video(corpus / name, DemoLimits(), [corpus]).duration > 0


# ---------------------------------------------------------------------------------------------- whole process
def test_a_real_process_prints_one_line_and_no_traceback(corpus, tmp_path):
    cases = [
        ["ask", str(corpus / "pipe.mp4"), QUESTION],
        ["ask", str(corpus / "ok.mp4"), QUESTION, "--plot", str(tmp_path / "x.txt")],
        ["train", str(corpus / "photo.png")],
    ]
    for args in cases:
        done = subprocess.run([sys.executable, "-m", "videomind", *args], capture_output=True, text=True,
                              timeout=600, env=os.environ | {"PYTHONWARNINGS": "default"})  # fmt: skip
        lines = [line for line in done.stderr.splitlines() if line.strip()]
        assert done.returncode == 2 and len(lines) == 1 and lines[0].startswith("ERROR"), done.stderr
