"""More sources read their original public releases as published (docs/DATA.md, "Forms read").

DiDeMo, HiREST, MLVU, CG-Bench and LongVideoBench load real excerpts of their public files (tests/fixtures/<source>/
README.md names repository, commit and license). STAR's and QuerYD's files are not reachable from GitHub: their
records are written here in the published schema (with the real Charades csv excerpt for STAR's durations).
"""

from __future__ import annotations

import json
import logging
import pickle

import pytest

from tests.data.builders_grounding import (
    FIXTURES,
    VIDEOS,
    copy_fixture,
    touch_videos,
    write_json,
    write_text,
    write_video,
)
from videomind.data import get_source
from videomind.errors import DataError


def didemo_records() -> list[dict]:
    return json.loads((FIXTURES / "didemo/test_data.json").read_text())


def test_didemo_release_with_durations_json(tmp_path):
    root = copy_fixture(tmp_path, "didemo", "test_data.json")
    records = didemo_records()
    vids = {r["video"].split(".")[0] for r in records}
    write_json(root / "didemo/durations.json", dict.fromkeys(vids, 29.5))
    samples = get_source("didemo", root).load("test")
    assert [s.id for s in samples] == [f"didemo/test/{r['annotation_id']}" for r in records]
    first = samples[
        0
    ]  # times [[4, 4], [4, 4], [0, 0], [4, 4], [0, 0], [0, 0], [4, 4]]: mean 16/7 -> 11 s, 16 s
    assert first.spans == ((11.0, 16.0),) and first.duration == 29.5
    assert first.video == str(root / "didemo" / VIDEOS / "26292851@N04_4253489686_265c3c8051.mp4")
    assert samples[-1].extra["vid"] == "58792004@N06_8544469262_fd25eddb2e"  # file name ending in "."


def test_didemo_release_without_durations_measures_the_videos(tmp_path, caplog):
    """The original release has no durations: each video is measured, in whichever published name it is found."""
    root = copy_fixture(tmp_path, "didemo", "test_data.json")
    folder, expected = root / "didemo", {}
    for r in didemo_records():
        name, vid = r["video"], r["video"].split(".")[0]
        if name.endswith(".m4v"):  # VideoMind's compressed video
            path, seconds = folder / VIDEOS / f"{vid}.mp4", 3.0
        elif name.endswith((".mov", ".avi")):  # the Flickr download script's name
            path, seconds = folder / "videos" / name, 2.0
        else:  # the AWS download script's name
            path, seconds = folder / "videos" / f"{name}.mp4", 4.0
        if not path.exists():
            write_video(path, seconds=seconds)
        expected[vid] = (str(path), seconds)
    with caplog.at_level(logging.INFO, logger="videomind.data.sources.didemo"):
        samples = get_source("didemo", root).load("test")
    assert "measuring the videos" in caplog.text
    assert {(s.video, s.duration) for s in samples} == set(expected.values())
    assert all(s.spans[0][1] <= s.duration for s in samples)
    clamped = [s for s in samples if "raw_spans" in s.extra]  # annotated on the 5-s grid up to 30 s: kept
    assert clamped and all(s.extra["raw_spans"][0][1] > s.duration for s in clamped)


def test_didemo_missing_video_names_every_place_looked(tmp_path):
    root = copy_fixture(tmp_path, "didemo", "test_data.json")
    name = didemo_records()[0]["video"]
    with pytest.raises(
        DataError, match=rf"no durations.json .* no video of '{name}' to measure: looked for"
    ) as exc:
        get_source("didemo", root).load("test")
    message = str(exc.value)
    assert "\n" not in message
    for place in (f"{VIDEOS}/{name.split('.')[0]}.mp4", f"videos/{name},", f"videos/{name}.mp4"):
        assert place in message


def test_hirest_release(tmp_path):
    root = copy_fixture(tmp_path, "hirest", "all_data_val.json")
    data = json.loads((FIXTURES / "hirest/all_data_val.json").read_text())
    clips = [
        (v, rec) for videos in data.values() for v, rec in videos.items() if rec["relevant"] and rec["clip"]
    ]
    touch_videos(root / "hirest" / VIDEOS, *(v for v, _ in clips))
    grounding = get_source("hirest_grounding", root).load("valid")
    assert len(grounding) == len(clips) == 8
    assert [s.spans[0] for s in grounding] == [tuple(map(float, rec["bounds"])) for _, rec in clips]
    assert [s.duration for s in grounding] == [rec["v_duration"] for _, rec in clips]
    steps = get_source("hirest_step", root).load("valid")
    assert len(steps) == sum(len(rec["steps"]) for _, rec in clips) == 43
    assert steps[0].query and steps[0].spans == ((50.0, 58.0),)  # "take grinned oats flour"
    (root / "hirest" / VIDEOS / clips[0][0]).unlink()
    assert len(get_source("hirest_grounding", root).load("valid")) == 7  # only videos on disk, as officially


