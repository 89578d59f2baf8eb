"""The verifier's "between the markers" pairs (recipes.marker_pairs): the same query with the event's own span
("Yes") or a window of the same length beside it ("No"), kept only where both zoomed clips put their markers at
about a quarter and three quarters, so that the markers' places and the clip's length tell nothing."""

import json
import random
from collections import Counter

import pytest

from recipes.marker_pairs import (
    MARKER_BOUNDS,
    MAX_GAP,
    NEAR_MISS,
    centred_markers,
    marker_pair,
    write_marker_pairs,
)
from videomind.data import get_source
from videomind.data.conversations import verifying_example
from videomind.spans import temporal_iou

WORLD = {"duration": 60.0}


def _record(span, query="the red circle appears"):
    return {"id": "v_g0", "query": query, "span": [list(span)], "event": 0, "relative": False}


def test_a_no_window_has_the_events_length_and_lies_beside_it():
    rng = random.Random(0)
    sides = Counter()
    for _ in range(200):
        yes, no = marker_pair(_record((24.0, 30.0)), WORLD, rng)
        assert yes["query"] == no["query"] == "the red circle appears"
        assert (yes["extra"]["label"], no["extra"]["label"]) == ("Yes", "No")
        assert yes["extra"]["candidate"] == [24.0, 30.0]
        start, end = no["extra"]["candidate"]
        assert end - start == pytest.approx(6.0, abs=0.02)
        gap = start - 30.0 if start >= 30.0 else 24.0 - end
        assert 0.0 <= gap <= MAX_GAP * 6.0 + 0.01, (start, end)
        sides[start >= 30.0] += 1
    assert sides[True] > 50 and sides[False] > 50  # both sides are drawn


def test_a_near_miss_overlaps_the_event_below_the_official_iou():
    rng = random.Random(0)
    ious = []
    for _ in range(200):
        yes, no = marker_pair(_record((24.0, 30.0)), WORLD, rng, shift=NEAR_MISS)
        start, end = no["extra"]["candidate"]
        assert end - start == pytest.approx(6.0, abs=0.02)
        ious.append(temporal_iou([[start, end]], [[24.0, 30.0]]).item())
    low, high = ((1 - s) / (1 + s) for s in reversed(NEAR_MISS))
    assert all(low - 0.01 <= iou <= high + 0.01 for iou in ious)
    assert max(ious) < 0.5 and min(ious) > 0.0


def test_only_the_side_that_fits_and_none_without_one():
    rng = random.Random(0)
    for _ in range(50):
        # the window before would start before 0 s: the "No" is after the event
        pair = marker_pair(_record((5.0, 9.0)), {"duration": 40.0}, rng)
        assert pair == () or pair[1]["extra"]["candidate"][0] >= 9.0
    assert marker_pair(_record((0.0, 35.0)), {"duration": 40.0}, rng) is None


def test_pairs_whose_clip_would_be_clamped_are_dropped():
    # the event ends at the video's end: its zoomed clip cannot extend past it, its markers move out
    assert not centred_markers((50.0, 60.0), 60.0)
    assert centred_markers((24.0, 30.0), 60.0)
    assert marker_pair(_record((50.0, 60.0)), WORLD, random.Random(0)) == ()


def test_written_pairs_load_as_verifier_examples_with_centred_markers(synth_root, tmp_path):
    kinds = {json.loads(line)["event_type"] for line in (synth_root / "train_grounding.jsonl").open()}
    out = tmp_path / "pairs"
    count = write_marker_pairs(synth_root, out, per_video=50, event_types=sorted(kinds))
    lines = [json.loads(line) for line in (out / "train.jsonl").read_text().splitlines()]
    assert count == len(lines) > 0 and count % 2 == 0
    assert Counter(line["extra"]["label"] for line in lines) == {"Yes": count // 2, "No": count // 2}
    samples = get_source("custom", out).load("train")
    examples = [verifying_example(sample) for sample in samples]
    for line, example in zip(lines, examples, strict=True):
        assert example.response == ("Yes." if line["extra"]["label"] == "Yes" else "No.")
        assert MARKER_BOUNDS[0] <= example.segment[0] <= example.segment[1] <= MARKER_BOUNDS[1]
    for yes, no in zip(lines[::2], lines[1::2], strict=True):
        assert yes["id"].removesuffix("#yes") == no["id"].removesuffix("#no") and yes["query"] == no["query"]
    # one event type only: the pairs are that type's queries
    some = sorted(kinds)[0]
    write_marker_pairs(synth_root, tmp_path / "one", per_video=50, event_types=[some])
    types = {
        json.loads(line)["id"]: json.loads(line)["event_type"]
        for line in (synth_root / "train_grounding.jsonl").open()
    }
    one = [json.loads(line) for line in (tmp_path / "one" / "train.jsonl").read_text().splitlines()]
    assert all(types[line["id"].split("#")[0]] == some for line in one)
    assert (
        write_marker_pairs(synth_root, tmp_path / "again", per_video=50, event_types=sorted(kinds)) == count
    )
