"""Datasets: one parse-only source per dataset, a registry, role conversations, collators and the synthetic world.

``get_source(name, root).load(split)`` returns ``Sample`` records (seconds); ``list_sources()`` names them all.
"""

from videomind.data.registry import get_source, list_sources
from videomind.records import Sample

__all__ = ["Sample", "get_source", "list_sources"]
