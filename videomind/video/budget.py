"""Per-role frame budgets (REFERENCE.md s.7.1): how densely and how large each role samples the video."""

from __future__ import annotations

from dataclasses import dataclass, replace

PATCH_AREA = 28 * 28  # one merged visual token covers 28x28 pixels (patch 14, 2x2 merge)
DEFAULT_MIN_FRAMES = 4
DEFAULT_FACTOR = (
    28  # frame sides are multiples of this: patch x merge (28 for Qwen2-VL / 2.5-VL, 32 for Qwen3-VL)
)


@dataclass(frozen=True)
class FrameBudget:
    """Sampling parameters of one role: frames per second, frame-count bounds and per-frame pixel bounds, and the
    multiple the frame sides are rounded to (the model's ``processor.vision.factor``; callers that hold a processor
    set it with ``with_(factor=...)``). Pixel bounds stay pixels whatever the factor."""

    fps: float
    max_frames: int
    min_pixels: int
    max_pixels: int
    min_frames: int = DEFAULT_MIN_FRAMES
    factor: int = DEFAULT_FACTOR

    @classmethod
    def from_tokens(cls, fps: float, max_frames: int, min_tokens: int, max_tokens: int) -> FrameBudget:
        """Budget with pixel bounds given as merged visual tokens per frame (e.g. 36-64)."""
        return cls(fps, max_frames, min_tokens * PATCH_AREA, max_tokens * PATCH_AREA)

    def with_(self, **changes) -> FrameBudget:
        return replace(self, **changes)


PLANNER_BUDGET = FrameBudget.from_tokens(fps=1.0, max_frames=100, min_tokens=36, max_tokens=64)
GROUNDER_BUDGET = FrameBudget.from_tokens(fps=1.0, max_frames=150, min_tokens=36, max_tokens=64)
VERIFIER_BUDGET = FrameBudget.from_tokens(fps=2.0, max_frames=64, min_tokens=36, max_tokens=64)
ANSWERER_BUDGET = FrameBudget.from_tokens(fps=2.0, max_frames=32, min_tokens=128, max_tokens=256)
