"""The official sampler as pure functions: a hand-computed index table, the oracle's recorded indices, resize sizes."""

from __future__ import annotations

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from tests.conftest import load_expected
from videomind.video import ANSWERER_BUDGET, GROUNDER_BUDGET, PLANNER_BUDGET, VERIFIER_BUDGET, FrameBudget
from videomind.video.errors import SamplingError
from videomind.video.sampling import (
    SamplingParams,
    nearest_frame,
    sample_indices,
    sample_indices_by_time,
    smart_nframes,
    smart_resize,
)

# (num_frames, fps, budget, start, end, expected indices); arithmetic in the comments.
# F' = min(max(4, round((e - s) * r)), F);  n = even(clamp(F' / r * fps, min, max));  linspace(s_idx, e_idx, n).
HAND_TABLE = [
    # 16 s at 4 fps, grounder (1 fps): F' = 64, n = 64 / 4 * 1 = 16, step 63 / 15 = 4.2:
    # 0, 4.2, 8.4, 12.6, 16.8, 21, 25.2, 29.4, 33.6, 37.8, 42, 46.2, 50.4, 54.6, 58.8, 63
    (64, 4.0, GROUNDER_BUDGET, None, None, [0, 4, 8, 13, 17, 21, 25, 29, 34, 38, 42, 46, 50, 55, 59, 63]),
    # window [0.625, 5.125]: s*r = 2.5 -> round -> 2 (banker's; half-up would give 3), e*r = 20.5 -> 20;
    # F' = round(4.5 * 4) = 18, n = 18 / 4 * 2 = 9 -> round(4.5) * 2 = 8 (banker's again);
    # linspace(2, 20, 8) step 18/7 = 2.571: 2, 4.571, 7.143, 9.714, 12.286, 14.857, 17.429, 20
    (64, 4.0, VERIFIER_BUDGET, 0.625, 5.125, [2, 5, 7, 10, 12, 15, 17, 20]),
    # window [12, 20] runs past the 16 s end: e_idx = min(80, 63) = 63, but the budget uses the unclamped
    # window: F' = round(8 * 4) = 32 -> n = 32 / 4 * 2 = 16 (clamped window would give 16 frames -> n = 8);
    # linspace(48, 63, 16) steps by exactly 1
    (64, 4.0, VERIFIER_BUDGET, 12.0, 20.0, list(range(48, 64))),
    # short window [2, 2.5]: F' = max(4, round(2.0)) = 4, n = max(4 / 4 * 2, 4) = 4; linspace(8, 10, 4) =
    # 8, 8.667, 9.333, 10 -> a frame repeats
    (64, 4.0, VERIFIER_BUDGET, 2.0, 2.5, [8, 9, 9, 10]),
    # start after end: frames 40 and 20 swap; F' = max(4, round(-20)) = 4 -> n = 4; linspace(20, 40, 4) =
    # 20, 26.67, 33.33, 40
    (64, 4.0, VERIFIER_BUDGET, 10.0, 5.0, [20, 27, 33, 40]),
    # 10 min at 30 fps, planner: n = 18000 / 30 * 1 = 600 -> max 100; step 17999 / 99 = 181.808:
    # 0, 181.8, 363.6, 545.4, ... 17999
    (18000, 30.0, PLANNER_BUDGET, None, None, "planner_10min"),
    # answerer, 60 s window [300, 360] at 30 fps: s_idx 9000, e_idx 10800, F' = 1800, n = 1800/30*2 = 120 -> 32;
    # step 1800 / 31 = 58.065: 9000, 9058.06, 9116.13, 9174.19, ... 10800
    (18000, 30.0, ANSWERER_BUDGET, 300.0, 360.0, "answerer_window"),
    # explicit nframes = 5 -> round(2.5) * 2 = 4; linspace(0, 63, 4) = 0, 21, 42, 63
    (64, 4.0, {"nframes": 5}, None, None, [0, 21, 42, 63]),
    # odd bounds: min_frames 5 -> 6 (ceil to even), max_frames 7 -> 6 (floor to even); 2 s window at 1 fps
    # wants 2 -> 6; linspace(0, 8, 6) = 0, 1.6, 3.2, 4.8, 6.4, 8
    (64, 4.0, FrameBudget(1.0, 7, 1, 1, min_frames=5), 0.0, 2.0, [0, 2, 3, 5, 6, 8]),
]


@pytest.mark.parametrize("num_frames,fps,budget,start,end,expected", HAND_TABLE)
def test_index_table_computed_by_hand(num_frames, fps, budget, start, end, expected):
    got = sample_indices(num_frames, fps, budget, start, end)
    if expected == "planner_10min":
        assert len(got) == 100
        assert got[:4] == [0, 182, 364, 545] and got[-1] == 17999
    elif expected == "answerer_window":
        assert len(got) == 32
        assert got[:4] == [9000, 9058, 9116, 9174] and got[-1] == 10800
    else:
        assert got == expected


@pytest.mark.parametrize(
    "case,num_frames,budget,window",
    [
        ("grounder", 64, GROUNDER_BUDGET, (None, None)),  # video16s.mp4: 16 s at 4 fps
        ("planner", 64, PLANNER_BUDGET, (None, None)),
        ("train_grounder_short", 24, GROUNDER_BUDGET, (None, None)),  # video6s.mp4: 6 s at 4 fps
        ("verifier_A", 64, VERIFIER_BUDGET, "window_s1e1"),
        ("verifier_B", 64, VERIFIER_BUDGET, "window_s1e1"),
    ],
)
def test_oracle_recorded_frame_indices(case, num_frames, budget, window):
    expected = load_expected(case)
    start, end = expected[window] if isinstance(window, str) else window
    assert sample_indices(num_frames, 4.0, budget, start, end) == expected["frame_indices"]


