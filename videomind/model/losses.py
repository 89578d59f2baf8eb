"""Losses of the timestamp decoder (REFERENCE.md s.3.7): focal classification, L1 regression, sampled NCE.

All functions are pure and work on whole batches; losses are computed in at least float32 whatever the head's
dtype (float64 stays float64).
Shapes: K = deep-supervision rows (3 fusion layers in training, 1 in eval), B = queries, N = points,
T = tokens.

Per query the three terms are summed over the K rows, exactly as the official code sums over its stacked rows.
Queries are then averaged within their sample (``group``; the official code divides by the number of
``<|reg|>`` tokens of the sample) and samples are averaged over the batch. The official trainer only supports
one sample per device (with two it keeps the smaller of the two head losses); we do not reproduce that quirk.
"""

from __future__ import annotations

import math
from collections.abc import Sequence

import torch
import torch.nn.functional as F


def _wide(x: torch.Tensor) -> torch.Tensor:
    """At least float32 (float64 stays float64)."""
    return x if x.dtype == torch.float64 else x.float()


def sigmoid_focal_loss(
    logits: torch.Tensor, target: torch.Tensor, gamma: float, alpha: float | None = None
) -> torch.Tensor:
    """Element-wise focal loss ``BCE(x, y) * (1 - p_t) ** gamma`` (optionally alpha-balanced), no
    reduction."""
    prob = logits.sigmoid()
    bce = F.binary_cross_entropy_with_logits(logits, target, reduction="none")
    p_t = prob * target + (1 - prob) * (1 - target)
    loss = bce * (1 - p_t) ** gamma
    if alpha is not None and alpha >= 0:
        loss = (alpha * target + (1 - alpha) * (1 - target)) * loss
    return loss


def classification_loss(
    logits: torch.Tensor,
    cls_target: torch.Tensor,
    valid: torch.Tensor,
    gamma: float,
    alpha: float | None = None,
) -> torch.Tensor:
    """Focal loss over valid points, divided by their count: logits ``(K, B, N)`` -> ``(B,)`` summed over
    K."""
    weight = valid.to(torch.float32)[None]
    loss = sigmoid_focal_loss(_wide(logits), cls_target[None].expand_as(logits), gamma, alpha) * weight
    return (loss.sum(dim=-1) / weight.sum(dim=-1)).sum(dim=0)


def regression_loss(coords: torch.Tensor, reg_target: torch.Tensor, positive: torch.Tensor) -> torch.Tensor:
    """L1 on both distances of the positive points, divided by 2 x #positives: ``(K, B, N, 2)`` ->
    ``(B,)``."""
    weight = positive.to(torch.float32)[None, :, :, None].expand_as(coords)
    loss = (_wide(coords) - reg_target[None]).abs() * weight
    return (loss.sum(dim=(-1, -2)) / weight.sum(dim=(-1, -2))).sum(dim=0)


def nce_scale(temperature: float, max_scale: float) -> torch.Tensor:
    """The fixed logit scale ``exp(log(1 / temperature))`` clamped at ``max_scale`` (float32, as the
    reference)."""
    return torch.tensor([math.log(1 / temperature)], dtype=torch.float32).exp().clamp(max=max_scale)


def saliency_loss(
    video_emb: torch.Tensor,
    query_emb: torch.Tensor,
    frame_valid: torch.Tensor,
    saliency: torch.Tensor,
    pos_clip: torch.Tensor,
    scale: torch.Tensor,
) -> torch.Tensor:
    """Sampled NCE ("row" direction): ``-log softmax_t(cos(v_t, q) * scale)[pos_clip]``, summed over K ->
    ``(B,)``.

    Tokens enter the softmax when valid and not more salient than the positive clip (with binary saliency:
    all of them, other positives included). ``video_emb`` is ``(K, B, T, D)``, ``query_emb`` ``(K, B, D)``.
    """
    rows = torch.arange(saliency.shape[0], device=saliency.device)
    allowed = (saliency <= saliency[rows, pos_clip][:, None]) & frame_valid  # (B, T)
    cosine = F.cosine_similarity(_wide(video_emb), _wide(query_emb)[:, :, None], dim=-1)  # (K, B, T)
    logits = cosine * scale.to(cosine.device) + torch.where(allowed, 0.0, -math.inf)[None]
    return -F.log_softmax(logits, dim=-1)[:, rows, pos_clip].sum(dim=0)


def average_per_sample(per_query: torch.Tensor, group: Sequence[int] | None) -> torch.Tensor:
    """Mean over the queries of each sample, then mean over samples (``group[i]`` = sample of query ``i``)."""
    if group is None:
        return per_query.mean()
    if len(group) != per_query.shape[0]:
        raise ValueError(f"group has {len(group)} entries for {per_query.shape[0]} queries")
    ids = torch.as_tensor(list(group), device=per_query.device)
    _, slot = torch.unique(ids, return_inverse=True)
    count = torch.bincount(slot).to(per_query.dtype)
    sums = torch.zeros(count.shape[0], dtype=per_query.dtype, device=per_query.device).index_add(
        0, slot, per_query
    )
    return (sums / count).mean()
