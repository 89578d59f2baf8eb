"""Each official-loader bug of REFERENCE s.13.18 that the sources fix, with hand-computed expectations."""

from __future__ import annotations

import random
import subprocess
import sys
from collections import Counter

import pytest

from tests.data import builders_grounding as bg
from tests.data import builders_qa as bq
from videomind.data import get_source
from videomind.data.sources._questions import place_answer, stable_index
from videomind.errors import DataError


@pytest.fixture()
def no_random(monkeypatch):
    """Any use of the global random generator while loading fails the test."""

    def boom(*args, **kwargs):
        raise AssertionError("a source used the random module")

    for fn in ("randint", "random", "uniform", "shuffle", "choice", "sample"):
        monkeypatch.setattr(random, fn, boom)


def test_tacos_valid_loads_the_validation_file_not_test(tmp_path):
    bg.tacos(tmp_path)
    source = get_source("tacos", tmp_path)
    assert [s.query for s in source.load("valid")] == ["val query"]
    assert [s.query for s in source.load("test")] == ["test query"]
    assert source.load("val") == source.load("valid")


def test_videoxum_does_not_duplicate_the_last_sentence(tmp_path):
    bg.videoxum(tmp_path)
    samples = get_source("videoxum", tmp_path).load("train")
    # 2 sentences -> 2 samples (the official loader returns 3); spans = mean of the 10 annotators
    assert [s.query for s in samples] == ["first part", "second part"]
    assert [s.spans for s in samples] == [((0.0, 10.0),), ((11.0, 21.0),)]


def test_youcook2_does_not_duplicate_the_last_step(tmp_path):
    bg.youcook2(tmp_path)
    samples = get_source("youcook2", tmp_path).load("train")
    assert [(s.query, s.spans) for s in samples] == [
        ("cut onions", ((0.0, 10.0),)),
        ("fry them", ((12.0, 20.0),)),
    ]


def test_didemo_spans_are_never_shifted(tmp_path, no_random):
    bg.didemo(tmp_path)
    train = get_source("didemo", tmp_path).load("train")
    # mean of [[0,0],[0,1],[1,1],[1,1]] = (0.5, 0.75) -> (round(2.5), round(8.75)) = (2, 9); [[2,3]]x4 -> (10, 20)
    assert [s.spans for s in train] == [((2.0, 9.0),), ((10.0, 20.0),)]
    assert get_source("didemo", tmp_path).load("train") == train


def test_qa_ego4d_option_order_is_deterministic(tmp_path, no_random):
    bq.ego_qa(tmp_path)
    (s,) = get_source("qa_ego4d", tmp_path).load("train")
    wrong = ["In the box", "On the table", "In the bag"]
    idx = stable_index("u1|Where did i put the knife?|In the drawer", 4)
    expected = wrong[:idx] + ["In the drawer"] + wrong[idx:]
    assert s.options == tuple(expected)
    assert s.answer == "ABCD"[idx] and s.answer_text == "In the drawer"
    assert get_source("qa_ego4d", tmp_path).load("train") == [s]


def test_qa_ego4d_uses_the_option_files_when_present(tmp_path):
    bq.ego_qa(tmp_path)
    (s,) = get_source("qa_ego4d", tmp_path).load("valid")
    assert s.options == ("In the box", "In the drawer", "On the table", "In the bag") and s.answer == "B"


def test_ego_timeqa_option_order_is_deterministic(tmp_path, no_random):
    bq.ego_qa(tmp_path)
    (s,) = get_source("ego_timeqa", tmp_path).load("train")
    assert s.question == "What did I put in the sink"
    assert s.options[ord(s.answer) - ord("A")] == "A plate"
    assert get_source("ego_timeqa", tmp_path).load("train") == [s]


def test_answer_position_is_the_same_in_another_process():
    code = "from videomind.data.sources._questions import place_answer; print(place_answer('k|q|a', 'a', ['b','c','d']))"
    out = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=True
    ).stdout.strip()
    assert out == str(place_answer("k|q|a", "a", ["b", "c", "d"]))


def test_answer_positions_are_spread_over_all_options():
    counts = Counter(place_answer(f"video|question {i}|answer", "x", ["a", "b", "c"])[1] for i in range(400))
    assert set(counts) == {"A", "B", "C", "D"}
    assert min(counts.values()) > 60  # 100 expected each


def test_nextgqa_has_no_train_split(tmp_path):
    bq.nextgqa(tmp_path)
    for name in ("nextgqa", "nextgqa_grounding", "nextgqa_crop"):
        with pytest.raises(DataError, match="no split 'train'"):
            get_source(name, tmp_path).load("train")
    assert len(get_source("nextgqa_grounding", tmp_path).load("valid")) == 2


def test_videomme_attaches_subtitles_when_present(tmp_path):
    bq.videomme(tmp_path)
    first, second = get_source("videomme", tmp_path).load("test")
    assert first.subtitle == str(tmp_path / "videomme" / "subtitles" / "fFjv93ACGo8.srt")
    assert second.subtitle is None


def test_split_names_are_train_valid_test_everywhere():
    from videomind.data import list_sources

    for name in list_sources():
        if name != "synthetic":
            assert set(get_source(name).splits) <= {"train", "valid", "test"}, name
