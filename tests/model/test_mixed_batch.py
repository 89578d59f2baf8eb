"""The grounding head's loss on a batch mixing rows with and without videos (the collator concatenates the grids
of the rows that have a video only, so grids must be found per video, not per batch row)."""

import random

import pytest
import torch

from videomind.data.collator import Collator, encode_example, mask_labels
from videomind.data.conversations import grounding_example, planning_example
from videomind.model.modeling import first_grid_rows
from videomind.records import Sample


def _frames(n, height, width, seed):
    gen = torch.Generator().manual_seed(seed)
    return torch.randint(0, 256, (n, 3, height, width), generator=gen, dtype=torch.uint8)


def _text_only(processor):
    text = "<|im_start|>user\nSay hi.<|im_end|>\n<|im_start|>assistant\nhi<|im_end|>"
    ids = processor([text])["input_ids"][0].tolist()
    return {
        "input_ids": torch.tensor(ids),
        "labels": torch.tensor(mask_labels(ids, processor.assistant_header_ids())),
    }


def _head_losses(model, batch):
    with torch.no_grad():
        out = model(**batch)
    return {k: v for k, v in out.items() if k not in ("loss", "loss_lm")}


def test_first_grid_rows_skip_rows_without_a_video():
    pad = 7
    grids = torch.tensor([[1, 2, 2], [2, 2, 2], [1, 2, 4]])  # 1, 2 and 2 frame tokens with merge 2
    ids = torch.tensor([[5, 7, 0, 0], [5, 1, 1, 1], [7, 0, 7, 0], [7, 7, 1, 1]])
    assert first_grid_rows(ids, grids, video_pad=pad, merge=2) == [0, None, 1, 2]
    with pytest.raises(ValueError, match="do not add up"):
        first_grid_rows(ids[:1], grids[1:2], video_pad=pad, merge=2)


def test_head_loss_of_a_mixed_batch_equals_the_grounding_rows_own(tiny):
    model, processor = tiny
    model.eval()
    sample = Sample(id="g", source="t", video="v", duration=8.0, query="the red circle", spans=[(2.0, 4.0)])
    # 8 frames of 28x56: T = 4 steps of 2 tokens; the planner row's 4 frames of 56x56: T = 2 steps of 4 tokens,
    # the same number of video tokens, so reading the planner's grid for the grounder row would pass unnoticed
    grounder = encode_example(
        grounding_example(sample), _frames(8, 28, 56, 1), processor, rng=random.Random(0)
    )
    plan = Sample(
        id="p",
        source="t",
        video="v",
        duration=8.0,
        question="What moves?",
        extra={"route": 1, "query": "a circle"},
    )
    planner = encode_example(planning_example(plan), _frames(4, 56, 56, 2), processor)
    assert grounder["video_grid_thw"].tolist() == [[4, 2, 4]] and planner["video_grid_thw"].tolist() == [
        [2, 4, 4]
    ]
    collate = Collator(processor)
    alone = _head_losses(model, collate([grounder]))
    mixed = _head_losses(model, collate([_text_only(processor), grounder, planner]))
    assert alone and mixed.keys() == alone.keys()
    for key in alone:
        assert torch.allclose(mixed[key], alone[key], atol=1e-5), key


def test_label_weights_make_the_lm_loss_a_weighted_mean(tiny):
    model, processor = tiny
    model.eval()
    batch = Collator(processor)([_text_only(processor), _text_only(processor)])
    with torch.no_grad():
        plain = model(**batch)["loss_lm"]
        ones = model(**batch, label_weights=torch.ones(batch["labels"].shape))["loss_lm"]
        # per-token losses, to weigh by hand
        out = model.text_pass(batch["input_ids"], batch["attention_mask"], None, None)
        targets = batch["labels"][:, 1:]
        keep = targets != -100
        each = torch.nn.functional.cross_entropy(
            model.logits(out.hidden[:, :-1][keep]).float(), targets[keep], reduction="none"
        )
        weights = torch.ones(batch["labels"].shape)
        first = keep[0].nonzero()[0, 0] + 1  # the first supervised label of row 0
        weights[0, first] = 4.0
        weighted = model(**batch, label_weights=weights)["loss_lm"]
    assert torch.allclose(ones, plain)
    kept = weights[:, 1:][keep]
    assert torch.allclose(weighted, (each * kept).sum() / kept.sum(), atol=1e-6)
    assert not torch.allclose(weighted, plain)
