"""Field-level parsing of each source (hand-computed values) and errors that name file, record and field."""

from __future__ import annotations

import json
import pickle
import sys

import pytest

from tests.data import builders_grounding as bg
from tests.data import builders_qa as bq
from videomind.data import get_source
from videomind.errors import DataError

V = bg.VIDEOS


def one(tmp_path, builder, name, split):
    builder(tmp_path)
    return get_source(name, tmp_path).load(split)


def test_qvhighlights_keeps_highlight_fields(tmp_path):
    train = one(tmp_path, bg.qvhighlights, "qvhighlights", "train")
    s = train[0]
    assert s.id == "qvhighlights/train/1" and s.query == "A man talks 1" and s.duration == 150
    assert s.spans == ((10.0, 20.0), (30.0, 40.0)) and s.video == str(
        tmp_path / "qvhighlights" / V / "a_60.0_210.0.mp4"
    )
    assert dict(s.extra) == {
        "qid": 1,
        "vid": "a_60.0_210.0",
        "relevant_windows": [[10, 20], [30, 40]],
        "relevant_clip_ids": [5, 6],
        "saliency_scores": [[1, 2, 3], [4, 2, 0]],
    }
    (test,) = get_source("qvhighlights", tmp_path).load("test")
    assert test.spans == () and dict(test.extra) == {"qid": 4, "vid": "d_0.0_150.0"}
    assert [s.extra["qid"] for s in get_source("qvhighlights_single", tmp_path).load("train")] == [2]


def test_spans_past_the_end_are_clamped_and_kept_raw(tmp_path):
    (val,) = one(tmp_path, bg.qvhighlights, "qvhighlights", "valid")
    assert val.spans == ((140.0, 150.0),) and val.extra["raw_spans"] == [[140.0, 152.0]]
    bg.charades_sta(tmp_path)
    first, second = get_source("charades_sta", tmp_path).load("test")
    assert first.spans == ((1.5, 3.0),) and "raw_spans" not in first.extra
    assert second.spans == ((20.1, 30.0),) and second.query == "person turns off the light"


def test_didemo_duration_and_clamp(tmp_path):
    (val,) = one(tmp_path, bg.didemo, "didemo", "valid")
    # [[5,5]]x4 -> (25, 30), clamped to the 25.3 s video
    assert val.duration == 25.3 and val.spans == ((25.0, 25.3),) and val.video.endswith("v2@N0_2.mp4")


def test_queryd_reads_pickles_with_numpy_arrays(tmp_path):
    samples = one(tmp_path, bg.queryd, "queryd", "train")
    assert [(s.query, s.spans, s.duration) for s in samples] == [
        ("a person walks", ((1.0, 2.5),), 30.0),
        ("she sits", ((3.0, 4.0),), 30.0),
        ("a car", ((0.0, 6.0),), 6.0),
    ]
    assert samples[0].video == str(tmp_path / "queryd" / V / "AAAAAAAAAAA.mp4")


def test_queryd_refuses_pickles_that_run_code(tmp_path):
    bg.queryd(tmp_path)

    class Evil:
        def __reduce__(self):
            return (print, ("pwned",))

    (tmp_path / "queryd" / "raw_captions_combined_filtered-v2.pkl").write_bytes(pickle.dumps({"x": Evil()}))
    with pytest.raises(DataError, match="raw_captions.*refusing to load builtins.print"):
        get_source("queryd", tmp_path).load("train")


def test_sets_with_missing_videos_keep_only_videos_on_disk(tmp_path):
    assert [s.extra["vid"] for s in one(tmp_path, bg.span_jsonl, "internvid_vtime", "train")] == [
        "aaaaaaaaaaa"
    ]
    assert one(tmp_path, bg.span_jsonl, "cosmo_cap", "train")[0].spans == ((1.0, 3.0),)


def test_hirest_variants(tmp_path):
    bg.hirest(tmp_path)
    (g,) = get_source("hirest_grounding", tmp_path).load("train")
    assert (g.query, g.spans, g.duration) == ("how to bake", ((2.0, 10.0),), 60.0)
    assert [s.query for s in get_source("hirest_step", tmp_path).load("train")] == ["Add flour", "Stir"]
    bias = get_source("hirest_step_bias", tmp_path).load("train")
    assert [(s.query, s.spans) for s in bias] == [
        ("The moment before Stir", ((2.0, 5.0),)),
        ("The moment after Add flour", ((5.0, 10.0),)),
    ]


