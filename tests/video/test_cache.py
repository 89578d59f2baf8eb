"""Decode once: the frame cache's bounds and tiers, and a four-role query that decodes each frame at most once."""

from __future__ import annotations

import pytest
import torch

from tests.video.test_reader import codes
from videomind.video import (
    ANSWERER_BUDGET,
    GROUNDER_BUDGET,
    PLANNER_BUDGET,
    VERIFIER_BUDGET,
    FrameCache,
    open_video,
)


def test_lru_eviction_and_byte_bound():
    cache = FrameCache(max_bytes=30)
    for i in range(3):
        assert cache.put(i, f"f{i}", 10)
    assert cache.get(0) == "f0"  # 0 becomes the most recent
    assert cache.put(3, "f3", 10)  # evicts 1, the least recently used
    assert 1 not in cache and all(k in cache for k in (0, 2, 3))
    assert cache.nbytes == 30 and cache.stats.evicted == 1
    assert not cache.put(9, "too big", 31) and 9 not in cache
    assert cache.get(1) is None and cache.stats.misses == 1 and cache.stats.hits == 1


def test_passing_frames_never_evict_requested_ones():
    cache = FrameCache(max_bytes=20)
    cache.put("a", 1, 10, requested=True)
    cache.put("b", 2, 10, requested=True)
    assert not cache.put("p", 3, 10, requested=False)  # full of requested frames: the passing one is dropped
    assert cache.nbytes == 20 and "p" not in cache
    cache = FrameCache(max_bytes=20)
    cache.put("p1", 1, 10, requested=False)
    cache.put("p2", 2, 10, requested=False)
    cache.put("p3", 3, 10, requested=False)  # passing frames replace the oldest passing frame
    assert "p1" not in cache and "p3" in cache
    cache.put("r", 4, 20, requested=True)  # a requested frame evicts every passing frame it needs
    assert len(cache) == 1 and "r" in cache
    with pytest.raises(ValueError):
        FrameCache(max_bytes=-1)


def test_hit_promotes_a_passing_frame():
    cache = FrameCache(max_bytes=20)
    cache.put("p", 1, 10, requested=False)
    cache.get("p")
    cache.put("q", 2, 10, requested=False)
    assert cache.put("x", 3, 10, requested=False)  # evicts q, the only passing frame; p is requested now
    assert "p" in cache and "q" not in cache and "x" in cache


def four_role_query(reader):
    """Planner and grounder on the whole video, verifier on two zoomed windows, answerer on a crop."""
    return [
        reader.sample(PLANNER_BUDGET),
        reader.sample(GROUNDER_BUDGET),
        reader.sample(VERIFIER_BUDGET, 3.5, 9.5),
        reader.sample(VERIFIER_BUDGET, 0.0, 4.5),
        reader.sample(ANSWERER_BUDGET, 2.0, 14.0),
    ]


@pytest.mark.parametrize("name", ["h264", "h264_gop8"])
def test_four_role_query_decodes_each_frame_at_most_once(videos, name):
    with open_video(videos[name]) as reader:
        clips = four_role_query(reader)
        assert max(reader.decode_counts.values()) == 1
        assert reader.decoded_frames == len(reader.decode_counts) <= reader.num_frames
        needed = {i for clip in clips for i in clip.indices}
        assert needed <= set(reader.decode_counts)
    for clip in clips:
        assert codes(clip.frames) == list(clip.indices)
    # the answerer's 2 fps over 12 s wants 24 frames: 24 <= 32
    assert len(clips[-1].indices) == 24


def test_readers_sharing_a_cache_do_not_decode_again(videos):
    cache = FrameCache()
    with open_video(videos["h264"], cache=cache) as first:
        first.sample(GROUNDER_BUDGET)
    with open_video(videos["h264"], cache=cache) as second:
        clip = second.sample(VERIFIER_BUDGET, 3.5, 9.5)
        assert second.decoded_frames == 0  # even its first frame came from the cache
    assert codes(clip.frames) == list(clip.indices)


