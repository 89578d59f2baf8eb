"""bench agent's half-precision agreement rule and decoding-policy sweep (pure functions; no model)."""

from __future__ import annotations

import pytest

from videomind.bench.policy import SCORE_TOLERANCE, SPAN_TOLERANCE, compare_half, sweep

RESULT = {"moments": [[10.0, 20.0, 0.61], [30.0, 40.0, 0.60]], "answer": "A", "response": "A) red"}


def test_half_precision_accepts_noise_and_swapped_near_ties():
    noisy = dict(RESULT, moments=[[30.05, 40.0, 0.605], [10.0, 20.1, 0.60]])
    out = compare_half(RESULT, noisy, duration=60.0)
    assert out["identical_outputs"] is False  # the top-1 moment changed: 10-20 s vs 30-40 s
    same_top = dict(RESULT, moments=[[10.1, 20.0, 0.605], [30.0, 40.05, 0.61]])
    out = compare_half(RESULT, same_top, duration=60.0)
    assert out["identical_outputs"] is True
    assert out["max_span_difference_s"] == pytest.approx(0.1) and out[
        "max_score_difference"
    ] == pytest.approx(0.01)


@pytest.mark.parametrize(
    "change",
    [
        {"answer": "B"},
        {"response": "A) rex"},
        {"moments": [[10.0, 20.0, 0.61]]},
        {"moments": [[10.0, 20.0 + 2 * SPAN_TOLERANCE * 60, 0.61], [30.0, 40.0, 0.60]]},
        {"moments": [[10.0, 20.0, 0.61 + 2 * SCORE_TOLERANCE], [30.0, 40.0, 0.60]]},
    ],
)
def test_half_precision_flags_what_a_user_would_see(change):
    assert compare_half(RESULT, dict(RESULT, **change), duration=60.0)["identical_outputs"] is False


def test_sweep_times_every_policy_and_names_the_default():
    calls = []

    def query(**overrides):
        calls.append(overrides)
        seconds = 2.0 if overrides["prefetch_answer_clips"] else 1.0
        return {
            "seconds": seconds + overrides["decode_threads"],
            "roles": {"answerer": {"seconds": 0.5, "decode": 0.1}},
        }

    out = sweep(query, "cuda")
    assert len(calls) == 4 and all(c["decode_ahead"] for c in calls)
    assert (
        out["fastest"] == "threads=auto,prefetch=off" and out["default_rule"] == "threads=auto,prefetch=off"
    )
    assert out["default_over_fastest"] == 1.0
    assert sweep(query, "cpu")["default_rule"] == "threads=1,prefetch=on"
    assert out["runs"]["threads=1,prefetch=on"]["seconds"] == 3.0
