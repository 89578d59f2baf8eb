"""Mixed training sets: filters, repeats, task choice, the data-type sampler and the reading dataset."""

import json
from itertools import pairwise

import pytest
import torch

from videomind.data.conversations import ExampleSettings, RoleExample
from videomind.data.mixing import (
    ClipCache,
    GroupSampler,
    RoleDataset,
    SampleFilter,
    SourceSpec,
    build_mix,
    cap_negatives,
    load_samples,
    repeat_samples,
    task_of,
)
from videomind.errors import DataError
from videomind.records import Sample
from videomind.video.budget import FrameBudget

SMALL = FrameBudget.from_tokens(fps=1.0, max_frames=8, min_tokens=1, max_tokens=4)
SETTINGS = ExampleSettings(budgets={t: SMALL for t in ("grounding", "verifying", "planning", "answering")})


@pytest.fixture(scope="module")
def synth(tmp_path_factory):
    from videomind.data.synthetic import make_dataset

    out = tmp_path_factory.mktemp("mix") / "synthetic"
    make_dataset(out, 2, seed=0, preset="easy", splits=("train",), size=(56, 56), duration=(8.0, 10.0))
    return out


@pytest.fixture(scope="module")
def processor():
    from videomind.model.processor import VideoMindProcessor
    from videomind.model.tiny import build_tiny_tokenizer

    return VideoMindProcessor(build_tiny_tokenizer())


def s(**kw):
    return Sample(**{"id": "x", "source": "t", **kw})


def test_sample_filter_by_length_and_words():
    f = SampleFilter(min_video_len=5, max_video_len=500, min_num_words=2, max_num_words=4)
    assert f.keep(s(duration=10.0, query="a red circle"))
    assert not f.keep(s(duration=4.0, query="a red circle"))  # too short
    assert not f.keep(s(duration=501.0, query="a red circle"))  # too long
    assert not f.keep(s(duration=10.0, query="circle"))  # 1 word
    assert not f.keep(s(duration=10.0, question="what is the red circle doing"))  # 6 words
    assert f.keep(s(query="a red circle"))  # unknown duration is kept (as officially)
    assert SampleFilter().keep(s(duration=0.1, query="x"))  # -1 = off


def test_repeat_samples():
    items = [s(id=str(i)) for i in range(10)]
    assert repeat_samples(items, 2.0, 0) == items * 2
    half = repeat_samples(items, 0.5, 0)
    assert len(half) == 5 and len({x.id for x in half}) == 5 and half == repeat_samples(items, 0.5, 0)
    assert len(repeat_samples(items, 1.3, 1)) == 13
    with pytest.raises(DataError):
        repeat_samples(items, -1.0, 0)


def test_cap_negatives_keeps_every_positive_and_at_most_ratio_negatives_per_positive():
    labels = ["Yes", "No", "No", "No", "Yes", "No", "No", "No", "No", "No"]
    items = [s(id=str(i), extra={"label": label}) for i, label in enumerate(labels)]
    one = cap_negatives(items, 1.0, seed=0)
    assert [x.extra["label"] for x in one].count("Yes") == 2 and len(one) == 4
    assert [int(x.id) for x in one] == sorted(int(x.id) for x in one)  # original order
    assert one == cap_negatives(items, 1.0, seed=0) and one != cap_negatives(items, 1.0, seed=5)
    assert len(cap_negatives(items, 1.5, seed=0)) == 5
    assert cap_negatives(items, 10.0, seed=0) == items  # fewer negatives than the cap: all kept
    with pytest.raises(DataError):
        cap_negatives(items, -1.0, seed=0)