def test_errors_of_the_official_rule():
    # 3 frames at 8 fps: F' = min(max(4, 3), 3) = 3 but at least 4 frames are wanted -> error
    with pytest.raises(SamplingError, match="nframes should be in"):
        sample_indices(3, 8.0, GROUNDER_BUDGET)
    # nframes = 1 -> round(0.5) * 2 = 0 -> error
    with pytest.raises(SamplingError):
        sample_indices(64, 4.0, {"nframes": 1})
    # a 1 fps video sampled at 2 fps: 20 frames, n = 20 / 1 * 2 = 40 -> 32 > 20 -> error
    with pytest.raises(SamplingError):
        sample_indices(20, 1.0, ANSWERER_BUDGET)
    with pytest.raises(SamplingError, match="either fps or nframes"):
        SamplingParams.of({"fps": 1.0, "nframes": 4})
    with pytest.raises(SamplingError):
        sample_indices(0, 4.0, GROUNDER_BUDGET)


def test_lenient_mode_repeats_or_trims_instead_of_failing():
    # 3 frames: every frame once, rounded down to even -> 2 frames spanning the video: linspace(0, 2, 2)
    assert sample_indices(3, 8.0, GROUNDER_BUDGET, strict=False) == [0, 2]
    # 1 frame: the frame twice
    assert sample_indices(1, 8.0, GROUNDER_BUDGET, strict=False) == [0, 0]
    # 1 fps video at 2 fps: 20 frames available -> all 20
    assert sample_indices(20, 1.0, ANSWERER_BUDGET, strict=False) == list(range(20))
    # an explicit nframes that rounds to 0 stays an error
    with pytest.raises(SamplingError):
        sample_indices(64, 4.0, {"nframes": 1}, strict=False)


def test_smart_nframes_default_max_is_the_window():
    # no max_frames given: min(768, F') = 10 -> 10 / 1 * 2 = 20 clamps to 10
    assert smart_nframes(SamplingParams(fps=2.0), total_frames=10, video_fps=1.0) == 10


def test_smart_resize_cases():
    # 854x480, 36-64 tokens: rounds to 476x840 (30.5 -> 30), too big: beta = sqrt(480*854/50176) = 2.858,
    # 480/2.858 = 167.9 -> 140, 854/2.858 = 298.8 -> 280 (REFERENCE.md s.7.1 example)
    assert smart_resize(480, 854, 36 * 784, 64 * 784) == (140, 280)
    # 56x56 at 36-64 tokens: 3136 < 28224 -> beta = 3 -> 168x168
    assert smart_resize(56, 56, 36 * 784, 64 * 784) == (168, 168)
    # official order: min first (100x100 -> 224x224 = 50176 >= 50000), then max wins: 40000 -> beta = 0.5,
    # 200 -> 196 (floor to 28). qwen-vl-utils' order would have returned 224x224.
    assert smart_resize(100, 100, 50_000, 40_000) == (196, 196)
    # within bounds: only rounding to multiples of 28 (banker's: 70/28 = 2.5 -> 2)
    assert smart_resize(70, 140, 28 * 28, 10**6) == (56, 140)
    with pytest.raises(SamplingError, match="aspect ratio"):
        smart_resize(1, 201, 1, 10**6)


def test_time_sampling_follows_real_timestamps():
    times = [0.0, 0.1, 0.2, 0.5, 0.6, 1.0, 1.1, 1.15, 1.2, 2.0]
    # 4 frames over [0, 2]: grid 0, 0.667, 1.333, 2 -> nearest frames 0 (0.0), 4 (0.6), 8 (1.2), 9 (2.0);
    # the index rule would take linspace(0, 9, 4) = 0, 3, 6, 9 (times 0, 0.5, 1.1, 2.0)
    assert sample_indices_by_time(times, 5.0, {"nframes": 4}, 0.0, 2.0) == [0, 4, 8, 9]
    assert nearest_frame(times, 0.15) == 1  # tie between 0.1 and 0.2 -> the earlier
    assert nearest_frame(times, -3) == 0 and nearest_frame(times, 9) == 9


@settings(max_examples=60, deadline=None)
@given(
    num_frames=st.integers(8, 3000),
    fps=st.sampled_from([1.0, 2.0, 3.0, 8.0, 24.0, 30.0]),
    a=st.floats(0, 1),
    b=st.floats(0, 1),
)
def test_time_rule_equals_index_rule_on_constant_rate(num_frames, fps, a, b):
    """On a constant-rate video the timestamp rule picks the official indices (up to exact rounding ties)."""
    times = [i / fps for i in range(num_frames)]
    duration = num_frames / fps
    start, end = sorted((a * duration, b * duration))
    official = sample_indices(num_frames, fps, VERIFIER_BUDGET, start, end, strict=False)
    ours = sample_indices_by_time(times, fps, VERIFIER_BUDGET, start, end, strict=False)
    assert len(ours) == len(official)
    assert max(abs(x - y) for x, y in zip(ours, official)) <= 1  # a one-frame difference only from a .5 tie
