"""Tiny fixtures of the question-answering and role datasets in their native formats (json/jsonl/csv).

Each builder writes under a data root and returns ``{source name: {split: expected number of samples}}``.
"""

from __future__ import annotations

import csv
from pathlib import Path

from tests.data.builders_grounding import touch_videos, write_json, write_jsonl, write_text

OPTIONS4 = ["red", "blue", "green", "pink"]


def write_csv(path: Path, rows: list[dict]) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    with path.open("w", newline="", encoding="utf-8") as f:
        writer = csv.DictWriter(f, fieldnames=list(rows[0]))
        writer.writeheader()
        writer.writerows(rows)


def cgbench(root: Path) -> dict:
    d = root / "cgbench"
    rec = {
        "video_uid": "cg1",
        "question": "what color is the car?",
        "choices": OPTIONS4,
        "answer": "blue",
        "right_answer": "B",
        "clue_intervals": [[1, 2], [5, 8]],
        "sub_category": "Holistic",
        "domain": "Life",
    }
    write_json(
        d / "cgbench_mini.json", [rec, {**rec, "video_uid": "cg2", "right_answer": "D", "answer": "pink"}]
    )
    write_json(d / "durations.json", {"cg1": 600.0, "cg2": 7.0})
    write_text(d / "subtitles" / "cg1.srt", "1\n00:00:01,000 --> 00:00:02,000\nhello\n")
    return {"cgbench": {"test": 2}}


def rextime(root: Path) -> dict:
    d = root / "rextime"
    anet = {
        "vid": "v_abcdefghijk",
        "question": "what happens after the man sits?",
        "options": ["he eats", "he runs", "the man jumps", "he sleeps"],
        "answer": "From <s0> to <e0>, the man jumps",
        "ans": "C",
        "span": [3, 9],
        "category": "sequential",
    }
    qvhl = {
        **anet,
        "vid": "qvhl_30.0_180.0",
        "span": [100, 160],
        "ans": "A",
        "answer": "From <s0> to <e0>, he eats",
    }
    write_json(d / "rextime_train.json", [anet, qvhl])
    write_json(d / "rextime_val.json", [anet])
    test = {k: v for k, v in anet.items() if k not in ("ans", "span", "answer")}
    write_json(d / "rextime_test_release.json", [test])
    write_json(root / "activitynet" / "durations.json", {"v_abcdefghijk": 120.0})
    write_json(root / "qvhighlights" / "durations.json", {"qvhl_30.0_180.0": 150.0})
    counts = {"train": 2, "valid": 1, "test": 1}
    return {"rextime": counts, "rextime_crop": counts, "rextime_grounding": counts}


def _gqa_row(vid, qid, answer, **kw):
    row = {
        "video_id": vid,
        "frame_count": 900,
        "width": 640,
        "height": 480,
        "question": "why did the boy run",
    }
    row.update(
        answer=answer,
        qid=qid,
        type="CW",
        a0="to eat",
        a1="to sleep",
        a2="the boy runs",
        a3="to play",
        a4="cold",
    )
    row.update(kw)
    return row


def nextgqa(root: Path) -> dict:
    d = root / "nextgqa"
    write_csv(
        d / "val.csv", [_gqa_row("4010069381", "6", "the boy runs"), _gqa_row("4010069381", "7", "cold")]
    )
    write_csv(d / "test.csv", [_gqa_row("5555", "1", "to eat")])
    location = {"6": [[1.2, 5.3]], "7": [[0.0, 40.0]]}
    write_json(d / "gsub_val.json", {"4010069381": {"duration": 30.03, "location": location, "fps": 30}})
    write_json(d / "gsub_test.json", {"5555": {"duration": 10.0, "location": {"1": [[2, 3]]}, "fps": 30}})
    write_json(d / "map_vid_vidorID.json", {"4010069381": "0000/4010069381", "5555": "0001/5555"})
    counts = {"valid": 2, "test": 1}
    return {"nextgqa": counts, "nextgqa_crop": counts, "nextgqa_grounding": counts}


def nextqa(root: Path) -> dict:
    d = root / "nextqa"
    for split in ("train", "val", "test"):
        row = _gqa_row("4010069381", "3", "3", question="what does the girl do")
        row["video"] = row.pop("video_id")
        write_csv(d / f"{split}.csv", [row])
    write_json(d / "map_vid_vidorID.json", {"4010069381": "0000/4010069381"})
    return {"nextqa": {"train": 1, "valid": 1, "test": 1}}