def test_max_negative_ratio_caps_verifier_data_from_predictions(tmp_path):
    # official-format grounder predictions: of the five candidates, the first is right (IoU >= 0.5), four are not
    line = {"video_path": "v.mp4", "duration": 30.0, "query": "the red circle appears", "span": [[10.0, 20.0]],
            "pred": [[10.0, 19.0], [0.0, 5.0], [22.0, 28.0], [1.0, 9.0], [25.0, 30.0]]}  # fmt: skip
    path = tmp_path / "pred.jsonl"
    path.write_text("\n".join(json.dumps({**line, "query": f"q{i}"}) for i in range(4)) + "\n")
    every = load_samples(SourceSpec("x", predictions=str(path)))
    assert [x.extra["label"] for x in every].count("Yes") == 4 and len(every) == 20
    capped = load_samples(SourceSpec("x", predictions=str(path), max_negative_ratio=2.0))
    assert [x.extra["label"] for x in capped].count("Yes") == 4 and len(capped) == 12
    with pytest.raises(DataError, match="predictions"):
        load_samples(SourceSpec("synthetic", max_negative_ratio=1.0))


def test_task_of():
    assert task_of(SourceSpec("synthetic", kind="caption", task="timing"), "base") == "timing"
    assert task_of(SourceSpec("qvhighlights"), "grounder") == "grounding"
    assert task_of(SourceSpec("qvhighlights", predictions="p.jsonl"), "verifier") == "verifying"
    assert task_of(SourceSpec("synthetic", kind="mcq"), "base") == "answering"
    assert task_of(SourceSpec("nextgqa"), "base") == "answering"  # a grounded-QA source


def test_group_sampler_keeps_one_data_type_per_group():
    types = ["g"] * 5 + ["m"] * 3
    sampler = GroupSampler(types, group_size=2, seed=3)
    keys = list(sampler)
    assert len(keys) == len(sampler) == 6  # incomplete chunks (one "g", one "m") are dropped
    indices = [i for i, _ in keys]
    assert len(set(indices)) == 6 and all(epoch == 0 for _, epoch in keys)
    for a, b in zip(indices[::2], indices[1::2]):
        assert types[a] == types[b]
    assert keys == list(GroupSampler(types, 2, seed=3))  # deterministic
    sampler.set_epoch(1)
    other = list(sampler)
    assert all(epoch == 1 for _, epoch in other) and [i for i, _ in other] != indices


def test_group_sampler_shuffles_across_epochs():
    sampler = GroupSampler(["a"] * 40, group_size=4)
    orders = set()
    for epoch in range(3):
        sampler.set_epoch(epoch)
        orders.add(tuple(i for i, _ in sampler))
    assert len(orders) == 3 and all(sorted(o) == list(range(40)) for o in orders)


def test_clip_cache_evicts_oldest_by_bytes():
    cache = ClipCache(max_bytes=250)
    a, b, c = (torch.zeros(100, dtype=torch.uint8) for _ in range(3))
    cache.put("a", a)
    cache.put("b", b)
    assert cache.get("a") is a  # "a" becomes the most recent
    cache.put("c", c)  # 300 bytes > 250: "b" goes
    assert cache.get("b") is None and cache.get("a") is a and cache.get("c") is c
    cache.put("big", torch.zeros(300, dtype=torch.uint8))  # larger than the cache: not stored
    assert cache.get("big") is None


def test_build_mix_reads_and_filters_synthetic(synth):
    root = str(synth)
    specs = [
        SourceSpec("synthetic", root=root, kind="grounding"),
        SourceSpec("synthetic", root=root, kind="mcq"),
    ]
    mix = build_mix(specs, "base", SETTINGS, SampleFilter(max_num_words=12), seed=0)
    assert {e.task for e in mix} == {"grounding", "answering"}
    assert all(len(e.prompt) > 0 for e in mix)
    with pytest.raises(DataError, match="empty"):
        build_mix(specs[:1], "grounder", SETTINGS, SampleFilter(max_video_len=1))