MLVU_FILES = ("1_plotQA", "2_needle", "3_ego", "4_count", "5_order", "6_anomaly_reco", "7_topic_reasoning")


def test_mlvu_github_release(tmp_path, caplog):
    root = copy_fixture(tmp_path, "mlvu", *(f"data/{n}.json" for n in MLVU_FILES))
    with caplog.at_level(logging.WARNING, logger="videomind.data.sources.mlvu"):
        samples = get_source("mlvu", root).load("test")
    assert (
        len(samples) == 23
    )  # 3 per task + 2 kept extras; the blank and the outside-the-candidates records skipped
    for name in ("2_needle", "7_topic_reasoning"):
        assert (
            f"{name}.json: records 3: no question text or an answer that is not one of the candidates"
            in caplog.text
        )
    first = samples[0]
    assert (first.answer, first.answer_text, first.task) == ("A", "Yellow", ("plotQA",))
    assert first.video == str(root / "mlvu/video/1_plotQA/movie101_66.mp4") and first.duration is None
    empty_options = samples[3]  # 1_plotQA record 23: two empty candidates, kept as published
    assert empty_options.options == ("", "There is an archery scene", "There is no archery scene", "")
    assert empty_options.answer == "B"
    empty_answer = [s for s in samples if s.id == "mlvu/test/3_ego/3"][
        0
    ]  # record 119: the answer is the empty text
    assert (empty_answer.answer, empty_answer.answer_text) == ("C", "")
    counts = [s for s in samples if s.task == ("count",)]
    assert counts[0].options == ("2", "1", "5", "4") and counts[0].answer == "B"
    (root / "mlvu/data/3_ego.json").unlink()
    with pytest.raises(DataError, match=r"expected one of json/3_ego.json, data/3_ego.json"):
        get_source("mlvu", root).load("test")


def test_cgbench_release_durations(tmp_path, caplog):
    root = copy_fixture(tmp_path, "cgbench", "cgbench_mini.json")
    records = json.loads((FIXTURES / "cgbench/cgbench_mini.json").read_text())
    meta = json.loads((FIXTURES / "cgbench/video_meta_info.json").read_text())
    source = get_source("cgbench", root)
    with caplog.at_level(logging.INFO, logger="videomind.data.sources.cgbench"):
        own = source.load("test")
    assert [s.duration for s in own] == [r["duration"] for r in records] and "records' own" in caplog.text
    assert [s.id for s in own] == [f"cgbench/test/{r['qid']}" for r in records]
    assert [s.answer for s in own] == [r["right_answer"] for r in records]
    assert [s.answer_text for s in own] == [r["answer"][0].upper() + r["answer"][1:] for r in records]
    assert len(own[-1].spans) == 11
    copy_fixture(
        tmp_path, "cgbench", "video_meta_info.json", folder="cgbench/run"
    )  # where the repository has it
    with_meta = source.load("test")
    assert [s.duration for s in with_meta] == [meta[r["video_uid"]]["duration"] for r in records]
    write_json(root / "cgbench/durations.json", {r["video_uid"]: 60.0 for r in records})
    assert {s.duration for s in source.load("test")} == {60.0}


def test_longvideobench_validation_release(tmp_path):
    root = copy_fixture(tmp_path, "longvideobench", "lvb_val.json")
    records = json.loads((FIXTURES / "longvideobench/lvb_val.json").read_text())
    samples = get_source("longvideobench", root).load("valid")
    assert [s.id for s in samples] == [f"longvideobench/valid/{r['id']}" for r in records]
    assert [s.answer for s in samples] == ["B", "C", "A", "E"]
    assert [s.answer_text for s in samples] == [r["candidates"][r["correct_choice"]] for r in records]
    assert samples[0].task == ("600",) and samples[0].extra["question_category"] == "TOS"
    assert samples[0].video == str(root / "longvideobench/videos/86CxyhFV9MI.mp4")


