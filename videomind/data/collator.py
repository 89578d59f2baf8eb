"""Tokenised training items and batches: labels masked from token ids, verifier segment tokens, grounder targets.

``encode_example`` turns a ``RoleExample`` and its frames into one item: the conversation rendered with the chat
template (no generation prompt, trailing whitespace stripped, as the official dataset does), the processor's ids
with each ``<|video_pad|>`` expanded, and labels = ids with everything up to and including the LAST assistant
header masked (the reply and its closing ``<|im_end|>`` are supervised). The mask is found in the token ids, never
in a re-tokenised prompt string (REFERENCE.md s.1.8, s.9.4). Verifier items get ``<|seg_start|>`` / ``<|seg_end|>``
inserted among the visual tokens (label -100); grounder items get ``timestamps`` / ``saliency`` / ``pos_clip``.

``Collator`` right-pads a list of items into a batch the model's ``forward`` takes.
"""

from __future__ import annotations

import logging
import random
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import torch

from videomind.data.conversations import RoleExample
from videomind.data.span_targets import grounding_targets
from videomind.errors import DataError
from videomind.prompts import insert_segment_tokens

log = logging.getLogger(__name__)

IGNORE_INDEX = -100
DEFAULT_MAX_LENGTH = 32768  # tokenizer.model_max_length of the Qwen2-VL tokenizer
GROUNDER_KEYS = ("timestamps", "saliency", "pos_clip")


def find_last(ids: Sequence[int], pattern: Sequence[int]) -> int:
    """Start index of the last occurrence of ``pattern`` in ``ids`` (-1 if absent)."""
    n = len(pattern)
    for start in range(len(ids) - n, -1, -1):
        if list(ids[start : start + n]) == list(pattern):
            return start
    return -1


def mask_labels(ids: Sequence[int], header_ids: Sequence[int]) -> list[int]:
    """Labels for ``ids``: -100 up to and including the last assistant header, the ids themselves after it."""
    start = find_last(ids, header_ids)
    if start < 0:
        raise DataError("no assistant header in the tokenised conversation: nothing would be supervised")
    cut = start + len(header_ids)
    if cut >= len(ids):
        raise DataError("the assistant reply is empty: nothing would be supervised")
    return [IGNORE_INDEX] * cut + list(ids[cut:])


def training_text(processor, example: RoleExample) -> str:
    """The rendered conversation the official dataset tokenises: template without generation prompt, stripped."""
    return processor.render(example.messages(), add_generation_prompt=False).strip()


def encode_example(
    example: RoleExample,
    frames: torch.Tensor,
    processor,
    duration: float | None = None,
    rng: random.Random | None = None,
) -> dict[str, Any]:
    """One training item: ``input_ids`` / ``labels`` (1-D), ``pixel_values_videos``, ``video_grid_thw`` and, for
    grounding examples, ``timestamps`` / ``saliency`` / ``pos_clip`` (``duration`` defaults to the example's)."""
    batch = processor([training_text(processor, example)], [frames])
    ids = batch["input_ids"][0].tolist()
    grid = batch["video_grid_thw"][0]
    num_steps = int(grid[0])
    if example.segment is not None:
        ids = _with_segment_tokens(ids, grid, processor, example.segment)
    header = processor.assistant_header_ids()
    labels = mask_labels(ids, header)
    item: dict[str, Any] = {
        "input_ids": torch.tensor(ids, dtype=torch.long),
        "labels": torch.tensor(labels, dtype=torch.long),
        "pixel_values_videos": batch["pixel_values_videos"],
        "video_grid_thw": batch["video_grid_thw"],
        "data_type": example.data_type,
    }
    if example.task == "grounding":
        duration = duration if duration is not None else example.duration
        if not duration:
            raise DataError(f"grounding example {example.id} needs the video duration")
        targets = grounding_targets(example.spans, duration, num_steps, rng)
        item["timestamps"] = [[list(s) for s in targets.timestamps_norm]]  # one entry per <|reg|> token
        item["saliency"] = targets.saliency
        item["pos_clip"] = targets.pos_clip
    return item


def _with_segment_tokens(
    ids: list[int], grid: torch.Tensor, processor, bounds: tuple[float, float]
) -> list[int]:
    special = processor.special_token_ids()
    t, h, w = (int(x) for x in grid)
    per_step = h * w // processor.vision.merge_size**2
    return insert_segment_tokens(
        ids,
        processor.vision_start_id,
        t,
        per_step,
        bounds,
        special["seg_s_token_id"],
        special["seg_e_token_id"],
    )


@dataclass
class Collator:
    """Right-pads items into a batch: ``input_ids`` (pad id), ``labels`` (-100), ``attention_mask``,
    ``mm_token_type_ids``; concatenates the videos; carries grounder targets as per-sample lists (None for samples
    without them). Rows longer than ``max_length`` are cut with a warning (an error if that would cut a video)."""

    processor: Any
    max_length: int = DEFAULT_MAX_LENGTH

    def __call__(self, items: Sequence[dict[str, Any]]) -> dict[str, Any]:
        rows = [self._truncate(item) for item in items]
        batch = self.processor.pad([ids for ids, _ in rows], padding_side="right")
        labels = torch.full_like(batch["input_ids"], IGNORE_INDEX)
        for i, (_, row_labels) in enumerate(rows):
            labels[i, : len(row_labels)] = torch.tensor(row_labels, dtype=torch.long)
        batch["labels"] = labels
        videos = [item for item in items if item.get("pixel_values_videos") is not None]
        if videos:
            batch["pixel_values_videos"] = torch.cat([item["pixel_values_videos"] for item in videos])
            batch["video_grid_thw"] = torch.cat([item["video_grid_thw"] for item in videos])
        if any("timestamps" in item for item in items):
            for key in GROUNDER_KEYS:
                batch[key] = [item.get(key) for item in items]
        return batch

    def _truncate(self, item: dict[str, Any]) -> tuple[list[int], list[int]]:
        ids, labels = item["input_ids"].tolist(), item["labels"].tolist()
        if len(ids) <= self.max_length:
            return ids, labels
        if self.processor.vision_end_id in ids and ids.index(self.processor.vision_end_id) >= self.max_length:
            raise DataError(
                f"a {len(ids)}-token item would lose video tokens when cut to max_length={self.max_length}: "
                "lower the frame budget (fps / max_frames / max_tokens) or raise data.max_length"
            )
        log.warning("cutting a %d-token item to max_length=%d", len(ids), self.max_length)
        return ids[: self.max_length], labels[: self.max_length]
