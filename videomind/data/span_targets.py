"""Per-sample training targets of the grounder (REFERENCE.md s.3.7): pure functions of the annotation.

:func:`grounding_targets` turns annotated spans (seconds) into the normalised timestamps, the per-token saliency
vector and the sampled positive clip the head's losses need (what the official dataset builds). Assigning those
targets to the head's pyramid points is the model's business (``videomind.model.point_targets``).
"""

from __future__ import annotations

import math
import random
from collections.abc import Sequence
from typing import NamedTuple

import torch

from videomind.errors import UserInputError
from videomind.spans import expand_span


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