def test_activitynet_captions_bias_and_durations(tmp_path):
    bg.activitynet(tmp_path)
    train = get_source("activitynet_captions", tmp_path).load("train")
    assert [s.query for s in train] == ["A man stands", "He sits", "He runs"] and train[0].duration == 100.5
    assert train[0].video == str(tmp_path / "activitynet" / V / "v_abc.mp4")
    bias = get_source("activitynet_captions_bias", tmp_path).load("train")
    # gap 11 - 10 = 1 s < 3 s pairs the first two events; 40 - 20 = 20 s does not pair the last two
    assert [(s.query, s.spans) for s in bias] == [
        ("The moment before He sits", ((0.0, 10.0),)),
        ("The moment after A man stands", ((11.0, 20.0),)),
    ]


def test_activitynet_rtl_time_tags(tmp_path):
    bg.activitynet(tmp_path)
    (train,) = get_source("activitynet_rtl", tmp_path).load("train")
    assert train.spans == ((5.2, 10.0),)
    (test,) = get_source("activitynet_rtl", tmp_path).load("test")
    assert test.spans == ((1.0, 3.5),) and test.video.endswith("activitynet/" + V + "/v_xyz.mp4")


def test_ego4d_naq_training_filters(tmp_path):
    bg.ego4d(tmp_path)
    (s,) = get_source("ego4d_naq", tmp_path).load("train")
    # NLQ-style, #unsure, repeated (two moments) and 2-word queries dropped; the 5 s video dropped
    assert (s.query, s.spans, s.duration) == ("c picks a cup", ((1.235, 2.5),), 30.0)
    assert [v.query for v in get_source("ego4d_naq", tmp_path).load("valid")] == ["what did i put"]
    assert get_source("ego4d_nlq", tmp_path).load("valid")[0].video.endswith("ego4d/v2/" + V + "/e2.mp4")


def test_cgbench_fields(tmp_path):
    a, b = one(tmp_path, bq.cgbench, "cgbench", "test")
    assert a.options == ("Red", "Blue", "Green", "Pink") and (a.answer, a.answer_text) == ("B", "Blue")
    assert a.spans == ((1.0, 2.0), (5.0, 8.0)) and a.task == ("Holistic",) and a.extra["domain"] == "Life"
    assert a.subtitle == str(tmp_path / "cgbench" / "subtitles" / "cg1.srt") and b.subtitle is None
    assert b.spans == ((1.0, 2.0), (5.0, 7.0))


def test_rextime_fields(tmp_path):
    anet, qvhl = one(tmp_path, bq.rextime, "rextime", "train")
    assert (anet.answer, anet.answer_text, anet.task) == ("C", "The man jumps", ("sequential",))
    assert anet.video == str(tmp_path / "activitynet" / V / "v_abcdefghijk.mp4") and anet.duration == 120.0
    assert qvhl.video == str(tmp_path / "qvhighlights" / V / "qvhl_30.0_180.0.mp4") and qvhl.spans == (
        (100.0, 150.0),
    )
    (test,) = get_source("rextime", tmp_path).load("test")
    assert test.answer is None and test.spans == () and test.options[2] == "The man jumps"
    (crop,) = get_source("rextime_crop", tmp_path).load("valid")
    assert crop.extra["crop"] is True and crop.data_type == "multimodal"
    assert get_source("rextime_grounding", tmp_path).load("valid")[0].data_type == "grounding"


def test_nextgqa_and_nextqa_fields(tmp_path):
    bq.nextgqa(tmp_path)
    bq.nextqa(tmp_path)
    a, b = get_source("nextgqa", tmp_path).load("valid")
    assert (a.question, a.answer, a.answer_text, a.task) == (
        "Why did the boy run?",
        "C",
        "The boy runs",
        ("CW",),
    )
    assert a.spans == ((1.2, 5.3),) and a.id == "nextgqa/valid/4010069381_6"
    assert a.video == str(tmp_path / "nextqa" / "videos" / "0000" / "4010069381.mp4")
    assert (b.answer, b.spans) == ("E", ((0.0, 30.03),))
    (q,) = get_source("nextqa", tmp_path).load("test")
    assert (q.answer, q.answer_text, q.duration, q.spans) == ("D", "To play", None, ())
    assert q.video == str(tmp_path / "nextqa" / "NExTVideo" / "0000" / "4010069381.mp4")