def test_role_dataset_encodes_grounding_and_verifying(synth, processor):
    root = str(synth)
    mix = build_mix(
        [SourceSpec("synthetic", root=root, kind="grounding")], "grounder", SETTINGS, SampleFilter()
    )
    mix += build_mix(
        [SourceSpec("synthetic", root=root, kind="verifying")], "verifier", SETTINGS, SampleFilter()
    )
    ds = RoleDataset(mix, processor, cache_mb=16)
    g = ds[0]
    assert g["video_grid_thw"][0, 0] * 4 == (g["input_ids"] == processor.video_token_id).sum()
    assert len(g["saliency"]) == int(g["video_grid_thw"][0, 0]) and "timestamps" in g
    v = ds[(len(ds) - 1, 0)]
    seg = processor.special_token_ids()
    # once inserted among the visual tokens, twice named in the prompt text
    assert (v["input_ids"] == seg["seg_s_token_id"]).sum() == 3 and (
        v["input_ids"] == seg["seg_e_token_id"]
    ).sum() == 3
    assert ds[(0, 0)]["pos_clip"] == ds[(0, 0)]["pos_clip"]  # draws depend on (index, epoch) only
    assert set(ds.data_types) == {"grounding", "multimodal"}


def test_cached_clips_are_served_without_the_video(synth, processor, tmp_path):
    import shutil

    video = tmp_path / "copy.mp4"
    shutil.copy(next((synth / "videos").glob("*.mp4")), video)
    example = RoleExample(id="c", task="planning", video=str(video), prompt="p", response='[{"type": "answerer"}]',
                          budget=SMALL, duration=8.0)  # fmt: skip
    ds = RoleDataset([example], processor, cache_mb=4, max_retries=0)
    first = ds[0]
    video.unlink()
    assert torch.equal(ds[0]["pixel_values_videos"], first["pixel_values_videos"])
    with pytest.raises(DataError):
        RoleDataset([example], processor, max_retries=0)[0]  # no cache: must read


def test_role_dataset_retries_unreadable_videos(synth, processor, tmp_path):
    root = str(synth)
    good = build_mix(
        [SourceSpec("synthetic", root=root, kind="grounding")], "grounder", SETTINGS, SampleFilter()
    )
    broken = RoleExample(id="bad", task="grounding", video=str(tmp_path / "missing.mp4"), prompt="p",
                         response="The relevant moment happens in <|reg|>.", budget=SMALL, duration=8.0,
                         spans=((1.0, 2.0),), data_type="grounding")  # fmt: skip
    ds = RoleDataset([broken] + good[:2], processor, max_retries=10, seed=0)
    item = ds[0]  # falls back to a readable example of the same data type
    assert item["input_ids"].numel() > 0
    assert ds.skip_summary() is None or ds.skip_summary().startswith("1 unreadable")
    with pytest.raises(DataError, match="bad"):
        RoleDataset([broken], processor, max_retries=2)[0]


def test_pairwise_groups_are_whole_chunks():
    types = ["a", "b"] * 8
    keys = [i for i, _ in GroupSampler(types, group_size=4, seed=0)]
    chunks = [keys[i : i + 4] for i in range(0, len(keys), 4)]
    for chunk in chunks:
        assert len({types[i] for i in chunk}) == 1
    assert all(x != y for x, y in pairwise(keys))


def test_skipped_examples_warn_once_and_are_summarised(synth, processor, tmp_path, caplog):
    good = build_mix(
        [SourceSpec("synthetic", root=str(synth), kind="grounding")], "grounder", SETTINGS, SampleFilter()
    )
    broken = [RoleExample(id=f"bad{i}", task="grounding", video=str(tmp_path / f"missing{i}.mp4"), prompt="p",
                          response="The relevant moment happens in <|reg|>.", budget=SMALL, duration=8.0,
                          spans=((1.0, 2.0),), data_type="grounding") for i in range(3)]  # fmt: skip
    ds = RoleDataset(broken + good[:1], processor, max_retries=10, seed=0)
    with caplog.at_level("DEBUG", logger="videomind.data.mixing"):
        for i in range(3):
            ds[i]
    warnings = [r for r in caplog.records if r.levelname == "WARNING"]
    assert len(warnings) == 1 and "counted and summarised" in warnings[0].getMessage()
    assert sum(ds.skipped.values()) >= 3
    assert ds.skip_summary().startswith(f"{sum(ds.skipped.values())} unreadable examples were skipped")
