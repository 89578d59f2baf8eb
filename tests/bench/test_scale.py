"""``videomind bench scale`` on the tiny shape and two short videos: the series and its ratios."""

from __future__ import annotations

import argparse

import pytest

from videomind.bench import scale as bench


def test_scale_series(tmp_path):
    parser = argparse.ArgumentParser()
    bench.add_arguments(parser)
    args = parser.parse_args(["--minutes", "0.1", "0.2", "--fps", "4", "--width", "96", "--height", "64",
                              "--max-new-tokens", "2", "--threads", "1", "--cache-dir", str(tmp_path)])  # fmt: skip
    report = bench.run(args)
    assert report["bench"] == "scale" and report["shape"] == "tiny"
    series = report["series"]
    assert [p["minutes"] for p in series] == [0.1, 0.2]
    for point in series:
        assert point["duration"] == pytest.approx(point["minutes"] * 60, abs=0.5)
        assert point["seconds"] > 0 and point["decoded_frames"] > 0 and point["grounder_frames"] >= 4
        assert point["peak_rss_mb"] >= point["rss_before_mb"] * 0.9 and point["candidates"] >= 2
        assert set(point["roles"]) == {"grounder", "verifier"}
    assert series[1]["grounder_frames"] > series[0]["grounder_frames"]  # 1 fps, below the 150-frame cap
    assert report["ratios"] == {}  # no length reaches the caps


def test_ratios_start_at_the_caps():
    series = [
        {"minutes": 1.0, "seconds": 1.0, "cpu_seconds": 1.0, "peak_rss_mb": 100.0, "query_extra_mb": 10.0,
         "decoded_frames": 60},
        {"minutes": 5.0, "seconds": 2.0, "cpu_seconds": 2.0, "peak_rss_mb": 200.0, "query_extra_mb": 20.0,
         "decoded_frames": 300},
        {"minutes": 60.0, "seconds": 3.0, "cpu_seconds": 2.0, "peak_rss_mb": 220.0, "query_extra_mb": 22.0,
         "decoded_frames": 600},
    ]  # fmt: skip
    ratios = bench.scale_ratios(series)
    assert (ratios["from_minutes"], ratios["to_minutes"]) == (5.0, 60.0)
    assert ratios["seconds_longest_over_first_capped"] == 1.5
    assert ratios["peak_rss_mb_longest_over_first_capped"] == 1.1
    assert ratios["decoded_frames_longest_over_first_capped"] == 2.0
