"""M-RoPE positions of the supported bases, and the token ids they depend on (``videomind.model.bases`` picks
which one a family uses).

- ``official_rope_index`` (Qwen2-VL, the released VideoMind base): the transformers-4.45.2 *slot* semantics the
  released weights were trained with.
- ``block_rope_index`` (Qwen2.5-VL, Qwen3-VL): a *vision block* is what lies between a ``<|vision_start|>`` and its
  ``<|vision_end|>``; it takes one grid row, and its frame tokens get ``base + (long(t * interval), h, w)`` with
  ``base`` = the running maximum + 1 when its first frame token appears; every other token (text, timestamps,
  vision_start/end, the verifier's segment tokens) gets the running maximum + 1. This equals transformers 5.25's
  Qwen3-VL ``get_rope_index``, and its Qwen2.5-VL one up to the end of the video; after a Qwen2.5-VL video 5.25
  continues at ``video start + max(h, w)`` (overlapping the video's time axis), while Qwen's reference
  (transformers 4.49-5.2, huggingface/transformers#45381) and we continue at the maximum + 1 (docs/MODEL.md,
  "Bases").
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import torch


@dataclass(frozen=True)
class TokenIds:
    """Token ids the model logic depends on, looked up from the tokenizer / config (never hard-coded)."""

    vision_start: int
    vision_end: int
    video_pad: int
    image_pad: int
    pad: int
    eos: tuple[int, ...]
    reg: int | None = None
    seg_start: int | None = None
    seg_end: int | None = None


def official_rope_index(
    input_ids: torch.Tensor,
    attention_mask: torch.Tensor | None,
    video_grid_thw: torch.Tensor | None,
    ids: TokenIds,
    spatial_merge_size: int = 2,
) -> tuple[torch.Tensor, torch.Tensor]:
    """3-D M-RoPE positions ``(3, B, L)`` and rope deltas ``(B, 1)`` exactly as transformers 4.45.2 computes them.

    A video is recognised by the token directly after ``<|vision_start|>``; its ``t*h*w`` positions go to the
    consecutive SLOTS starting at the first ``<|video_pad|>``, whatever tokens sit there. So segment tokens inserted
    among the video tokens take video positions and push the last video tokens into text positions; and if
    ``<|seg_start|>`` directly follows ``<|vision_start|>`` no video is found and the whole row gets 1-D positions.
    The verifier was trained with this assignment. Videos are consumed in batch order (one grid row per video).
    Images are not supported here (VideoMind never uses them).
    """
    batch, length = input_ids.shape
    if attention_mask is None:
        attention_mask = torch.ones_like(input_ids)
    position_ids = torch.ones(3, batch, length, dtype=torch.long, device=input_ids.device)
    deltas = []
    grids = iter(video_grid_thw.tolist() if video_grid_thw is not None else [])
    for b in range(batch):
        keep = attention_mask[b].bool()
        tokens = input_ids[b][keep].tolist()
        chunks: list[torch.Tensor] = []
        start = 0
        for recognised in _videos_of_row(tokens, ids) if video_grid_thw is not None else ():
            # Every video of the row has its grid row, recognised or not; transformers 4.45.2 consumed grids only
            # for recognised videos, which misaligns later rows of a batch (it only ever ran with batch size 1).
            t, h, w = next(grids)
            if not recognised:
                continue
            h, w = h // spatial_merge_size, w // spatial_merge_size
            first_pad = tokens.index(ids.video_pad, start)
            offset = int(chunks[-1].max()) + 1 if chunks else 0
            text_len = first_pad - start
            chunks.append(torch.arange(text_len).view(1, -1).expand(3, -1) + offset)
            grid = torch.stack(
                torch.meshgrid(torch.arange(t), torch.arange(h), torch.arange(w), indexing="ij")
            )
            chunks.append(grid.reshape(3, -1) + text_len + offset)
            start = first_pad + t * h * w
        if start < len(tokens):
            offset = int(chunks[-1].max()) + 1 if chunks else 0
            chunks.append(torch.arange(len(tokens) - start).view(1, -1).expand(3, -1) + offset)
        positions = torch.cat(chunks, dim=1).to(input_ids.device)
        position_ids[:, b, keep] = positions
        deltas.append(int(positions.max()) + 1 - len(tokens))
    return position_ids, torch.tensor(deltas, device=input_ids.device).view(-1, 1)


def _videos_of_row(tokens: list[int], ids: TokenIds) -> list[bool]:
    """One flag per ``<|vision_start|>`` of a row: whether its video is recognised (``<|video_pad|>`` follows)."""
    return [
        i + 1 < len(tokens) and tokens[i + 1] == ids.video_pad
        for i, tok in enumerate(tokens)
        if tok == ids.vision_start
    ]


def block_rope_index(
    input_ids: torch.Tensor,
    attention_mask: torch.Tensor | None,
    blocks: Sequence[Sequence[int]],
    intervals: Sequence[float],
    ids: TokenIds,
    spatial_merge_size: int = 2,
) -> tuple[torch.Tensor, torch.Tensor]:
    """M-RoPE positions ``(3, B, L)`` and deltas ``(B, 1)`` of the newer families (module docstring).

    ``blocks`` holds one grid row ``(t, h, w)`` per vision block, in batch order, and ``intervals`` its temporal
    step in positions. Text inside a block (segment tokens) does not move the block's frame positions.
    """
    batch, length = input_ids.shape
    if attention_mask is None:
        attention_mask = torch.ones_like(input_ids)
    position_ids = torch.ones(3, batch, length, dtype=torch.long, device=input_ids.device)
    queue = iter(zip(blocks, intervals))
    deltas = []
    for b in range(batch):
        keep = attention_mask[b].bool()
        tokens = input_ids[b][keep].tolist()
        positions = _row_positions(tokens, queue, ids, spatial_merge_size)
        position_ids[:, b, keep] = positions.to(input_ids.device)
        deltas.append(int(positions.max()) + 1 - len(tokens) if tokens else 0)
    return position_ids, torch.tensor(deltas, device=input_ids.device).view(-1, 1)


def _row_positions(tokens: list[int], queue, ids: TokenIds, merge: int) -> torch.Tensor:
    out = torch.empty(3, len(tokens), dtype=torch.long)
    following, grid, used, start = 0, None, 0, 0  # next text position; the open block's positions
    while start < len(tokens):
        is_pad = tokens[start] == ids.video_pad
        end = start + 1
        while end < len(tokens) and (tokens[end] == ids.video_pad) == is_pad:
            end += 1
        if is_pad:
            if grid is None:
                grid, used = _block_grid(next(queue, None), following, merge), 0
            if used + end - start > grid.shape[1]:
                raise ValueError(
                    f"a vision block holds more than the {grid.shape[1]} frame tokens of its grid"
                )
            out[:, start:end] = grid[:, used : used + end - start]
            following = max(following, int(out[:, start:end].max()) + 1)
            used += end - start
        else:
            out[:, start:end] = torch.arange(following, following + end - start)
            following += end - start
            if grid is not None and ids.vision_end in tokens[start:end]:
                grid = None
        start = end
    return out


def _block_grid(block, base: int, merge: int) -> torch.Tensor:
    if block is None:
        raise ValueError("more vision blocks in the text than grid rows were given")
    (t, h, w), interval = block
    steps = (torch.arange(int(t)) * float(interval)).long()
    grid = torch.meshgrid(steps, torch.arange(int(h) // merge), torch.arange(int(w) // merge), indexing="ij")
    return torch.stack(grid).reshape(3, -1) + base
