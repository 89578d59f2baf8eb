"""Video input: reading, frame sampling, resizing, caching, subtitles and dataset compression."""

from videomind.video.budget import (
    ANSWERER_BUDGET,
    GROUNDER_BUDGET,
    PLANNER_BUDGET,
    VERIFIER_BUDGET,
    FrameBudget,
)

__all__ = ["FrameBudget", "PLANNER_BUDGET", "GROUNDER_BUDGET", "VERIFIER_BUDGET", "ANSWERER_BUDGET"]