STAR_RECORD = {  # the schema of STAR_{train,val}.json (csbobby/STAR_Benchmark README); not reachable from here
    "question_id": "Interaction_T1_13",
    "question": "Which object was tidied up by the person?",
    "video_id": "YSKX3",  # a Charades test video of the real csv excerpt (length 16.62)
    "start": 2.1,
    "end": 9.6,
    "answer": "The blanket.",
    "choices": [
        {"choice_id": i, "choice": c} for i, c in enumerate(["The closet.", "The blanket.", "The cup."])
    ],
}


def test_star_durations_from_the_charades_release(tmp_path, caplog):
    write_json(tmp_path / "star/STAR_val.json", [STAR_RECORD])
    with pytest.raises(DataError, match=r"none of durations.json, Charades_v1_train.csv, Charades_v1_test.csv in "
                                         r".*charades_sta, and the video .*YSKX3.mp4 cannot be read"):  # fmt: skip
        get_source("star", tmp_path).load("valid")
    copy_fixture(tmp_path, "charades_sta", "Charades_v1_test.csv")
    with caplog.at_level(logging.INFO, logger="videomind.data.sources.star"):
        (sample,) = get_source("star", tmp_path).load("valid")
    assert "Charades_v1_test.csv" in caplog.text
    assert (sample.duration, sample.answer, sample.spans) == (16.62, "B", ((2.1, 9.6),))


def test_queryd_release_without_durations_measures_the_videos_found(tmp_path, caplog):
    """QuerYD's own pages are not reachable from here: pickles in the published layout, under the names its
    README renames them to, and a video under the QuerYD downloader's name."""
    d = tmp_path / "queryd"
    write_text(d / "train_list.txt", "video-AAAAAAAAAAA\nvideo-BBBBBBBBBBB\n")
    captions = {
        "video-AAAAAAAAAAA": [["a", "man", "cooks"], ["he", "eats"]],
        "video-BBBBBBBBBBB": [["no", "video"]],
    }
    times = {"video-AAAAAAAAAAA": [[0.5, 1.5], [1.0, 3.0]], "video-BBBBBBBBBBB": [[0.0, 1.0]]}
    (d / "raw_captions_combined_filtered.pkl").write_bytes(pickle.dumps(captions))
    (d / "times_captions_combined_filtered.pkl").write_bytes(pickle.dumps(times))
    with pytest.raises(DataError, match=r"no durations.json in .* none of the 2 listed videos"):
        get_source("queryd", tmp_path).load("train")
    write_video(d / "videos/video-AAAAAAAAAAA.mp4", seconds=2.0)
    with caplog.at_level(logging.INFO, logger="videomind.data.sources.queryd"):
        samples = get_source("queryd", tmp_path).load("train")
    assert "measuring the 1 of 2 listed videos found" in caplog.text
    assert [(s.query, s.spans, s.duration) for s in samples] == [
        ("a man cooks", ((0.5, 1.5),), 2.0),
        ("he eats", ((1.0, 2.0),), 2.0),
    ]
    assert samples[1].extra["raw_spans"] == [[1.0, 3.0]] and samples[0].video == str(
        d / "videos/video-AAAAAAAAAAA.mp4"
    )


def test_qa_ego4d_test_reads_groundvqa_close_ended_file(tmp_path):
    """GroundVQA's name of the close-ended test set (its code loads annotations.QaEgo4D_test_close.json; the file
    itself is behind Ego4D's licence): a record in that schema."""
    record = {"video_id": "clip-1", "sample_id": "clip-1_3", "question": "where did I put the keys?"}
    record.update(answer="on the table", wrong_answers=["in the car", "in a bag", "on the sofa"])
    record.update(moment_start_frame=42, moment_end_frame=99)
    write_json(tmp_path / "qa_ego4d/annotations.QaEgo4D_test_close.json", [record])
    write_json(tmp_path / "ego4d/v1/durations.json", {"clip-1": 480.0})
    (sample,) = get_source("qa_ego4d", tmp_path).load("test")
    assert (
        sample.answer_text == "On the table"
        and sample.options[ord(sample.answer) - ord("A")] == "On the table"
    )
    assert sample.spans == ((1.4, 3.3),) and sample.duration == 480.0
    with pytest.raises(DataError, match=r"QaEgo4D_test_options.json, annotations.QaEgo4D_test_close.json"):
        get_source("qa_ego4d", tmp_path / "empty").load("test")
