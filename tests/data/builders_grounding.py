"""Tiny fixtures of the grounding datasets, written in each dataset's native format (json/jsonl/txt/pkl).

Each builder writes under a data root and returns ``{source name: {split: expected number of samples}}``.
The values are chosen so the expected spans can be computed by hand (see test_sources.py).
"""

from __future__ import annotations

import json
import pickle
import shutil
from fractions import Fraction
from pathlib import Path

import av
import numpy as np

VIDEOS = "videos_3fps_480_noaudio"
FIXTURES = Path(__file__).resolve().parents[1] / "fixtures"  # real excerpts of public releases


def copy_fixture(root: Path, name: str, *files: str, folder: str | None = None) -> Path:
    """Copy ``tests/fixtures/<name>/<file>`` files into ``<root>/<folder or name>/<file>``; returns ``root``."""
    for f in files:
        (root / (folder or name) / f).parent.mkdir(parents=True, exist_ok=True)
        shutil.copy(FIXTURES / name / f, root / (folder or name) / f)
    return root


def write_json(path: Path, data) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(data), encoding="utf-8")


def write_jsonl(path: Path, rows) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text("".join(json.dumps(r) + "\n" for r in rows), encoding="utf-8")


def write_text(path: Path, text: str) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text, encoding="utf-8")


def touch_videos(folder: Path, *names: str) -> None:
    folder.mkdir(parents=True, exist_ok=True)
    for name in names:
        (folder / name).write_bytes(b"")


def write_video(path: Path, seconds: float = 2.0, fps: int = 4) -> None:
    """A tiny real H.264 video (so the duration probe reads an actual container; the extension picks the
    container: .mp4, .mov, .avi ...)."""
    path.parent.mkdir(parents=True, exist_ok=True)
    with av.open(str(path), "w") as out:
        stream = out.add_stream("libx264", rate=fps)
        stream.width, stream.height, stream.pix_fmt = 32, 32, "yuv420p"
        stream.time_base = Fraction(1, fps)
        for i in range(int(seconds * fps)):
            frame = av.VideoFrame.from_ndarray(np.full((32, 32, 3), i * 10, np.uint8), format="rgb24")
            frame.pts = i
            out.mux(stream.encode(frame))
        out.mux(stream.encode(None))


def _qvh_row(qid, vid, windows, duration=150):
    row = {"qid": qid, "query": f"A man talks {qid}.", "duration": duration, "vid": vid}
    if windows is not None:
        row.update(relevant_windows=windows, relevant_clip_ids=[5, 6], saliency_scores=[[1, 2, 3], [4, 2, 0]])
    return row


def qvhighlights(root: Path) -> dict:
    d = root / "qvhighlights"
    write_jsonl(
        d / "highlight_train_release.jsonl",
        [_qvh_row(1, "a_60.0_210.0", [[10, 20], [30, 40]]), _qvh_row(2, "b_0.0_150.0", [[0, 4]])],
    )
    write_jsonl(d / "highlight_val_release.jsonl", [_qvh_row(3, "c_0.0_150.0", [[140, 152]])])
    write_jsonl(d / "highlight_test_release.jsonl", [_qvh_row(4, "d_0.0_150.0", None)])
    return {"qvhighlights": {"train": 2, "valid": 1, "test": 1}, "qvhighlights_single": {"train": 1}}


def didemo(root: Path) -> dict:
    d = root / "didemo"
    write_json(d / "durations.json", {"v1@N0_1": 29.9, "v2@N0_2": 25.3})
    train = [
        {
            "video": "v1@N0_1.mov",
            "times": [[0, 0], [0, 1], [1, 1], [1, 1]],
            "description": "a dog runs.",
            "annotation_id": 7,
        },
        {"video": "v1@N0_1.mov", "times": [[2, 3]] * 4, "description": "the dog stops", "annotation_id": 8},
    ]
    write_json(d / "train_data.json", train)
    write_json(d / "val_data.json", [{"video": "v2@N0_2.mov", "times": [[5, 5]] * 4, "description": "end"}])
    write_json(d / "test_data.json", [{"video": "v2@N0_2.mov", "times": [[0, 1]], "description": "start"}])
    return {"didemo": {"train": 2, "valid": 1, "test": 1}}


def tacos(root: Path) -> dict:
    d = root / "tacos"
    for split, query in (("train", "train query"), ("val", "val query"), ("test", "test query")):
        rows = [
            {"vid": f"s13-d21_{split}", "duration": 200.0, "query": query, "relevant_windows": [[5.5, 9.25]]}
        ]
        write_jsonl(d / f"{split}.jsonl", rows)
    return {"tacos": {"train": 1, "valid": 1, "test": 1}}