def test_small_cache_bounds_memory_and_stays_correct(videos):
    frame_bytes = 48 * 64 * 3 // 2  # one yuv420p frame of the gop8 video
    cache = FrameCache(max_bytes=5 * frame_bytes)
    with open_video(videos["h264_gop8"], cache=cache) as reader:
        clips = four_role_query(reader)
        assert cache.nbytes <= cache.max_bytes and len(cache) <= 5
        assert (
            max(reader.decode_counts.values()) > 1
        )  # too small to keep everything: some frames decode again
    for clip in clips:
        assert codes(clip.frames) == list(clip.indices)


WINDOWS = [
    (0.0, 9.0),
    (2.0, 11.0),
    (4.0, 13.0),
    (7.0, 16.0),
]  # overlapping, like the verifier's zoomed candidates


def test_prefetch_decodes_overlapping_windows_in_one_pass(videos):
    with open_video(videos["h264_gop8"]) as reader:
        plain = [reader.sample(VERIFIER_BUDGET, s, e) for s, e in WINDOWS]
    with open_video(videos["h264_gop8"]) as reader:
        fetched = reader.prefetch(VERIFIER_BUDGET, WINDOWS)
        after_prefetch = reader.decoded_frames
        clips = [reader.sample(VERIFIER_BUDGET, s, e) for s, e in WINDOWS]
        assert reader.decoded_frames == after_prefetch  # every sampled frame was already there
        assert max(reader.decode_counts.values()) == 1  # one pass: nothing decoded twice
        assert reader.prefetch(VERIFIER_BUDGET, WINDOWS) == 0  # all cached now
    assert fetched == len({i for clip in clips for i in clip.indices} - {0})  # frame 0 was read on opening
    for a, b in zip(plain, clips):
        assert a.indices == b.indices and torch.equal(a.frames, b.frames)


def test_prefetch_is_skipped_when_the_frames_would_not_fit(videos):
    with open_video(videos["h264_gop8"]) as probe:
        frame_bytes = probe._frame_nbytes()
    with open_video(videos["h264_gop8"], cache=FrameCache(max_bytes=8 * frame_bytes)) as reader:
        assert reader.prefetch(VERIFIER_BUDGET, WINDOWS) == 0
        assert reader.decoded_frames == 1  # only the first frame, read on opening
        clip = reader.sample(VERIFIER_BUDGET, *WINDOWS[0])
    assert codes(clip.frames) == list(clip.indices)


@pytest.mark.parametrize("name", ["h264_gop8", "vfr", "odd"])
@pytest.mark.parametrize("chunk", [1, 3, 16])
def test_plan_and_chunks_read_what_sample_reads(videos, name, chunk):
    with open_video(videos[name]) as reader:
        for budget, window in [(GROUNDER_BUDGET, (None, None)), (VERIFIER_BUDGET, WINDOWS[0])]:
            clip = reader.sample(budget, *window)
            plan = reader.plan(budget, *window)
            assert plan.indices == clip.indices and plan.view == clip.view
            assert plan.size == tuple(clip.frames.shape[2:])
            pieces = list(reader.sample_chunks(plan, chunk))
            assert all(len(p) <= chunk for p in pieces)
            assert torch.equal(torch.cat(pieces), clip.frames)


@pytest.mark.parametrize("name", ["h264", "h264_gop8", "mpeg4"])
def test_frames_passed_on_the_way_are_skipped_when_the_cache_could_not_keep_them(videos, name):
    """Non-reference frames nobody asked for are not decoded when the video outgrows the cache; the frames that
    are decoded are the same."""
    results = {}
    for skip in (True, False):
        with open_video(videos[name], cache=FrameCache(max_bytes=4096)) as reader:
            assert reader._skip_passing  # the whole video does not fit in 4 kB
            reader._skip_passing = skip
            clips = four_role_query(reader)
            results[skip] = (reader.decoded_frames, [clip.frames for clip in clips])
        for clip in clips:
            assert codes(clip.frames) == list(clip.indices)
    (skipped, frames), (full, reference) = results[True], results[False]
    assert all(torch.equal(a, b) for a, b in zip(frames, reference))
    assert skipped <= full
    if name != "mpeg4":  # x264's default stream has non-reference B-frames to skip
        assert skipped < full


def test_nothing_is_skipped_while_the_whole_video_fits_in_the_cache(videos):
    with open_video(videos["h264"]) as reader:
        assert not reader._skip_passing
