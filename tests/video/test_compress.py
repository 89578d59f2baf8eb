"""Dataset compression: output rate, size, duration and content; resume after an interruption; bad files; CLI."""

from __future__ import annotations

import json

import av
import pytest

import videomind.video.compress as compress_mod
from videomind.cli.main import main
from videomind.video import compress_videos, open_video, probe_duration
from videomind.video.compress import output_size
from videomind.video.testing import make_test_video, read_frame_code


@pytest.fixture
def source_dir(tmp_path):
    src = tmp_path / "src"
    (src / "sub").mkdir(parents=True)
    # 2 s at 10 fps, 600x800 with audio; a portrait (rotated) one; a short one already small
    make_test_video(src / "big.mp4", seconds=2, fps=10, size=(600, 800), audio=True)
    make_test_video(src / "sub" / "turned.mkv", seconds=1, fps=10, size=(540, 720), rotation=90)
    make_test_video(src / "small.avi", seconds=1, fps=8, size=(48, 64), codec="mpeg4")
    return src


def test_output_size():
    assert output_size(600, 800) == (480, 640)  # short side 600 -> 480, 800 * 0.8 = 640
    assert output_size(1080, 1920) == (480, 854)  # 1920 * 480 / 1080 = 853.3 -> even 854
    assert output_size(48, 64) == (48, 64)  # never upscaled
    assert output_size(960, 540) == (854, 480)  # portrait: 960 * 480 / 540 = 853.3 -> 854
    assert output_size(720, 405) == (720, 404)  # short side below 480: kept, made even (202.5 -> 202)


def test_compress_rate_size_duration_content_and_no_audio(source_dir, tmp_path):
    dst = tmp_path / "out"
    report = compress_videos(source_dir, dst, progress=False)
    assert sorted(report.written) == sorted(str(dst / p) for p in ("big.mp4", "sub/turned.mp4", "small.mp4"))
    assert report.failed == () and report.skipped == ()
    with av.open(str(dst / "big.mp4")) as c:
        assert [s.type for s in c.streams] == ["video"]  # audio dropped
    with open_video(dst / "big.mp4") as reader:
        assert (reader.fps, reader.num_frames, reader.height, reader.width) == (3.0, 6, 480, 640)
        assert reader.duration == pytest.approx(2.0)
        got = [read_frame_code(f.permute(1, 2, 0).numpy()) for f in reader.get_frames(range(6))]
    # source frame i (t = i/10) lands on slot floor(0.3 i + 0.5); slot k shows the latest frame of slot <= k:
    # slots 0,0,1,1,1,2,2,2,2,3,3,3,4,4,4,5,5,5,5,6 -> frames 1, 4, 8, 11, 14, 18
    assert got == [1, 4, 8, 11, 14, 18]
    assert probe_duration(dst / "big.mp4") == pytest.approx(probe_duration(source_dir / "big.mp4"), abs=1 / 6)
    with open_video(dst / "sub" / "turned.mp4") as reader:  # rotation is baked into the pixels
        assert (reader.rotation, reader.height, reader.width) == (0, 640, 480)
    with open_video(dst / "small.mp4") as reader:
        assert (reader.height, reader.width, reader.num_frames) == (48, 64, 3)


def test_resume_after_interruption(source_dir, tmp_path, monkeypatch):
    dst = tmp_path / "out"
    real = compress_mod._transcode
    calls = []

    def dies_on_second(src, out, *args):
        calls.append(src.name)
        if len(calls) == 2:
            out.write_bytes(b"half a file")  # what a killed run leaves behind
            raise KeyboardInterrupt
        return real(src, out, *args)

    monkeypatch.setattr(compress_mod, "_transcode", dies_on_second)
    with pytest.raises(KeyboardInterrupt):
        compress_videos(source_dir, dst, progress=False)
    finished = dst / "big.mp4"
    assert finished.exists() and not (dst / "small.mp4").exists()
    stamp = finished.stat().st_mtime_ns
    monkeypatch.setattr(compress_mod, "_transcode", real)
    (dst / ".small.partial.mp4").write_bytes(b"stale")  # even a partial file left by a hard kill is redone
    report = compress_videos(source_dir, dst, progress=False)
    assert report.skipped == (str(finished),)
    assert sorted(report.written) == [str(dst / "small.mp4"), str(dst / "sub" / "turned.mp4")]
    assert finished.stat().st_mtime_ns == stamp
    assert not list(dst.rglob(".*partial*"))
    with open_video(dst / "small.mp4") as reader:
        assert reader.num_frames == 3


def test_bad_file_is_reported_and_skipped_and_cli_runs_in_parallel(source_dir, tmp_path, capsys):
    (source_dir / "broken.mp4").write_text("this is not a video")
    dst = tmp_path / "out"
    code = main(["video", "compress", str(source_dir), str(dst), "--workers", "2", "--no-progress", "--json"])
    report = json.loads(capsys.readouterr().out)
    assert code == 1
    assert [f[0] for f in report["failed"]] == [str(source_dir / "broken.mp4")]
    assert "not a video" in report["failed"][0][1]
    assert len(report["written"]) == 3 and not (dst / "broken.mp4").exists()
    assert main(["video", "compress", str(source_dir), str(dst), "--no-progress"]) == 1  # broken still fails
    assert "already done 3" in capsys.readouterr().out


def test_cli_info_and_single_file(source_dir, tmp_path, capsys):
    out = tmp_path / "one.mp4"
    assert (
        main(["video", "compress", str(source_dir / "big.mp4"), str(out), "--fps", "2", "--no-progress"]) == 0
    )
    capsys.readouterr()
    assert main(["video", "info", str(out), "--json"]) == 0
    info = json.loads(capsys.readouterr().out)
    assert (info["fps"], info["num_frames"], info["height"]) == (2.0, 4, 480)
    assert main(["video", "info", str(tmp_path / "nothing.mp4")]) == 2  # VideoError -> exit code 2
