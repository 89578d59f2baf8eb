"""The agent: plan -> ground -> verify -> answer as one library object."""

from videomind.agent.agent import VideoMindAgent
from videomind.agent.options import AgentOptions, GenerationSettings

__all__ = ["VideoMindAgent", "AgentOptions", "GenerationSettings"]
