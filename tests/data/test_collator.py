"""Tokenised items and batches: labels masked from token ids, segment tokens, grounder targets, padding."""

import logging
import random

import pytest
import torch
from safetensors.torch import load_file

from tests.conftest import ORACLE, load_expected
from videomind import prompts
from videomind.data.collator import IGNORE_INDEX, Collator, encode_example, find_last, mask_labels
from videomind.data.conversations import grounding_example, planning_example, verifying_example
from videomind.errors import DataError
from videomind.model.processor import VideoMindProcessor
from videomind.records import Sample


@pytest.fixture(scope="module")
def oracle_processor():
    return VideoMindProcessor.from_pretrained(ORACLE / "tiny-videomind")


@pytest.fixture(scope="module")
def tiny_processor():
    from videomind.model.tiny import build_tiny_tokenizer

    return VideoMindProcessor(build_tiny_tokenizer())


def frames(n=4, size=56, value=100):
    return torch.full((n, 3, size, size), value, dtype=torch.uint8)


def test_mask_labels_by_hand():
    header = [7, 8, 9]
    ids = [1, 7, 8, 9, 2, 3, 7, 8, 9, 4, 5, 6]  # two assistant headers: only the last reply is supervised
    assert mask_labels(ids, header) == [IGNORE_INDEX] * 9 + [4, 5, 6]
    assert find_last(ids, header) == 6 and find_last(ids, [9, 9]) == -1
    with pytest.raises(DataError, match="no assistant header"):
        mask_labels([1, 2, 3], header)
    with pytest.raises(DataError, match="empty"):
        mask_labels([1, 7, 8, 9], header)


def test_labels_of_a_hand_checked_grounder_item(tiny_processor):
    proc = tiny_processor
    ex = grounding_example(Sample(id="g", source="t", video="v", duration=8.0, query="the red circle",
                                  spans=[(2.0, 4.0)]))  # fmt: skip
    item = encode_example(ex, frames(4), proc, rng=random.Random(0))
    ids, labels = item["input_ids"].tolist(), item["labels"].tolist()
    tok = proc.tokenizer
    header = tok.encode("<|im_start|>assistant\n", add_special_tokens=False)
    reply = tok.encode(prompts.GROUNDER_RESPONSE, add_special_tokens=False) + [proc.im_end_id]
    # the sequence ends with header + reply (the final newline is stripped) and exactly the reply is supervised
    assert ids[-len(reply) - len(header) :] == header + reply
    assert labels == [IGNORE_INDEX] * (len(ids) - len(reply)) + reply
    assert (
        proc.decode([t for t in labels if t != IGNORE_INDEX])
        == "The relevant moment happens in <|reg|>.<|im_end|>"
    )
    # 4 frames of 56x56 -> T = 2 temporal tokens of 2x2 merged patches: 8 video pads
    assert item["video_grid_thw"].tolist() == [[2, 4, 4]]
    assert ids.count(proc.video_token_id) == 8
    # T = 2 over 8 s: one token is 4 s, so the 2 s span (2, 4) is widened to 4 s around its centre: (1, 5);
    # rate 0.25 token/s -> saliency indices ceil(0.25) .. ceil(1.25) - 1 = [1]
    assert (
        item["timestamps"] == [[[0.125, 0.625]]] and item["saliency"] == [0.0, 1.0] and item["pos_clip"] == 1
    )


def test_grounder_item_equals_the_official_training_input(oracle_processor):
    """The oracle's train_grounder_short: ids, labels, pixels and head targets built by the official code."""
    inputs = load_file(str(ORACLE / "inputs" / "train_grounder_short.safetensors"))
    meta = load_expected("train_grounder_short")
    s = Sample(
        id="o", source="t", video="v", duration=meta["duration"], query=meta["query"], spans=meta["span"]
    )
    item = encode_example(grounding_example(s), inputs["video_frames_uint8"], oracle_processor,
                          rng=random.Random(0))  # fmt: skip
    assert torch.equal(item["input_ids"], inputs["input_ids"][0])
    assert torch.equal(item["labels"], inputs["labels"][0])
    assert int((item["labels"] != IGNORE_INDEX).sum()) == meta["num_supervised_labels"] == 9
    assert torch.equal(item["pixel_values_videos"], inputs["pixel_values_videos"])
    assert torch.equal(item["video_grid_thw"], inputs["video_grid_thw"])
    assert item["timestamps"] == meta["timestamps"]
    assert item["saliency"] == inputs["saliency"].tolist() and item["pos_clip"] == meta["pos_clip"][0]