def queryd(root: Path) -> dict:
    d = root / "queryd"
    write_text(d / "train_list.txt", "video-AAAAAAAAAAA\nvideo-BBBBBBBBBBB\nvideo-CCCCCCCCCCC\n")
    captions = {
        "video-AAAAAAAAAAA": [["a", "person", "walks", "."], ["she", "sits"]],
        "video-BBBBBBBBBBB": [["a", "car"]],
        "video-CCCCCCCCCCC": [["no", "duration"]],
    }
    times = {
        "video-AAAAAAAAAAA": [np.array([1.0, 2.5]), [3, 4]],
        "video-BBBBBBBBBBB": np.array([[0.0, 7.0]]),
        "video-CCCCCCCCCCC": [[0, 1]],
    }
    (d / "raw_captions_combined_filtered-v2.pkl").write_bytes(pickle.dumps(captions))
    (d / "times_captions_combined_filtered-v2.pkl").write_bytes(pickle.dumps(times))
    write_json(d / "durations.json", {"AAAAAAAAAAA": 30.0, "BBBBBBBBBBB": 6.0})
    return {"queryd": {"train": 3}}


def span_jsonl(root: Path) -> dict:
    rows = [
        {"vid": "aaaaaaaaaaa", "duration": 12.0, "query": "first thing.", "span": [1, 3]},
        {"vid": "bbbbbbbbbbb", "duration": 20.0, "query": "second thing", "span": [4, 8]},
    ]
    write_jsonl(root / "cosmo_cap" / "anno_cosmo_cap.jsonl", rows)
    write_jsonl(root / "internvid_vtime" / "anno_internvid_vtime_query_gpt4o_mini.jsonl", rows)
    touch_videos(root / "internvid_vtime" / "videos_crop_3fps_480_noaudio", "aaaaaaaaaaa.mp4")
    write_jsonl(root / "vid_morp" / "anno_vid_morp.jsonl", rows)
    touch_videos(root / "vid_morp" / VIDEOS, "aaaaaaaaaaa.mp4", "bbbbbbbbbbb.mp4")
    return {"cosmo_cap": {"train": 2}, "internvid_vtime": {"train": 1}, "vid_morp": {"train": 2}}


def _hirest_clip(steps):
    return {"relevant": True, "clip": True, "bounds": [2, 10], "v_duration": 60.0, "steps": steps}


def hirest(root: Path) -> dict:
    d = root / "hirest"
    steps = [
        {"heading": "Add flour", "absolute_bounds": [2, 5]},
        {"heading": "Stir", "absolute_bounds": [5, 10]},
    ]
    train = {
        "how to bake": {
            "cake_aaaaaa.mp4": _hirest_clip(steps),
            "cake_bbbbbb.mp4": {"relevant": False, "clip": False, "v_duration": 30.0, "steps": []},
            "cake_cccccc.mp4": _hirest_clip([]),  # not on disk: dropped
        }
    }
    write_json(d / "all_data_train.json", train)
    write_json(d / "all_data_val.json", {"how to stir": {"cake_aaaaaa.mp4": _hirest_clip(steps[:1])}})
    touch_videos(d / VIDEOS, "cake_aaaaaa.mp4", "cake_bbbbbb.mp4")
    return {
        "hirest_grounding": {"train": 1, "valid": 1},
        "hirest_step": {"train": 2, "valid": 1},
        "hirest_step_bias": {"train": 2, "valid": 0},
    }


def charades_sta(root: Path) -> dict:
    d = root / "charades_sta"
    write_text(d / "charades_sta_train.txt", "AO8RW 0.0 6.9##a person is putting a book on a shelf.\n")
    write_text(
        d / "charades_sta_test.txt",
        "AO8RW 1.5 3.0##person opens a door\nY6R7T 20.1 35.0##person turns off the light.\n",
    )
    write_json(d / "durations.json", {"AO8RW": 33.67, "Y6R7T": 30.0})
    return {"charades_sta": {"train": 1, "test": 2}}


