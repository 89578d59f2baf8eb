"""Knobs of the synthetic world: the vocabulary (shapes, colours, backgrounds), ``WorldConfig`` and its presets."""

from __future__ import annotations

from dataclasses import asdict, dataclass, fields, replace
from typing import Any

from videomind.errors import UserInputError

# Shape kinds in a fixed order (indices are used by the renderer).
SHAPES: tuple[str, ...] = ("circle", "square", "triangle", "star", "diamond")

# Saturated, clearly distinct colours (RGB 0-255); the backgrounds are dark and desaturated.
COLOURS: dict[str, tuple[int, int, int]] = {
    "red": (230, 40, 40),
    "green": (40, 200, 70),
    "blue": (40, 100, 245),
    "yellow": (245, 220, 40),
    "purple": (190, 60, 230),
    "white": (245, 245, 245),
}
COLOUR_NAMES: tuple[str, ...] = tuple(COLOURS)

# Background texture kinds and how a question about them names each one.
BACKGROUNDS: dict[str, str] = {
    "stripes": "diagonal stripes",
    "checkerboard": "a checkerboard",
    "dots": "polka dots",
    "gradient": "a smooth gradient",
    "waves": "wavy lines",
    "clouds": "soft clouds",
}

EVENT_TYPES: tuple[str, ...] = ("appear", "move", "recolour", "grow")
ACTION_TYPES: tuple[str, ...] = ("move", "recolour", "grow")
DIRECTIONS: tuple[str, ...] = ("left", "right", "up", "down")

GROW_FACTOR = 1.4  # a growing shape is this much larger during its interval
MAX_EVENTS = 12
MIN_DURATION = 4.0
MAX_DURATION = 600.0


@dataclass(frozen=True)
class WorldConfig:
    """Everything that shapes a synthetic video and its annotations (times in seconds).

    ``events`` is the number of primary events drawn per video (each is one actor's appearance or action; actors
    whose presence is not the whole video add an ``appear`` event, and distractors may add more). ``overlap`` is the
    probability that a new event is placed overlapping an earlier one; ``distractors`` the probability that an event's
    actor gets a static distractor sharing its colour or its shape, visible at the same time. ``persistent`` is the
    probability that an acting shape is on screen for the whole video. Event boundaries are multiples of
    ``time_unit``; event lengths are ``event_fraction`` of the duration, at least ``min_event``.
    """

    duration: tuple[float, float] = (16.0, 40.0)
    events: tuple[int, int] = (2, 4)
    overlap: float = 0.3
    distractors: float = 0.3
    persistent: float = 0.4
    paraphrases: int = 3
    size: tuple[int, int] = (112, 112)  # (height, width), even
    fps: float = 2.0
    noise: float = 0.03  # std of the static pixel grain of the background, in [0, 1] units
    flicker: float = 0.008  # std of the per-frame pixel noise (costly to encode: keep it small)
    grid: int = 3  # shapes sit on a grid x grid layout and move along its rows / columns
    shape_scale: float = 0.32  # shape radius as a fraction of a grid cell
    time_unit: float = 0.5
    min_event: float = 2.0
    event_fraction: tuple[float, float] = (0.1, 0.4)
    event_weights: tuple[float, float, float, float] = (
        0.35,
        0.3,
        0.175,
        0.175,
    )  # appear, move, recolour, grow
    verify_pairs: int = 6  # verification candidates per event (about a third of them positive)
    caption_step: float = 1.0
    crf: int = 23  # H.264 quality (lower is better and bigger)

    def __post_init__(self) -> None:
        for problem in _problems(self):
            raise UserInputError(f"invalid WorldConfig: {problem}")

    def with_(self, **changes: Any) -> WorldConfig:
        return replace(self, **changes)

    def to_dict(self) -> dict[str, Any]:
        return {k: list(v) if isinstance(v, tuple) else v for k, v in asdict(self).items()}

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> WorldConfig:
        known = {f.name for f in fields(cls)}
        unknown = sorted(set(data) - known)
        if unknown:
            raise UserInputError(f"unknown WorldConfig fields {unknown}; known: {sorted(known)}")
        return cls(**{k: tuple(v) if isinstance(v, list) else v for k, v in data.items()})


def _problems(c: WorldConfig) -> list[str]:
    out = []
    lo, hi = c.duration
    if not MIN_DURATION <= lo <= hi <= MAX_DURATION:
        out.append(
            f"duration {c.duration} must satisfy {MIN_DURATION} <= min <= max <= {MAX_DURATION} seconds"
        )
    if not 1 <= c.events[0] <= c.events[1] <= MAX_EVENTS:
        out.append(f"events {c.events} must satisfy 1 <= min <= max <= {MAX_EVENTS}")
    for name in ("overlap", "distractors", "persistent"):
        if not 0.0 <= getattr(c, name) <= 1.0:
            out.append(f"{name} must be a probability in [0, 1]")
    if not (0.0 <= c.noise <= 0.2 and 0.0 <= c.flicker <= 0.2):
        out.append("noise and flicker must be in [0, 0.2]")
    h, w = c.size
    if h % 2 or w % 2 or min(h, w) < 32:
        out.append(f"size {c.size} must be even and at least 32 pixels (H.264 yuv420p needs even sizes)")
    if c.fps <= 0 or c.time_unit <= 0 or c.caption_step <= 0:
        out.append("fps, time_unit and caption_step must be positive")
    if c.min_event < 2 * c.time_unit or c.min_event * 2 > lo:
        out.append(f"min_event {c.min_event} must be >= 2 * time_unit and <= half the shortest duration")
    if not 0 < c.event_fraction[0] <= c.event_fraction[1] <= 0.8:
        out.append(f"event_fraction {c.event_fraction} must satisfy 0 < min <= max <= 0.8")
    if len(c.event_weights) != len(EVENT_TYPES) or min(c.event_weights) < 0 or sum(c.event_weights) <= 0:
        out.append(f"event_weights needs {len(EVENT_TYPES)} non-negative weights ({', '.join(EVENT_TYPES)})")
    if not 2 <= c.grid <= 6 or not 0.1 <= c.shape_scale <= 0.4:
        out.append("grid must be 2-6 and shape_scale 0.1-0.4")
    if c.paraphrases < 1 or c.verify_pairs < 0 or not 0 <= c.crf <= 51:
        out.append("paraphrases must be >= 1, verify_pairs >= 0 and crf 0-51")
    return out


PRESETS: dict[str, WorldConfig] = {
    # Short videos, one or two well-separated events, no distractors: smoke tests and curriculum starts.
    "easy": WorldConfig(
        duration=(10.0, 20.0),
        events=(1, 2),
        overlap=0.0,
        distractors=0.0,
        persistent=0.3,
        paraphrases=2,
        noise=0.02,
        flicker=0.005,
    ),
    "medium": WorldConfig(),
    # Long videos, many overlapping events and distractors, more paraphrases and noise.
    "hard": WorldConfig(
        duration=(30.0, 120.0),
        events=(4, 7),
        overlap=0.5,
        distractors=0.6,
        persistent=0.5,
        paraphrases=5,
        noise=0.05,
        flicker=0.012,
        event_fraction=(0.05, 0.3),
    ),
}


def preset(name: str, **overrides: Any) -> WorldConfig:
    """A preset by name ("easy", "medium", "hard"), with optional field overrides."""
    if name not in PRESETS:
        raise UserInputError(f"unknown synthetic preset {name!r}; choose one of {', '.join(PRESETS)}")
    return PRESETS[name].with_(**overrides) if overrides else PRESETS[name]