def _ego_qa(vid, question, answer, **kw):
    rec = {
        "video_id": vid,
        "question": question,
        "answer": answer,
        "moment_start_frame": 45,
        "moment_end_frame": 100,
    }
    rec.update(kw)
    return rec


def ego_qa(root: Path) -> dict:
    d = root / "qa_ego4d"
    wrong = {"wrong_answers": ["in the box", "on the table", "in the bag"]}
    train = [_ego_qa("u1", "where did i put the knife?", "in the drawer", **wrong)]
    train.append(_ego_qa("u2", "where is the cup?", "in the sink", **wrong))  # 5 s video: filtered
    write_json(d / "annotations.QaEgo4D_train.json", train)
    options = {"options": ["in the box", "in the drawer", "on the table", "in the bag"]}
    write_json(
        d / "annotations.QaEgo4D_val_options.json",
        [_ego_qa("u2", "where is it?", "in the drawer", **options)],
    )
    write_json(
        d / "annotations.QaEgo4D_test_options.json", [_ego_qa("u1", "where?", "in the bag", **options)]
    )
    write_json(root / "ego4d" / "v1" / "durations.json", {"u1": 120.0, "u2": 5.0})
    t = root / "ego_timeqa"
    rows = [
        _ego_qa("t1", "what did l put in the sink", "a plate", **wrong),
        _ego_qa("t1", "why so", "x", **wrong),
    ]
    write_json(t / "annotations.EgoTimeQA.json", rows)
    write_json(root / "ego4d" / "v2" / "durations.json", {"t1": 300.0})
    qa = {"train": 1, "valid": 1, "test": 1}
    return {
        "qa_ego4d": qa,
        "qa_ego4d_crop": qa,
        "qa_ego4d_grounding": qa,
        "ego_timeqa": {"train": 1},
        "ego_timeqa_crop": {"train": 1},
        "ego_timeqa_grounding": {"train": 1},
    }


def star(root: Path) -> dict:
    d = root / "star"
    choices = [
        {"choice_id": i, "choice": c}
        for i, c in enumerate(["The closet.", "The blanket.", "The cup.", "The door."])
    ]
    rec = {"question_id": "Interaction_T1_13", "video_id": "6H78U", "question": "Which object was tidied up?"}
    rec.update(choices=choices, answer="The blanket.", start=11.1, end=19.6)
    write_json(d / "STAR_train.json", [rec])
    write_json(d / "STAR_val.json", [{**rec, "question_id": "Sequence_T2_1"}])
    write_json(root / "charades_sta" / "durations.json", {"6H78U": 31.0})
    return {"star": {"train": 1, "valid": 1}}


def videomme_rows() -> list[dict]:
    base = {
        "video_id": "001",
        "duration": "short",
        "domain": "Knowledge",
        "sub_category": "Humanity & History",
    }
    options = ["A. Apples.", "B. Bananas.", "C. Cherries.", "D. Dates."]
    first = {**base, "videoID": "fFjv93ACGo8", "question_id": "001-1", "task_type": "Counting Problem"}
    first.update(question="How many fruits?", options=options, answer="C")
    second = {**first, "videoID": "zzzzzzzzzzz", "question_id": "001-2", "answer": "A", "duration": "long"}
    return [first, second]


def videomme(root: Path) -> dict:
    write_jsonl(root / "videomme" / "test-00000-of-00001.jsonl", videomme_rows())
    write_text(root / "videomme" / "subtitles" / "fFjv93ACGo8.srt", "1\n00:00:01,000 --> 00:00:02,000\nhi\n")
    return {"videomme": {"test": 2}}


MLVU_DIRS = ("1_plotQA", "2_needle", "3_ego", "4_count", "5_order", "6_anomaly_reco", "7_topic_reasoning")


def mlvu(root: Path) -> dict:
    d = root / "mlvu" / "json"
    for name in MLVU_DIRS:
        write_json(d / f"{name}.json", [])
    rec = {
        "video": "movie1.mp4",
        "duration": 500,
        "question": "Who is the hero?",
        "candidates": ["a", "b", "c", "d"],
    }
    write_json(d / "1_plotQA.json", [{**rec, "answer": "c", "question_type": "plotQA"}])
    write_json(d / "4_count.json", [{**rec, "answer": "a", "question_type": "count", "video": "count1.mp4"}])
    return {"mlvu": {"test": 2}}


def lvbench(root: Path) -> dict:
    qa = {"uid": "q1", "question": "What is X?\n(A) a\n(B) b\n(C) c\n(D) d", "answer": "C"}
    qa.update(question_type=["entity recognition", "reasoning"], time_reference="00:15-00:19")
    rows = [{"key": "vidL", "qa": [qa, {**qa, "uid": "q2", "answer": "A", "question_type": "summarization"}]}]
    write_jsonl(root / "lvbench" / "LVBench" / "video_info.meta.jsonl", rows)
    return {"lvbench": {"test": 2}}


