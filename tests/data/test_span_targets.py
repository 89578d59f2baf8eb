"""Per-sample grounder targets (normalised spans, saliency, positive clip): the oracle case and hand values."""

import random

import pytest
import torch

from tests.conftest import load_expected
from videomind.data.span_targets import grounding_targets
from videomind.errors import UserInputError


def test_grounding_targets_reproduce_the_recorded_training_samples():
    meta = load_expected("train_grounder_short")
    got = grounding_targets(meta["span"], meta["duration"], meta["T"], random.Random(0))
    assert [list(span) for span in got.timestamps_norm] == meta["timestamps"][0]  # [[0.125, 0.4583...]]
    assert got.saliency == meta["saliency"]
    assert got.pos_clip == meta["pos_clip"][0]
    # train_grounder (README s.5d): 16 s, T = 8, spans [2, 5.5] and [9, 14], recorded pos_clip 6
    other = grounding_targets([[2, 5.5], [9, 14]], 16.0, 8, random.Random(0))
    assert other.timestamps_norm == [(0.125, 0.34375), (0.5625, 0.875)]
    assert other.saliency == [0, 1, 1, 0, 0, 1, 1, 0]
    assert other.pos_clip in {1, 2, 5, 6}


# --------------------------------------------------------------------------------------------- targets


def test_grounding_targets_widen_clamp_and_order_spans():
    # 10 s, T = 5 (2 s per token): [10.5, 9.8] -> ordered, clamped to [9.8, 10], widened to 2 s: [8, 10]
    got = grounding_targets([[10.5, 9.8]], 10.0, 5, random.Random(3))
    assert got.timestamps_norm == [(0.8, 1.0)]
    assert got.saliency == [0, 0, 0, 0, 1]
    assert got.pos_clip == 4


def test_pos_clip_draws_uniformly_from_positives_with_the_given_generator():
    spans, duration, steps = [[2, 5.5], [9, 14]], 16.0, 8
    expected = random.Random(7).sample([1, 2, 5, 6], 1)[0]
    assert grounding_targets(spans, duration, steps, random.Random(7)).pos_clip == expected
    draws = [
        grounding_targets(spans, duration, steps, torch.Generator().manual_seed(s)).pos_clip
        for s in range(64)
    ]
    assert set(draws) == {1, 2, 5, 6}
    same = grounding_targets(spans, duration, steps, torch.Generator().manual_seed(5)).pos_clip
    assert same == draws[5]


def test_grounding_targets_reject_unusable_input():
    with pytest.raises(UserInputError):
        grounding_targets([], 10.0, 5)
    with pytest.raises(UserInputError):
        grounding_targets([[1, 2]], 0.0, 5)