def test_qa_ego4d_frames_to_seconds(tmp_path):
    (s,) = one(tmp_path, bq.ego_qa, "qa_ego4d", "train")
    assert s.spans == ((1.5, 3.333),) and s.duration == 120.0  # 45 / 30, round(100 / 30, 3)
    (t,) = get_source("qa_ego4d", tmp_path).load("test")
    assert (t.answer, t.answer_text) == ("D", "In the bag")


def test_star_crop_fields(tmp_path):
    (s,) = one(tmp_path, bq.star, "star", "train")
    assert (s.answer, s.answer_text, s.task, s.spans) == (
        "B",
        "The blanket.",
        ("Interaction",),
        ((11.1, 19.6),),
    )
    assert s.extra["crop"] is True and s.extra["no_aug"] is True
    assert s.video == str(tmp_path / "charades_sta" / V / "6H78U.mp4")


def test_general_qa_fields(tmp_path):
    for builder in (bq.videomme, bq.mlvu, bq.lvbench, bq.mvbench, bq.longvideobench):
        builder(tmp_path)
    v = get_source("videomme", tmp_path).load("test")[0]
    assert v.options == ("Apples.", "Bananas.", "Cherries.", "Dates.") and (v.answer, v.task) == (
        "C",
        ("short",),
    )
    plot, count = get_source("mlvu", tmp_path).load("test")
    assert plot.video == str(tmp_path / "mlvu" / "video" / "1_plotQA" / "movie1.mp4") and plot.answer == "C"
    assert count.video.endswith("4_count/count1.mp4") and count.task == ("count",)
    a, b = get_source("lvbench", tmp_path).load("test")
    assert a.question == "What is X?" and a.options == ("a", "b", "c", "d") and a.answer == "C"
    assert a.task == ("entity recognition", "reasoning") and b.task == ("summarization",)
    lvb = get_source("longvideobench", tmp_path).load("valid")
    assert (
        lvb[0].video.endswith("videos/1234567890123456789.mp4")
        and lvb[0].answer == "C"
        and lvb[1].answer == "A"
    )
    assert get_source("longvideobench", tmp_path).load("test")[0].answer is None


def test_mvbench_episodic_frames(tmp_path):
    episodic, action = one(tmp_path, bq.mvbench, "mvbench", "test")
    frames = episodic.extra["frames"]
    # 70 frames -> step 70 // 31 = 2 -> 1, 3, ..., 63 (32 of them)
    assert len(frames) == 32 and frames[0].endswith("00001.jpg") and frames[1].endswith("00003.jpg")
    assert (
        frames[-1].endswith("00063.jpg")
        and episodic.task == ("Episodic Reasoning",)
        and episodic.answer == "B"
    )
    assert action.video.endswith("star/Charades_v1_480/ZS9XR.mp4") and action.answer == "C"


def test_verifying_labels_top5_candidates(tmp_path):
    samples = one(tmp_path, bq.verifying, "tacos_verify_7b", "train")
    assert [s.extra["candidate"] for s in samples] == [[10, 20], [12, 22], [50, 60], [0, 5], [15, 18]]
    assert [s.extra["label"] for s in samples] == ["Yes", "Yes", "No", "No", "No"]
    assert [round(s.extra["iou"], 4) for s in samples] == [1.0, 0.6667, 0.0, 0.0, 0.3]
    assert samples[0].video == str(tmp_path / "qvhighlights" / V / "v1.mp4") and samples[0].spans == (
        (10.0, 20.0),
    )


def test_planning_routes(tmp_path):
    a, b = one(tmp_path, bq.planning, "mixed_planning", "train")
    assert (a.question, a.query, a.extra["route"], a.extra["query"]) == ("Why?", None, 1, "the boy runs")
    assert a.video == str(tmp_path / "nextqa" / "NExTVideo" / "1" / "2.mp4")
    assert (b.extra["route"], b.extra["query"]) == (4, None)


