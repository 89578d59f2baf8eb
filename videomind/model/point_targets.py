"""Target assignment of the timestamp decoder: pure functions, no parameters (REFERENCE.md s.3.5, s.3.7).

Per ``<|reg|>`` query, :func:`point_table` lists the pyramid's points ``[position, reg_lo, reg_hi, stride]`` and
:func:`assign_targets` gives each point a class target (0/1) and a regression target (distances to the span's
boundaries in units of the point's stride). The per-sample targets these start from (normalised spans, saliency,
positive clip) are built on the data side: ``videomind.data.span_targets``.
"""

from __future__ import annotations

import math
from collections.abc import Sequence

import torch

# Column layout of a point row.
POINT_POSITION, POINT_REG_LO, POINT_REG_HI, POINT_STRIDE = range(4)


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
