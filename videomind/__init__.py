"""videomind: a Chain-of-LoRA video agent (planner, grounder, verifier, answerer) on one Qwen2-VL base model.

The public surface is imported lazily so that ``import videomind`` stays cheap and has no side effects.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from videomind.lazy import lazy_exports

__version__ = "0.1.0"

__all__ = ["VideoMindAgent", "AgentOptions", "AgentResult", "AgentStep", "Moment", "Role", "__version__"]

_LAZY = {
    "VideoMindAgent": "videomind.agent",
    "AgentOptions": "videomind.agent",
    "AgentResult": "videomind.records",
    "AgentStep": "videomind.records",
    "Moment": "videomind.records",
    "Role": "videomind.records",
}

if TYPE_CHECKING:  # pragma: no cover
    from videomind.agent import AgentOptions, VideoMindAgent
    from videomind.records import AgentResult, AgentStep, Moment, Role


__getattr__, __dir__ = lazy_exports(__name__, _LAZY)