def test_verifier_item_matches_the_official_input_and_ignores_segment_tokens(oracle_processor):
    """verifier_A: our training item starts with exactly the official verifier input (segment tokens inserted
    at the recorded indices); the reply "Yes." + <|im_end|> follows, the inserted tokens are never supervised."""
    inputs = load_file(str(ORACLE / "inputs" / "verifier_A.safetensors"))
    meta = load_expected("verifier_A")
    s = Sample(id="v", source="t", video="v", duration=meta["duration"], query=meta["question"],
               spans=[meta["candidate"]], extra={"candidate": meta["candidate"]})  # fmt: skip
    ex = verifying_example(s)
    assert ex.window == tuple(meta["window_s1e1"]) and ex.segment == (meta["ss"], meta["se"])
    item = encode_example(ex, inputs["video_frames_uint8"], oracle_processor)
    ids, labels = item["input_ids"].tolist(), item["labels"].tolist()
    official = inputs["input_ids"][0].tolist()
    assert ids[: len(official)] == official
    special = oracle_processor.special_token_ids()
    assert ids[meta["seg_start_index"]] == special["seg_s_token_id"]
    assert ids[meta["seg_end_index"]] == special["seg_e_token_id"]
    assert labels[meta["seg_start_index"]] == labels[meta["seg_end_index"]] == IGNORE_INDEX
    reply = oracle_processor.tokenizer.encode("Yes.", add_special_tokens=False) + [oracle_processor.im_end_id]
    assert ids[len(official) :] == reply and labels == [IGNORE_INDEX] * len(official) + reply
    assert "timestamps" not in item


def test_collator_right_pads_and_carries_grounder_targets(tiny_processor):
    proc = tiny_processor
    g = encode_example(grounding_example(Sample(id="g", source="t", video="v", duration=8.0, query="a b",
                                                spans=[(0.0, 8.0)])), frames(4), proc)  # fmt: skip
    p = encode_example(planning_example(Sample(id="p", source="t", video="v", question="What happens here?",
                                               extra={"route": 4})), frames(8), proc)  # fmt: skip
    batch = Collator(proc)([g, p])
    lg, lp = len(g["input_ids"]), len(p["input_ids"])
    length = max(lg, lp)
    assert batch["input_ids"].shape == batch["labels"].shape == (2, length)
    short = 0 if lg < lp else 1
    n = min(lg, lp)
    assert batch["input_ids"][short, n:].eq(proc.pad_token_id).all()
    assert batch["labels"][short, n:].eq(IGNORE_INDEX).all()
    assert batch["attention_mask"].sum(1).tolist() == [lg, lp]
    assert batch["mm_token_type_ids"].eq(2).sum().item() == (batch["input_ids"] == proc.video_token_id).sum()
    assert batch["video_grid_thw"].tolist() == [[2, 4, 4], [4, 4, 4]]
    assert batch["pixel_values_videos"].shape[0] == 2 * 16 + 4 * 16
    assert batch["timestamps"] == [[[[0.0, 1.0]]], None] and batch["pos_clip"][1] is None
    assert "timestamps" not in Collator(proc)([p])


def test_collator_cuts_long_text_but_never_video(tiny_processor, caplog):
    proc = tiny_processor
    item = encode_example(planning_example(Sample(id="p", source="t", video="v", question="Why?",
                                                  extra={"route": 4})), frames(4), proc)  # fmt: skip
    vision_end = item["input_ids"].tolist().index(proc.vision_end_id)
    with caplog.at_level(logging.WARNING):
        batch = Collator(proc, max_length=vision_end + 5)([item])
    assert batch["input_ids"].shape[1] == vision_end + 5 and "cutting" in caplog.text
    with pytest.raises(DataError, match="video tokens"):
        Collator(proc, max_length=vision_end)([item])


def test_answer_letter_weight_marks_the_letter_and_pads_with_ones(tiny_processor):
    from dataclasses import replace

    from videomind.data.conversations import ExampleSettings, answering_example

    sample = Sample(id="q", source="t", video="v", duration=8.0, question="What colour is the star?",
                    options=("red", "blue", "green", "white"), answer="C")  # fmt: skip
    plain = answering_example(sample)
    weighted = answering_example(sample, ExampleSettings(answer_letter_weight=5.0))
    assert plain.letter_weight == 1.0 and weighted.letter_weight == 5.0
    # only multiple-choice replies have a letter to weigh
    free = replace(sample, options=(), answer="green")
    assert answering_example(free, ExampleSettings(answer_letter_weight=5.0)).letter_weight == 1.0

    assert "label_weights" not in encode_example(plain, frames(4), tiny_processor)
    item = encode_example(weighted, frames(4), tiny_processor)
    weights, labels = item["label_weights"], item["labels"]
    (heavy,) = (weights != 1.0).nonzero().flatten().tolist()
    assert weights[heavy] == 5.0 and tiny_processor.tokenizer.decode([int(labels[heavy])]) == "C"
    assert labels[heavy - 1] != IGNORE_INDEX  # inside the reply ("Best Option: (C) Green")

    other = encode_example(plain, frames(4), tiny_processor)
    batch = Collator(tiny_processor)([other, item])
    assert batch["label_weights"].shape == batch["labels"].shape
    assert batch["label_weights"][0].eq(1.0).all()
    assert batch["label_weights"][1].sum() == batch["labels"].shape[1] - 1 + 5.0

    broken = replace(weighted, response="Green", letter_weight=5.0)  # no "(" before any supervised token
    with pytest.raises(DataError, match="no answer letter"):
        encode_example(broken, frames(4), tiny_processor)
