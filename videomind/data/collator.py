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

log = logging.getLogger(__name__)

IGNORE_INDEX = -100
DEFAULT_MAX_LENGTH = 32768  # tokenizer.model_max_length of the Qwen2-VL tokenizer
GROUNDER_KEYS = ("timestamps", "saliency", "pos_clip")
VIDEO_EXTRA_KEYS = ("second_per_grid_ts",)  # per-video model inputs some bases take (Qwen2.5-VL)


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


def answer_letter_position(ids: Sequence[int], labels: Sequence[int], tokenizer) -> int:
    """The index of a multiple-choice reply's answer letter: the first supervised token after a "(" (the
    reply is "Best Option: (B) Text"); -1 when there is none."""
    for j in range(1, len(ids)):
        if labels[j] != IGNORE_INDEX and tokenizer.decode([int(ids[j - 1])]).endswith("("):
            return j
    return -1


def training_text(processor, example: RoleExample) -> str:
    """The rendered conversation the official dataset tokenises: template without generation prompt, stripped."""
    return processor.render(example.messages(), add_generation_prompt=False).strip()


def encode_example(
    example: RoleExample,
    frames: torch.Tensor,
    processor,
    duration: float | None = None,
    rng: random.Random | None = None,
    frame_times: Sequence[float] | None = None,
) -> dict[str, Any]:
    """One training item: ``input_ids`` / ``labels`` (1-D), ``pixel_values_videos``, ``video_grid_thw`` (and what
    the processor adds for its base, e.g. ``second_per_grid_ts``) and, for grounding examples, ``timestamps`` /
    ``saliency`` / ``pos_clip`` (``duration`` defaults to the example's). ``frame_times``: the frames' seconds in
    the video (the newer bases see them). Verifying examples get their segment tokens from the processor."""
    batch = processor(
        [training_text(processor, example)], [frames], timestamps=[frame_times], segments=[example.segment]
    )
    ids = batch["input_ids"][0].tolist()
    grid = batch["video_grid_thw"][0]
    num_steps = int(grid[0])
    header = processor.assistant_header_ids()
    labels = mask_labels(ids, header)
    item: dict[str, Any] = {
        "input_ids": torch.tensor(ids, dtype=torch.long),
        "labels": torch.tensor(labels, dtype=torch.long),
        "pixel_values_videos": batch["pixel_values_videos"],
        "video_grid_thw": batch["video_grid_thw"],
        "data_type": example.data_type,
    }
    item.update({k: batch[k] for k in VIDEO_EXTRA_KEYS if k in batch})
    if example.letter_weight != 1.0:
        letter = answer_letter_position(ids, labels, processor.tokenizer)
        if letter < 0:
            raise DataError(f"example {example.id} has a letter weight but no answer letter in its reply")
        weights = torch.ones(len(ids))
        weights[letter] = example.letter_weight
        item["label_weights"] = weights
    if example.task == "grounding":
        duration = duration if duration is not None else example.duration
        if not duration:
            raise DataError(f"grounding example {example.id} needs the video duration")
        targets = grounding_targets(example.spans, duration, num_steps, rng)
        item["timestamps"] = [[list(s) for s in targets.timestamps_norm]]  # one entry per <|reg|> token
        item["saliency"] = targets.saliency
        item["pos_clip"] = targets.pos_clip
    return item


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
        if any("label_weights" in item for item in items):  # 1 wherever an item has none
            weights = torch.ones(labels.shape)
            for i, ((_, row_labels), item) in enumerate(zip(rows, items)):
                if "label_weights" in item:
                    weights[i, : len(row_labels)] = item["label_weights"][: len(row_labels)]
            batch["label_weights"] = weights
        videos = [item for item in items if item.get("pixel_values_videos") is not None]
        if videos:
            batch["pixel_values_videos"] = torch.cat([item["pixel_values_videos"] for item in videos])
            batch["video_grid_thw"] = torch.cat([item["video_grid_thw"] for item in videos])
            for key in VIDEO_EXTRA_KEYS:
                if any(key in item for item in videos):
                    batch[key] = torch.cat([item[key] for item in videos])
        if any("timestamps" in item for item in items):
            for key in GROUNDER_KEYS:
                batch[key] = [item.get(key) for item in items]
        return batch

    def _truncate(self, item: dict[str, Any]) -> tuple[list[int], list[int]]:
        ids, labels = item["input_ids"].tolist(), item["labels"].tolist()
        if len(ids) <= self.max_length:
            return ids, labels
        last_video_end = max((i for i, t in enumerate(ids) if t == self.processor.vision_end_id), default=-1)
        if last_video_end >= self.max_length:
            raise DataError(
                f"a {len(ids)}-token item would lose video tokens when cut to max_length={self.max_length}: "
                "lower the frame budget (fps / max_frames / max_tokens) or raise data.max_length"
            )
        log.warning("cutting a %d-token item to max_length=%d", len(ids), self.max_length)
        return ids[: self.max_length], labels[: self.max_length]