MVBENCH_FILES = [
    "episodic_reasoning",
    "action_sequence",
    "action_prediction",
    "action_antonym",
    "fine_grained_action",
    "unexpected_action",
    "object_existence",
    "object_interaction",
    "object_shuffle",
    "moving_direction",
    "action_localization",
    "scene_transition",
    "action_count",
    "moving_count",
    "moving_attribute",
    "state_change",
    "fine_grained_pose",
    "character_order",
    "egocentric_navigation",
    "counterfactual_inference",
]


def mvbench(root: Path) -> dict:
    d = root / "mvbench"
    for name in MVBENCH_FILES:
        write_json(d / "json" / f"{name}.json", [])
    rec = {"question": "What happens?", "candidates": ["x", "y", "z"], "answer": "y"}
    write_json(d / "json" / "episodic_reasoning.json", [{**rec, "video": "s01e02_seg1"}])
    write_json(d / "json" / "action_sequence.json", [{**rec, "video": "ZS9XR.mp4", "answer": "z"}])
    touch_videos(
        d / "video" / "tvqa" / "frames_fps3_hq" / "s01e02_seg1", *[f"{i:05d}.jpg" for i in range(1, 71)]
    )
    return {"mvbench": {"test": 2}}


def longvideobench(root: Path) -> dict:
    d = root / "longvideobench"
    rec = {
        "video_id": "@user_X_1234567890123456789",
        "question": "What is shown?",
        "candidates": ["a", "b", "c"],
    }
    rec.update(duration_group=600, level="L1", question_category="S2E")
    write_json(
        d / "lvb_val.json",
        [{**rec, "correct_choice": 2}, {**rec, "video_id": "abcdefghijk", "correct_choice": 0}],
    )
    write_json(d / "lvb_test_wo_gt.json", [rec])
    return {"longvideobench": {"valid": 2, "test": 1}}


def verifying(root: Path) -> dict:
    raw = {
        "video_path": "data/qvhighlights/videos_3fps_480_noaudio/v1.mp4",
        "duration": 100,
        "query": "a man talks",
        "span": [[10, 20]],
        "pred": [[10, 20], [12, 22], [50, 60], [0, 5], [15, 18], [1, 2]],
    }
    out = {}
    for base in ("qvhighlights", "didemo", "tacos"):
        for size in ("2b", "7b"):
            write_json(root / "verifying" / f"verifying_{base}_{size}.json", [raw])
            out[f"{base}_verify_{size}"] = {"train": 5}
    return out


def planning(root: Path) -> dict:
    rows = [
        {
            "video_path": "data/nextqa/NExTVideo/1/2.mp4",
            "route": 1,
            "question": "Why?",
            "query": "the boy runs",
            "data_type": "multimodal",
        },
        {
            "video_path": "data/qvhighlights/videos_3fps_480_noaudio/a.mp4",
            "route": 4,
            "question": "What?",
            "data_type": "multimodal",
        },
    ]
    write_jsonl(root / "planning" / "planning_nextqa_qvhighlights_gpt4o_mini.jsonl", rows)
    return {"mixed_planning": {"train": 2}}


def custom(root: Path) -> dict:
    d = root / "custom"
    rows = [
        {"video": "videos/a.mp4", "duration": 30, "query": "the dog jumps", "spans": [[1, 2.5]]},
        {
            "id": "q1",
            "video": "videos/a.mp4",
            "question": "What jumps?",
            "options": ["cat", "dog"],
            "answer": "dog",
            "span": [[1, 3]],
            "duration": 30,
        },
    ]
    write_jsonl(d / "train.jsonl", rows)
    write_jsonl(
        d / "valid.jsonl",
        [{"video": "/abs/b.mp4", "question": "Why?", "options": ["x", "y", "z"], "answer": "C"}],
    )
    write_jsonl(
        d / "test.jsonl",
        [{"video": "c.mp4", "question": "Describe it", "answer": "free text", "task": "open"}],
    )
    touch_videos(d / "videos", "a.mp4")
    return {"custom": {"train": 2, "valid": 1, "test": 1}}


QA_BUILDERS = (
    cgbench,
    rextime,
    nextgqa,
    nextqa,
    ego_qa,
    star,
    videomme,
    mlvu,
    lvbench,
    mvbench,
    longvideobench,
    verifying,
    planning,
    custom,
)
