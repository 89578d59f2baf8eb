"""The base stage's verifier pairs (recipes.presence_pairs): a "Yes" query names a shape on screen in the
candidate, its "No" twin one that is nowhere in the zoomed clip; the file loads as a ``custom`` source whose
examples are the verifier's, labelled by the pair and not by the words of the query."""

import json
import random
from collections import Counter

import pytest

from recipes.presence_pairs import MARGIN, absent_shapes, named_shape, pair_for, write_presence_pairs
from tests.train.test_presence_questions import _actor, _seen
from videomind.data import get_source
from videomind.data.conversations import VERIFIER_MIN_LEN, verifying_example
from videomind.data.synthetic.config import COLOUR_NAMES
from videomind.data.synthetic.language import SHAPE_WORDS
from videomind.spans import zoom_window

WORLD = {
    "duration": 40.0,
    "actors": [
        _actor(0, "circle", "red", (10.0, 14.0)),
        _actor(1, "square", "blue", (8.0, 30.0)),
        _actor(2, "star", "green", (0.0, 6.0)),  # far before the circle's clip
        _actor(
            3, "triangle", "red", (13.0, 20.0), {"type": "recolour", "span": [15.0, 17.0], "colour": "white"}
        ),
    ],
    "events": [
        {"id": 0, "type": "appear", "actor": 0, "span": [10.0, 14.0]},
        {"id": 1, "type": "appear", "actor": 3, "span": [13.0, 20.0]},
    ],
}


def _record(query, event=0, relative=False):
    span = WORLD["events"][event]["span"]
    return {"id": "v_g0", "query": query, "span": [span], "event": event, "relative": relative}


def _shapes_named(query):
    """Every (colour, kind) a query names, with any of the generator's words for the kind."""
    return {
        (c, k)
        for c in COLOUR_NAMES
        for k, words in SHAPE_WORDS.items()
        if any(f"{c} {w}" in query for w in words)
    }


def test_named_shape_finds_the_longest_wording():
    assert named_shape("the red diamond shape shows up", "red", "diamond") == "red diamond shape"
    assert named_shape("a blue block appears", "blue", "square") == "blue block"
    assert named_shape("a shape moves to the left", "blue", "square") is None


def test_no_pairs_name_a_shape_nowhere_in_the_zoomed_clip_and_keep_a_word_most_often():
    rng = random.Random(0)
    kept = Counter()
    for n in range(300):
        event = n % 2
        query = "the red circle appears" if event == 0 else "a red wedge is visible"
        yes, no = pair_for(_record(query, event), WORLD, rng)
        assert yes["query"] == query and yes["extra"]["label"] == "Yes"
        assert no["extra"]["label"] == "No" and yes["extra"]["candidate"] == no["extra"]["candidate"]
        window, _ = zoom_window(WORLD["events"][event]["span"], WORLD["duration"], VERIFIER_MIN_LEN)
        shown = _seen(WORLD, window[0] - MARGIN, window[1] + MARGIN)
        (named,) = _shapes_named(no["query"])
        assert named not in shown, (no["query"], shown)
        assert no["query"].split(" ", 1)[0] == query.split(" ", 1)[0]  # only the shape's words change
        kept[named[0] == "red" or named[1] == ("circle" if event == 0 else "triangle")] += 1
    # the recolouring triangle's white phase is in its clip: "white triangle" is never a "No"
    assert ("white", "triangle") in _seen(WORLD, 13.0, 20.0)
    # two thirds keep the colour or the kind on purpose; a few of the others by chance
    assert 0.6 < kept[True] / 300 < 0.9, kept


def test_queries_without_their_shape_and_relative_ones_make_no_pair():
    rng = random.Random(0)
    assert pair_for(_record("a shape appears"), WORLD, rng) is None
    assert pair_for(_record("the red circle appears", relative=True), WORLD, rng) is None
    assert ("green", "star") not in absent_shapes(WORLD, (2.0, 5.0))
    assert ("green", "star") in absent_shapes(WORLD, (20.0, 30.0))


def test_written_pairs_train_the_verifier_on_their_own_labels(synth_root, tmp_path):
    out = tmp_path / "pairs"
    count = write_presence_pairs(synth_root, out, per_video=50, seed=0)
    lines = [json.loads(line) for line in (out / "train.jsonl").read_text().splitlines()]
    assert count == len(lines) > 0 and count % 2 == 0
    assert Counter(line["extra"]["label"] for line in lines) == {"Yes": count // 2, "No": count // 2}
    # every wording of a query comes with both answers: the words alone do not tell the label
    yes = {line["query"] for line in lines if line["extra"]["label"] == "Yes"}
    assert all(line["query"] not in yes for line in lines if line["extra"]["label"] == "No")
    samples = get_source("custom", out).load("train")
    assert len(samples) == count
    for sample, line in zip(samples, lines, strict=True):
        example = verifying_example(sample)
        assert example.response == ("Yes." if line["extra"]["label"] == "Yes" else "No.")
    assert write_presence_pairs(synth_root, tmp_path / "again", per_video=50, seed=0) == count
    assert (tmp_path / "again" / "train.jsonl").read_text().replace(str(tmp_path / "again"), "") == (
        out / "train.jsonl"
    ).read_text().replace(str(out), "")


def test_a_folder_without_grounding_queries_is_refused(tmp_path):
    with pytest.raises(FileNotFoundError, match="run the data stage first"):
        write_presence_pairs(tmp_path, tmp_path / "out")
