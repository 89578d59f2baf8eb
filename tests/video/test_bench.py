"""``videomind bench decode`` on a tiny generated video: report layout, consistent ratios, the decoding floor."""

from __future__ import annotations

import json

import pytest

from videomind.bench.decode import decode_floor, ensure_video
from videomind.cli.main import main

TINY = ["--seconds", "3", "--fps", "10", "--width", "64", "--height", "48"]


def test_bench_decode_report(tmp_path, capsys):
    out = tmp_path / "report.json"
    args = [
        "bench",
        "decode",
        *TINY,
        "--cache-dir",
        str(tmp_path / "cache"),
        "--json",
        str(out),
        "--no-decord",
    ]
    assert main(args) == 0
    printed = json.loads(capsys.readouterr().out)
    report = json.loads(out.read_text())
    assert printed == report
    assert report["video"]["frames"] == 30 and report["video"]["size"] == [48, 64]
    grounder, answerer = report["cases"]["grounder"], report["cases"]["answerer"]
    # 3 s at 1 fps wants 3 frames -> at least 4; the 3 s "60 s window" at 2 fps -> 30 / 10 * 2 = 6 frames
    assert (grounder["frames"], answerer["frames"]) == (4, 6)
    assert grounder["floor_decoded_frames"] == 30  # frames 0..29 all decoded
    assert 4 <= grounder["decoded_frames"] <= 30 and grounder["cache_megabytes"] >= 0
    for case in (grounder, answerer):
        sec = case["seconds"]
        assert sec["ours"] > 0 and sec["floor"] > 0 and "decord" not in sec
        assert case["ours_over_floor"] == pytest.approx(sec["ours"] / sec["floor"], rel=0.01, abs=0.002)
    assert report["machine"]["versions"]["av"]
    # the generated video is kept and reused
    assert len(list((tmp_path / "cache").glob("*.mp4"))) == 1


def test_decode_floor_counts_the_range(tmp_path):
    path = ensure_video(tmp_path, 3, 10, 64, 48)
    assert decode_floor(path, 0, 29) == 30
    assert decode_floor(path, 10, 19) >= 10  # from the keyframe at or before frame 10 through frame 19


def test_bench_decode_with_decord(tmp_path, capsys):
    pytest.importorskip("decord")
    assert main(["bench", "decode", *TINY, "--cache-dir", str(tmp_path)]) == 0
    case = json.loads(capsys.readouterr().out)["cases"]["grounder"]
    sec = case["seconds"]
    assert case["decord_over_ours"] == pytest.approx(sec["decord"] / sec["ours"], rel=0.01, abs=0.002)
    assert case["official_over_ours"] == pytest.approx(sec["official"] / sec["ours"], rel=0.01, abs=0.002)
    assert set(case["cpu_seconds"]) == set(sec) == {"ours", "ours_frames", "decord", "official", "floor"}
