"""SRT (and WebVTT) cues to seconds."""

from __future__ import annotations

import pytest

from videomind.errors import DataError
from videomind.video import load_subtitles
from videomind.video.subtitles import parse_subtitles

SRT = (
    "\ufeff1\r\n00:00:01,000 --> 00:00:02,500\r\nHello <i>there</i>\r\nsecond line\r\n\r\n"
    "2\r\n01:02:03,040 --> 01:02:04,5 X1:10 X2:20\r\n{\\an8}Top text\r\n\r\n"
    "3\r\n00:00:05,000 --> 00:00:06,000\r\n\r\n"
)


def test_srt_cues_in_seconds(tmp_path):
    path = tmp_path / "a.srt"
    path.write_bytes(SRT.encode("utf-8"))
    # 01:02:03,040 = 3600 + 120 + 3 + 0.04 = 3723.04; ",5" is 500 ms; the empty third cue is dropped
    assert load_subtitles(path) == [(1.0, 2.5, "Hello there second line"), (3723.04, 3724.5, "Top text")]


def test_webvtt_and_latin1(tmp_path):
    vtt = "WEBVTT\n\n00:01.250 --> 00:03.000 align:start\nCaf\u00e9\n"
    assert parse_subtitles(vtt) == [(1.25, 3.0, "Caf\u00e9")]
    path = tmp_path / "b.srt"
    path.write_bytes("1\n00:00:00,000 --> 00:00:01,000\nCaf\u00e9\n".encode("latin-1"))
    assert load_subtitles(path) == [(0.0, 1.0, "Caf\u00e9")]


def test_missing_and_malformed_files(tmp_path):
    with pytest.raises(DataError, match="not found"):
        load_subtitles(tmp_path / "none.srt")
    bad = tmp_path / "bad.srt"
    bad.write_text("1\nno timing here\n")
    with pytest.raises(DataError, match="no subtitle cue"):
        load_subtitles(bad)
    empty = tmp_path / "empty.srt"
    empty.write_text("")
    assert load_subtitles(empty) == []