def test_custom_records(tmp_path):
    bq.custom(tmp_path)
    g, q = get_source("custom", tmp_path).load("train")
    assert (g.data_type, g.query, g.spans, g.video) == (
        "grounding",
        "the dog jumps",
        ((1.0, 2.5),),
        str(tmp_path / "custom" / "videos" / "a.mp4"),
    )
    assert (q.id, q.answer, q.answer_text, q.data_type) == ("custom/train/q1", "B", "dog", "multimodal")
    (v,) = get_source("custom", tmp_path / "custom").load("valid")  # the folder itself works as root
    assert (v.answer, v.answer_text, v.video) == ("C", "z", "/abs/b.mp4")
    (t,) = get_source("custom", tmp_path).load("test")
    assert (t.answer, t.answer_text, t.task, t.options) == (None, "free text", ("open",), None)


# --- malformed annotations: the error names the file, the record and the field -------------------------------

GQA_BAD = [bq._gqa_row("4010069381", "6", "the boy runs"), bq._gqa_row("4010069381", "7", "not an option")]
CG_BAD = {"video_uid": "cg1", "question": "q", "choices": ["a", "b"], "answer": "a", "right_answer": "Z"}
CG_BAD.update(clue_intervals=[[1, 2]], sub_category="Holistic")
MALFORMED = [
    (bg.tacos, "tacos", "tacos/train.jsonl", ['{"vid": 1', "{}"], r"train\.jsonl: line 1: invalid JSON"),
    (
        bg.qvhighlights,
        "qvhighlights",
        "qvhighlights/highlight_train_release.jsonl",
        [{"qid": 1, "vid": "a", "duration": 3}],
        r"highlight_train_release\.jsonl: line 1: field 'query': missing",
    ),
    (
        bg.span_jsonl,
        "cosmo_cap",
        "cosmo_cap/anno_cosmo_cap.jsonl",
        [{"vid": "a", "duration": 3, "query": "q", "span": [1]}],
        r"anno_cosmo_cap\.jsonl: line 1: field 'span'",
    ),
    (
        bg.span_jsonl,
        "cosmo_cap",
        "cosmo_cap/anno_cosmo_cap.jsonl",
        ["", {"vid": "a", "duration": "long", "query": "q", "span": [1, 2]}],
        r"line 2: field 'duration'",
    ),
    (
        bg.didemo,
        "didemo",
        "didemo/train_data.json",
        [
            {"video": "v1@N0_1.mov", "times": [[0, 0]], "description": "a"},
            {"video": "v1@N0_1.mov", "times": [[1]]},
        ],
        r"train_data\.json: record 1: field 'times'",
    ),
    (
        bg.didemo,
        "didemo",
        "didemo/train_data.json",
        [{"video": "nope.mov", "times": [[0, 0]], "description": "a"}],
        r"train_data\.json: record 0: field 'video': video id 'nope' is not in .*durations\.json",
    ),
    (
        bg.activitynet,
        "activitynet_captions",
        "activitynet_captions/train.json",
        {"v_abc": {"timestamps": [[0, 1]], "sentences": ["a", "b"]}},
        r"train\.json: key 'v_abc': field 'timestamps': 1 timestamps for 2 sentences",
    ),
    (
        bg.charades_sta,
        "charades_sta",
        "charades_sta/charades_sta_train.txt",
        "AO8RW 0.0##no end\n",
        r"charades_sta_train\.txt: line 1: field 'line'",
    ),
    (
        bq.nextgqa,
        "nextgqa",
        "nextgqa/val.csv",
        GQA_BAD,
        r"val\.csv: line 3: field 'answer': .*not one of the options",
    ),
    (
        bq.cgbench,
        "cgbench",
        "cgbench/cgbench_mini.json",
        [CG_BAD],
        r"cgbench_mini\.json: record 0: field 'right_answer'",
    ),
    (
        bq.lvbench,
        "lvbench",
        "lvbench/LVBench/video_info.meta.jsonl",
        [{"key": "v", "qa": [{"question": "no options", "answer": "A"}]}],
        r"video_info\.meta\.jsonl: line 1 qa 0: field 'question'",
    ),
    (
        bq.planning,
        "mixed_planning",
        "planning/planning_nextqa_qvhighlights_gpt4o_mini.jsonl",
        [{"video_path": "a.mp4", "route": 7, "question": "q"}],
        r"line 1: field 'route': expected one of",
    ),
    (
        bq.custom,
        "custom",
        "custom/train.jsonl",
        [{"video": "a.mp4", "duration": 10, "query": "q", "spans": [[2, 12]]}],
        r"custom/train\.jsonl: line 1: field 'spans': span \[2.0, 12.0\]",
    ),
    (
        bq.custom,
        "custom",
        "custom/train.jsonl",
        [{"video": "a.mp4", "question": "q", "options": ["a", "b"], "answer": "C"}],
        r"line 1: field 'answer'",
    ),
    (
        bq.custom,
        "custom",
        "custom/train.jsonl",
        [{"video": "a.mp4"}],
        r"line 1: field 'query': give a grounding 'query', a 'question', or both",
    ),
]