def activitynet(root: Path) -> dict:
    d = root / "activitynet_captions"
    video = {
        "duration": 100,
        "timestamps": [[0, 10], [11, 20], [40, 50]],
        "sentences": ["A man stands.", " He sits.", "He runs."],
    }
    write_json(d / "train.json", {"v_abc": video})
    write_json(
        d / "val_1.json", {"v_def": {"duration": 50, "timestamps": [[1, 2]], "sentences": ["val one"]}}
    )
    write_json(
        d / "val_2.json", {"v_ghi": {"duration": 50, "timestamps": [[3, 4], [4, 5]], "sentences": ["a", "b"]}}
    )
    write_json(
        root / "activitynet" / "durations.json",
        {"v_abc": 100.5, "v_def": 50.0, "v_ghi": 50.0, "v_q": 60.0, "v_xyz": 80.0},
    )
    rtl = root / "activitynet_rtl"
    qa = [
        {"q": "When does he jump?", "a": "From <5.2> to <10> he jumps."},
        {"q": "Why?", "a": "No tags here."},
    ]
    write_json(
        rtl / "activitynet_train_gpt-4-0613_temp_6_f10009.json", {"v_abc": {"duration": 100.5, "QA": qa}}
    )
    write_json(
        rtl / "annot_val_1_q229.json",
        [{"vid": "xyz", "duration": 80, "question": "When?", "answer": "<1> to <3.5>"}],
    )
    return {
        "activitynet_captions": {"train": 3, "valid": 1, "test": 2},
        "activitynet_captions_bias": {"train": 2, "valid": 0, "test": 2},
        "activitynet_rtl": {"train": 1, "test": 1},
    }


def ego4d(root: Path) -> dict:
    nlq = root / "ego4d_nlq"
    row = {"vid": "e1", "duration": 480.0, "query": "where is the cup?", "relevant_windows": [[10.5, 12.0]]}
    write_jsonl(nlq / "nlq_train.jsonl", [row, {**row, "query": "what did i cut"}])
    write_jsonl(nlq / "nlq_val.jsonl", [{**row, "vid": "e2"}])
    naq = root / "ego4d_naq"
    sentences = [
        "c picks a cup",
        "what did i put",
        "c opens the door #unsure",
        "c washes a plate",
        "c washes a plate",
        "c x",
    ]
    times = [[1.23456, 2.5], [3, 4], [5, 6], [7, 8], [9, 10], [11, 12]]
    train = {
        "n1": {"num_frames": 900, "fps": 30, "exact_times": times, "sentences": sentences},
        "n2": {"num_frames": 150, "fps": 30, "exact_times": [[1, 2]], "sentences": ["c takes a short clip"]},
    }
    write_json(naq / "train.json", train)
    write_json(
        naq / "val.json",
        {"n3": {"num_frames": 300, "fps": 30, "exact_times": [[1, 2]], "sentences": ["what did i put"]}},
    )
    write_json(
        naq / "test.json",
        {"n4": {"num_frames": 300, "fps": 30, "exact_times": [[1, 2]], "sentences": ["c x"]}},
    )
    return {"ego4d_nlq": {"train": 2, "valid": 1}, "ego4d_naq": {"train": 1, "valid": 1, "test": 1}}


def videoxum(root: Path) -> dict:
    d = root / "videoxum"
    rec = {
        "video_id": "v_q",
        "duration": 60,
        "tsum": ["first part.", "second part"],
        "vsum": [[[0, 10]] * 10, [[10, 20]] * 9 + [[20, 30]]],
    }
    write_json(d / "train_videoxum.json", [rec])
    write_json(d / "val_videoxum.json", [{**rec, "tsum": ["only"], "vsum": [[[1, 2]] * 10]}])
    write_json(d / "test_videoxum.json", [{**rec, "tsum": ["only"], "vsum": [[[1, 2]] * 10]}])
    return {"videoxum": {"train": 2, "valid": 1, "test": 1}}


def youcook2(root: Path) -> dict:
    d = root / "youcook2"
    steps = [{"segment": [0, 10], "sentence": "cut onions"}, {"segment": [12, 20], "sentence": "fry them"}]
    database = {
        "aaaaaaaaaaa": {"subset": "training", "duration": 100.0, "annotations": steps},
        "bbbbbbbbbbb": {"subset": "validation", "duration": 50.0, "annotations": steps[:1]},
        "ccccccccccc": {"subset": "training", "duration": 80.0, "annotations": steps},  # not on disk
    }
    write_json(d / "youcookii_annotations_trainval.json", {"database": database})
    touch_videos(d / VIDEOS, "aaaaaaaaaaa.mp4", "bbbbbbbbbbb.mp4")
    return {"youcook2": {"train": 2, "valid": 1}, "youcook2_bias": {"train": 2, "valid": 0}}


GROUNDING_BUILDERS = (
    qvhighlights,
    didemo,
    tacos,
    queryd,
    span_jsonl,
    hirest,
    charades_sta,
    activitynet,
    ego4d,
    videoxum,
    youcook2,
)
