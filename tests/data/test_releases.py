"""Sources read the original public releases as published (docs/DATA.md, "Forms read"), with clear errors.

The Charades-STA, ReXTime, NExT-GQA and QVHighlights files are the real excerpts of tests/fixtures (see their
README.md); TACoS and ActivityNet Captions are small files written here in their published layouts.
"""

from __future__ import annotations

import json
import logging
from pathlib import Path

import pytest

from tests.data.builders_grounding import FIXTURES, copy_fixture
from videomind.data import get_source
from videomind.errors import DataError


def test_charades_durations_from_the_charades_csv_and_spans_as_annotated(tmp_path, caplog):
    root = copy_fixture(tmp_path, "charades_sta", "charades_sta_test.txt", "Charades_v1_test.csv")
    with caplog.at_level(logging.INFO, logger="videomind.data.sources.charades_sta"):
        samples = get_source("charades_sta", root).load("test")
    assert "Charades_v1_test.csv" in caplog.text
    first = samples[0]  # VXJS4 0.0 3.4 ; Charades_v1_test.csv length of VXJS4
    assert first.id == "charades_sta/test/VXJS4/1" and first.spans == ((0.0, 3.4),)
    past = [s for s in samples if "raw_spans" in s.extra]
    assert len(past) == 21 and all(s.extra["raw_spans"][0][1] > s.duration for s in past)


def test_charades_prefers_durations_json(tmp_path, caplog):
    root = copy_fixture(tmp_path, "charades_sta", "charades_sta_test.txt", "Charades_v1_test.csv")
    vids = {
        line.split()[0] for line in (root / "charades_sta/charades_sta_test.txt").read_text().splitlines()
    }
    (root / "charades_sta/durations.json").write_text(json.dumps(dict.fromkeys(vids, 99.0)))
    with caplog.at_level(logging.INFO, logger="videomind.data.sources.charades_sta"):
        samples = get_source("charades_sta", root).load("test")
    assert {s.duration for s in samples} == {99.0} and "durations.json" in caplog.text


def test_charades_without_durations_measures_the_videos_or_names_what_is_missing(tmp_path):
    root = copy_fixture(tmp_path, "charades_sta", "charades_sta_test.txt")
    with pytest.raises(
        DataError,
        match=r"none of durations.json, Charades_v1_test.csv in .*videos_3fps_480_noaudio/\w+.mp4 cannot be read",
    ):
        get_source("charades_sta", root).load("test")


def test_rextime_github_release(tmp_path):
    root = copy_fixture(tmp_path, "rextime", "rextime_val.jsonl")
    samples = get_source("rextime", root).load("valid")
    assert len(samples) == 40
    s = samples[0]
    raw = json.loads((root / "rextime/rextime_val.jsonl").read_text().splitlines()[0])
    assert s.id == f"rextime/valid/{raw['qid']}" and s.answer == raw["ans"] and s.duration == raw["duration"]
    assert s.options is None and s.extra["num_options"] == 4 and s.question and s.query
    assert list(map(list, s.spans)) == raw["relevant_windows"]
    folder = "activitynet" if len(raw["vid"]) == 13 else "qvhighlights"
    assert Path(s.video).parent.parent.name == folder
    with pytest.raises(DataError, match=r"rextime_val.json, rextime_val.jsonl"):
        get_source("rextime", tmp_path / "empty").load("valid")


def test_nextgqa_release_as_published(tmp_path):
    root = copy_fixture(tmp_path, "nextgqa", "test.csv", "gsub_test.json", "map_vid_vidorID.json")
    samples = get_source("nextgqa", root).load("test")
    assert len(samples) == 40
    negative = [s for s in samples if "raw_spans" in s.extra]
    assert negative and all(s.extra["raw_spans"][0][0] < 0 for s in negative)


def test_qvhighlights_test_split_reads_the_ground_truth_release(tmp_path):
    val = (FIXTURES / "qvhighlights/highlight_val_release.jsonl").read_text().splitlines()
    folder = tmp_path / "qvhighlights"
    folder.mkdir()
    stripped = [json.dumps({k: json.loads(x)[k] for k in ("qid", "query", "duration", "vid")}) for x in val]
    (folder / "highlight_test_release.jsonl").write_text("\n".join(stripped) + "\n")
    source = get_source("qvhighlights", tmp_path)
    assert all(not s.spans for s in source.load("test"))  # the release without ground truth
    (folder / "highlight_test_with_gt.jsonl").write_text("\n".join(val) + "\n")
    with_gt = source.load("test")
    assert len(with_gt) == 40 and all(s.spans and s.extra["saliency_scores"] for s in with_gt)


TACOS_2DTAN = {
    "s13-d21.avi": {
        "timestamps": [[0, 90], [120, 600], [5000, 5100]],
        "sentences": ["The person takes out a knife.", "She cuts the cucumber", "She washes the knife."],
        "fps": 29.4,
        "num_frames": 5050,
    }
}


def test_tacos_2dtan_json(tmp_path):
    (tmp_path / "tacos").mkdir()
    (tmp_path / "tacos/test.json").write_text(json.dumps(TACOS_2DTAN))
    samples = get_source("tacos", tmp_path).load("test")
    assert [s.id for s in samples] == [f"tacos/test/s13-d21/{i}" for i in range(3)]
    assert samples[1].spans == ((120 / 29.4, 600 / 29.4),) and samples[1].duration == 5050 / 29.4
    assert samples[0].video.endswith("s13-d21-cam-002.mp4")
    assert samples[2].extra["raw_spans"] == [[5000 / 29.4, 5100 / 29.4]]  # past the end: kept as annotated
    with pytest.raises(DataError, match=r"val.jsonl, val.json"):
        get_source("tacos", tmp_path).load("valid")


ANET = {
    "v_uqiMw7tQ1Cc": {
        "duration": 55.15,
        "timestamps": [[0.28, 55.15], [13.79, 56.32]],
        "sentences": ["A weight lifting tutorial is given.", "  The coach helps the guy in red."],
    }
}


def test_activitynet_captions_own_durations_unless_durations_json(tmp_path):
    (tmp_path / "activitynet_captions").mkdir()
    (tmp_path / "activitynet_captions/val_2.json").write_text(json.dumps(ANET))
    samples = get_source("activitynet_captions", tmp_path).load("test")
    assert [s.duration for s in samples] == [55.15, 55.15]
    assert samples[1].extra["raw_spans"] == [[13.79, 56.32]]
    (tmp_path / "activitynet").mkdir()
    (tmp_path / "activitynet/durations.json").write_text(json.dumps({"v_uqiMw7tQ1Cc": 55.2}))
    assert {s.duration for s in get_source("activitynet_captions", tmp_path).load("test")} == {55.2}