def _write(path, content) -> None:
    if path.suffix == ".jsonl":
        path.write_text("".join((r if isinstance(r, str) else json.dumps(r)) + "\n" for r in content))
    elif path.suffix == ".csv":
        bq.write_csv(path, content)
    elif path.suffix == ".json":
        bg.write_json(path, content)
    else:
        path.write_text(content)


@pytest.mark.parametrize("builder, name, relative, content, pattern", MALFORMED)
def test_malformed_annotations_name_file_record_and_field(
    tmp_path, builder, name, relative, content, pattern
):
    builder(tmp_path)
    _write(tmp_path / relative, content)
    source = get_source(name, tmp_path)
    with pytest.raises(DataError, match=pattern):
        source.load(source.splits[0])


def test_videomme_parquet_gives_the_same_samples_as_its_jsonl_export(tmp_path):
    pa = pytest.importorskip("pyarrow")
    import pyarrow.parquet as pq

    bq.videomme(tmp_path)
    from_jsonl = get_source("videomme", tmp_path).load("test")
    pq.write_table(
        pa.Table.from_pylist(bq.videomme_rows()), tmp_path / "videomme" / "test-00000-of-00001.parquet"
    )
    (tmp_path / "videomme" / "test-00000-of-00001.jsonl").unlink()
    assert get_source("videomme", tmp_path).load("test") == from_jsonl


def test_videomme_parquet_without_pyarrow_says_what_to_install(tmp_path, monkeypatch):
    monkeypatch.setitem(sys.modules, "pyarrow", None)
    monkeypatch.setitem(sys.modules, "pyarrow.parquet", None)
    bq.videomme(tmp_path)
    (tmp_path / "videomme" / "test-00000-of-00001.parquet").write_bytes(b"PAR1")
    with pytest.raises(DataError, match="pip install pyarrow"):
        get_source("videomme", tmp_path).load("test")


def test_numeric_options_are_read_as_text(tmp_path):
    bq.mvbench(tmp_path)
    count = {"video": "c.mp4", "question": "How many?", "candidates": [3, 2, 4], "answer": 2}
    bg.write_json(tmp_path / "mvbench" / "json" / "action_count.json", [count])
    s = [x for x in get_source("mvbench", tmp_path).load("test") if x.task == ("Action Count",)][0]
    assert (s.options, s.answer, s.answer_text) == (("3", "2", "4"), "B", "2")


def test_verifying_reads_a_folder_of_json_files(tmp_path):
    bq.verifying(tmp_path)
    folder = (
        tmp_path / "verifying" / "verifying_didemo_2b.json"
    )  # the official loader accepts a folder so named
    data = (tmp_path / "verifying" / "verifying_didemo_2b.json").read_text()
    folder.unlink()
    folder.mkdir()
    (folder / "part_1.json").write_text(data)
    (folder / "part_0.json").write_text(data)
    samples = get_source("didemo_verify_2b", tmp_path).load("train")
    assert len(samples) == 10 and samples[0].id == "didemo_verify_2b/train/part_0/0/0"
