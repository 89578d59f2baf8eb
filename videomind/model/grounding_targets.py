"""Training targets of the timestamp decoder: pure functions, no parameters (REFERENCE.md s.3.5, s.3.7).

Two stages:

- data side, per sample: :func:`grounding_targets` turns annotated spans (seconds) into the normalised
  timestamps, the per-token saliency vector and the sampled positive clip the losses need (what the official
  dataset builds);
- head side, per ``<|reg|>`` query: :func:`point_table` lists the pyramid's points ``[position, reg_lo,
  reg_hi, stride]`` and :func:`assign_targets` gives each point a class target (0/1) and a regression target
  (distances to the span's boundaries in units of the point's stride).
"""

from __future__ import annotations

import math
import random
from collections.abc import Sequence
from typing import NamedTuple

import torch

from videomind.errors import UserInputError
from videomind.spans import expand_span

# Column layout of a point row.
POINT_POSITION, POINT_REG_LO, POINT_REG_HI, POINT_STRIDE = range(4)


class SpanTargets(NamedTuple):
    """What one grounding sample contributes to the head losses (one ``<|reg|>`` token)."""

    timestamps_norm: list[tuple[float, float]]  # safe spans as fractions of the video, annotation order
    saliency: list[float]  # length T: 1.0 for temporal tokens inside any span, else 0.0
    pos_clip: int  # one index drawn uniformly from the positive tokens


def safe_spans(
    spans_seconds: Sequence[Sequence[float]], duration: float, num_steps: int
) -> list[tuple[float, float]]:
    """Clamp and order each span and widen it to at least one temporal token (``duration / T`` seconds)."""
    if duration <= 0 or num_steps <= 0:
        raise UserInputError(
            f"need a positive duration and token count, got duration={duration}, T={num_steps}"
        )
    return [expand_span(span, duration, duration / num_steps) for span in spans_seconds]


def saliency_indices(span: tuple[float, float], rate: float, num_steps: int) -> range:
    """Token indices ``ceil(s*r) .. ceil(min(e*r, T)) - 1`` covered by a (safe) span, ``r`` in tokens per
    second."""
    start, end = span
    return range(math.ceil(max(0.0, start * rate)), math.ceil(min(end * rate, num_steps)))


def grounding_targets(
    spans_seconds: Sequence[Sequence[float]],
    duration: float,
    num_steps: int,
    rng: random.Random | torch.Generator | None = None,
) -> SpanTargets:
    """Normalised timestamps, saliency and a positive clip for one sample, as the official dataset builds
    them.

    ``num_steps`` is T, the number of temporal tokens of the processed video (sampled frames / 2). ``rng``
    draws the positive clip: a ``random.Random`` (same draw as the official ``random.sample``), a
    ``torch.Generator``, or ``None`` for Python's global generator (the official behaviour).
    """
    if not spans_seconds:
        raise UserInputError("a grounding sample needs at least one span")
    safe = safe_spans(spans_seconds, duration, num_steps)
    rate = num_steps / duration
    saliency = [0.0] * num_steps
    for span in safe:
        covered = saliency_indices(span, rate, num_steps)
        if len(covered) == 0:
            raise UserInputError(
                f"span {span} of a {duration} s video covers no temporal token (T={num_steps})"
            )
        for i in covered:
            saliency[i] = 1.0
    positives = [i for i, v in enumerate(saliency) if v > 0]
    return SpanTargets([(s / duration, e / duration) for s, e in safe], saliency, _draw(positives, rng))


def _draw(positives: list[int], rng: random.Random | torch.Generator | None) -> int:
    if isinstance(rng, torch.Generator):
        return positives[int(torch.randint(len(positives), (1,), generator=rng))]
    return (rng or random).sample(positives, 1)[0]


def point_table(
    level_lengths: Sequence[int],
    strides: Sequence[int],
    regression_ranges: Sequence[tuple[float, float]],
    device: torch.device | str | None = None,
) -> torch.Tensor:
    """Rows ``[position, reg_lo, reg_hi, stride]`` (float32) of the first ``L_l`` points of each level.

    Positions are ``0, s, 2s, ...`` in units of level-0 temporal tokens (no half-stride offset). Levels are
    listed for the strides present (a skipped level simply has length 0).
    """
    rows = []
    for length, stride, (lo, hi) in zip(level_lengths, strides, regression_ranges):
        position = torch.arange(length, dtype=torch.float32, device=device) * stride
        fixed = torch.tensor([lo, hi, stride], dtype=torch.float32, device=device).expand(length, 3)
        rows.append(torch.cat((position[:, None], fixed), dim=1))
    if not rows:
        return torch.zeros(0, 4, device=device)
    return torch.cat(rows)


def assign_targets(
    points: torch.Tensor,
    spans_norm: torch.Tensor,
    num_steps: int,
    sample_radius: float,
    tie_tolerance: float,
) -> tuple[torch.Tensor, torch.Tensor]:
    """Class target ``(N,)`` and stride-normalised regression target ``(N, 2)`` of every point for one query.

    Spans (``(S, 2)`` fractions of the video) are scaled to token units by ``num_steps`` (the unpadded T). A
    point is positive for a span when it lies in the span's centre region (``sample_radius`` strides around
    the centre, clipped to the span) and its larger boundary distance fits the level's regression range.
    Among the spans a point is positive for, the shortest wins (spans within ``tie_tolerance`` tokens of it
    also count as positive); the regression target is the winner's ``(p - start, end - p) / stride`` (for
    negatives it is computed against the first span and carries no meaning).
    """
    gt = spans_norm.to(points.device, torch.float32).reshape(-1, 2) * num_steps  # (S, 2)
    position, stride = points[:, POINT_POSITION, None], points[:, POINT_STRIDE, None]
    to_start, to_end = position - gt[None, :, 0], gt[None, :, 1] - position  # (N, S)
    centre = (gt[None, :, 0] + gt[None, :, 1]) / 2
    near_lo = position - torch.maximum(centre - stride * sample_radius, gt[None, :, 0])
    near_hi = torch.minimum(centre + stride * sample_radius, gt[None, :, 1]) - position
    inside = torch.minimum(near_lo, near_hi) >= 0
    reach = torch.maximum(to_start, to_end)
    in_range = (reach >= points[:, POINT_REG_LO, None]) & (reach <= points[:, POINT_REG_HI, None])
    lengths = (gt[:, 1] - gt[:, 0])[None].expand_as(to_start)
    lengths = lengths.masked_fill(~(inside & in_range), math.inf)
    shortest, winner = lengths.min(dim=1)
    ties = (lengths <= shortest[:, None] + tie_tolerance) & torch.isfinite(lengths)
    cls_target = ties.any(dim=1).to(torch.float32)
    rows = torch.arange(points.shape[0], device=points.device)
    reg_target = torch.stack((to_start, to_end), dim=-1)[rows, winner] / stride
    return cls_target, reg_target
