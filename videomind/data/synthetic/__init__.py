"""The synthetic world: procedural shape videos with annotations for every role, deterministic by seed.

``make_dataset(out, n_videos, seed, preset)`` writes a dataset folder (docs/SYNTHETIC.md); the ``synthetic`` data
source (``videomind.data.sources.synthetic``) reads it. The pieces are usable on their own: ``generate_world`` draws
a world from a seed, ``render_frames`` / ``write_video`` render it, ``build_annotations`` describes it.
"""

from videomind.data.synthetic.annotate import KINDS, build_annotations
from videomind.data.synthetic.config import PRESETS, WorldConfig, preset
from videomind.data.synthetic.dataset import (
    MANIFEST,
    SPLIT_KEYS,
    make_dataset,
    make_video,
    video_id,
    video_seed,
)
from videomind.data.synthetic.render import render_frames, write_video
from videomind.data.synthetic.world import Actor, Event, World, generate_world

__all__ = [
    "KINDS",
    "MANIFEST",
    "PRESETS",
    "SPLIT_KEYS",
    "Actor",
    "Event",
    "World",
    "WorldConfig",
    "build_annotations",
    "generate_world",
    "make_dataset",
    "make_video",
    "preset",
    "render_frames",
    "video_id",
    "video_seed",
    "write_video",
]
