"""The verifier's input: segment tokens inserted among the visual tokens (REFERENCE.md s.4.3)."""

from __future__ import annotations


def insert_segment_tokens(
    ids: list[int],
    vision_start: int,
    num_steps: int,
    tokens_per_step: int,
    bounds: tuple[float, float],
    seg_start: int,
    seg_end: int,
) -> list[int]:
    """The verifier's input: ``<|seg_start|>`` before the visual tokens of step ``round(ss*T)`` and ``<|seg_end|>``
    after those of step ``round(se*T) - 1`` (Python rounding, clamped to [0, T]; REFERENCE.md s.4.3)."""
    ss, se = bounds
    k_s = min(max(round(ss * num_steps), 0), num_steps)
    k_e = min(max(round(se * num_steps), 0), num_steps)
    if k_s > k_e:
        raise ValueError(f"segment start step {k_s} is after its end step {k_e}")
    b = ids.index(vision_start)
    out = list(ids)
    out.insert(b + 1 + k_s * tokens_per_step, seg_start)
    out.insert(b + 2 + k_e * tokens_per_step, seg_end)
    return out
