"""The world model: one video's background, shapes ("actors") and timed events, drawn from a seed.

Shapes sit on the centres of a ``grid x grid`` layout (normalised coordinates, so the same world renders at any frame
size). An actor is on screen during its ``presence`` interval, which is either the whole video or strictly inside it
(then it has an ``appear`` event: it appears, stays and leaves). An actor may carry one action inside its presence:
``move`` (slides along a row or column to another cell), ``recolour`` (shows another colour during the interval) or
``grow`` (is ``GROW_FACTOR`` larger during the interval). Each (shape, colour) pair is used by at most one actor in a
video (recolour targets included), so "the red circle" always names one actor. A shape is visible at time ``t`` when
``start <= t < end``; every boundary is a multiple of ``WorldConfig.time_unit``.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np

from videomind.data.synthetic.config import (
    ACTION_TYPES,
    BACKGROUNDS,
    COLOUR_NAMES,
    DIRECTIONS,
    EVENT_TYPES,
    GROW_FACTOR,
    SHAPES,
    WorldConfig,
)

Span = tuple[float, float]
Cell = tuple[int, int]  # (row, column)

MAX_TRIES_PER_EVENT = 20
MAX_ALIGN_UNITS = 100  # search bound of _frame_aligned_units
MAX_MARGIN_UNITS = 4  # an acting shape's presence extends 1-4 time units around its action
BACKGROUND_TONE_SATURATION = (0.1, 0.3)
BACKGROUND_TONE_VALUE = (0.22, 0.4)
BACKGROUND_CONTRAST = (0.06, 0.12)
_STEP = {"left": (0, -1), "right": (0, 1), "up": (-1, 0), "down": (1, 0)}


@dataclass(frozen=True)
class Background:
    """A texture kind, its two muted tones (RGB in [0, 1]), a spatial frequency, an angle and a noise seed."""

    kind: str
    tones: tuple[tuple[float, float, float], tuple[float, float, float]]
    frequency: float
    angle: float
    seed: int


@dataclass(frozen=True)
class Action:
    type: str  # move | recolour | grow
    span: Span
    direction: str | None = None  # move only
    to_cell: Cell | None = None  # move only
    colour: str | None = None  # recolour only


@dataclass(frozen=True)
class Actor:
    id: int
    kind: str
    colour: str
    cell: Cell
    presence: Span
    action: Action | None = None
    distractor_of: int | None = None

    @property
    def name(self) -> str:
        return f"{self.colour} {self.kind}"


@dataclass(frozen=True)
class Event:
    """An annotated happening: an actor's appearance (span = presence) or its action."""

    id: int
    type: str  # appear | move | recolour | grow
    actor: int
    span: Span
    direction: str | None = None
    colour: str | None = None


@dataclass(frozen=True)
class Track:
    """An actor's state at an array of times: visibility, normalised centre, size factor and colour name index."""

    visible: np.ndarray
    x: np.ndarray
    y: np.ndarray
    scale: np.ndarray
    colour: np.ndarray


@dataclass(frozen=True)
class World:
    seed: int
    duration: float
    fps: float
    size: tuple[int, int]
    grid: int
    shape_scale: float
    noise: float
    flicker: float
    background: Background
    actors: tuple[Actor, ...]
    events: tuple[Event, ...]

    @property
    def num_frames(self) -> int:
        return int(round(self.duration * self.fps))

    def frame_times(self) -> np.ndarray:
        return np.arange(self.num_frames, dtype=np.float64) / self.fps

    def actor(self, actor_id: int) -> Actor:
        return self.actors[actor_id]

    def is_persistent(self, actor: Actor) -> bool:
        return actor.presence == (0.0, self.duration)

    def track(self, actor: Actor, times: np.ndarray) -> Track:
        return actor_track(actor, np.asarray(times, dtype=np.float64), self.grid)

    def to_dict(self) -> dict[str, Any]:
        from dataclasses import asdict

        return {
            "seed": self.seed,
            "duration": self.duration,
            "fps": self.fps,
            "size": list(self.size),
            "grid": self.grid,
            "shape_scale": self.shape_scale,
            "noise": self.noise,
            "flicker": self.flicker,
            "background": asdict(self.background),
            "actors": [asdict(a) for a in self.actors],
            "events": [asdict(e) for e in self.events],
        }


def cell_centre(cell: Cell, grid: int) -> tuple[float, float]:
    """Normalised (x, y) centre of a grid cell."""
    row, col = cell
    return (col + 0.5) / grid, (row + 0.5) / grid


def actor_track(actor: Actor, times: np.ndarray, grid: int) -> Track:
    """Vectorised state of ``actor`` at ``times`` (seconds); the single source of truth for pixels and captions."""
    s, e = actor.presence
    visible = (times >= s) & (times < e)
    x0, y0 = cell_centre(actor.cell, grid)
    x, y = np.full_like(times, x0), np.full_like(times, y0)
    scale = np.ones_like(times)
    colour = np.full(times.shape, COLOUR_NAMES.index(actor.colour), dtype=np.int64)
    act = actor.action
    if act is not None:
        a, b = act.span
        during = (times >= a) & (times < b)
        if act.type == "move" and act.to_cell is not None:
            x1, y1 = cell_centre(act.to_cell, grid)
            f = np.clip((times - a) / (b - a), 0.0, 1.0)
            x, y = x0 + (x1 - x0) * f, y0 + (y1 - y0) * f
        elif act.type == "grow":
            scale = np.where(during, GROW_FACTOR, 1.0)
        elif act.type == "recolour" and act.colour is not None:
            colour = np.where(during, COLOUR_NAMES.index(act.colour), colour)
    return Track(visible, x, y, scale, colour)


class _Builder:
    """Draws actors one by one, keeping (shape, colour) pairs unique and grid cells free over time."""

    def __init__(self, rng: np.random.Generator, cfg: WorldConfig, units: int) -> None:
        self.rng, self.cfg, self.units = rng, cfg, units
        self.used: set[tuple[str, str]] = set()
        self.reserved: list[tuple[frozenset[Cell], int, int]] = []
        self.actors: list[dict[str, Any]] = []
        self.spans: list[tuple[int, int]] = []  # primary event intervals, in time units

    # --- time -------------------------------------------------------------------------------------------------
    def length(self, lo: int, hi: int) -> int:
        f0, f1 = self.cfg.event_fraction
        want = self.units * self.rng.uniform(f0, f1)
        shortest = int(np.ceil(self.cfg.min_event / self.cfg.time_unit - 1e-9))
        return int(min(max(round(want), shortest), hi - lo))

    def place(self, lo: int, hi: int, length: int) -> tuple[int, int]:
        starts = np.arange(lo, hi - length + 1)
        hits = np.zeros(len(starts), dtype=bool)
        for a, b in self.spans:
            hits |= (starts < b) & (a < starts + length)
        free, overlapping = starts[~hits], starts[hits]
        wants_overlap = self.rng.random() < self.cfg.overlap
        pool = overlapping if (wants_overlap and len(overlapping)) or not len(free) else free
        s = int(pool[self.rng.integers(len(pool))])
        return s, s + length

    def presence_around(self, span: tuple[int, int]) -> tuple[int, int]:
        if self.rng.random() < self.cfg.persistent:
            return 0, self.units
        lo = span[0] - int(self.rng.integers(1, MAX_MARGIN_UNITS + 1))
        hi = span[1] + int(self.rng.integers(1, MAX_MARGIN_UNITS + 1))
        return (0, self.units) if lo < 1 or hi > self.units - 1 else (lo, hi)

    # --- identity and space -----------------------------------------------------------------------------------
    def combo(self, kind: str | None = None, colour: str | None = None) -> tuple[str, str] | None:
        pool = [
            (k, c)
            for k in SHAPES
            for c in COLOUR_NAMES
            if (k, c) not in self.used and kind in (None, k) and colour in (None, c)
        ]
        return pool[self.rng.integers(len(pool))] if pool else None

    def is_free(self, cells: frozenset[Cell], p: tuple[int, int]) -> bool:
        return not any(cells & c and a < p[1] and p[0] < b for c, a, b in self.reserved)

    def static_cell(self, presence: tuple[int, int]) -> Cell | None:
        g = self.cfg.grid
        free = [(r, c) for r in range(g) for c in range(g) if self.is_free(frozenset([(r, c)]), presence)]
        return free[self.rng.integers(len(free))] if free else None

    def move_path(self, presence: tuple[int, int]) -> tuple[str, Cell, Cell, frozenset[Cell]] | None:
        g, options = self.cfg.grid, {}
        for d in DIRECTIONS:
            dr, dc = _STEP[d]
            for r in range(g):
                for c in range(g):
                    for k in range(1, g):
                        path = frozenset((r + dr * i, c + dc * i) for i in range(k + 1))
                        end = (r + dr * k, c + dc * k)
                        if 0 <= end[0] < g and 0 <= end[1] < g and self.is_free(path, presence):
                            options.setdefault(d, []).append(((r, c), end, path))
        if not options:
            return None
        d = sorted(options)[self.rng.integers(len(options))]
        start, end, path = options[d][self.rng.integers(len(options[d]))]
        return d, start, end, path

    # --- actors -----------------------------------------------------------------------------------------------
    def add_primary(self, etype: str) -> bool:
        lo, hi = (1, self.units - 1) if etype == "appear" else (0, self.units)
        span = self.place(lo, hi, self.length(lo, hi))
        presence = span if etype == "appear" else self.presence_around(span)
        combo = self.combo()
        if combo is None:
            return False
        actor: dict[str, Any] = {"kind": combo[0], "colour": combo[1], "presence": presence, "action": None}
        if etype == "move":
            path = self.move_path(presence)
            if path is None:
                return False
            direction, cell, to_cell, cells = path
            actor["action"] = {"type": "move", "span": span, "direction": direction, "to_cell": to_cell}
        else:
            cell = self.static_cell(presence)
            if cell is None:
                return False
            cells = frozenset([cell])
            if etype in ACTION_TYPES:
                actor["action"] = {"type": etype, "span": span}
            if etype == "recolour":
                self.used.add(combo)  # so the new colour differs from the actor's own
                target = self.combo(kind=combo[0])
                if target is None:
                    return False
                actor["action"]["colour"] = target[1]
                self.used.add(target)
        actor["cell"] = cell
        self.commit(actor, combo, cells)
        self.spans.append(span)
        return True

    def add_distractor(self, of: int) -> None:
        target = self.actors[of]
        span = target["action"]["span"] if target["action"] else target["presence"]
        same_colour = self.rng.random() < 0.5
        combo = self.combo(colour=target["colour"]) if same_colour else self.combo(kind=target["kind"])
        lo = span[0] - int(self.rng.integers(1, MAX_MARGIN_UNITS + 1))
        hi = span[1] + int(self.rng.integers(1, MAX_MARGIN_UNITS + 1))
        presence = (0, self.units) if lo < 1 or hi > self.units - 1 else (lo, hi)
        cell = self.static_cell(presence) if combo else None
        if combo is None or cell is None:
            return
        actor = {
            "kind": combo[0],
            "colour": combo[1],
            "presence": presence,
            "action": None,
            "cell": cell,
            "distractor_of": of,
        }
        self.commit(actor, combo, frozenset([cell]))

    def commit(self, actor: dict[str, Any], combo: tuple[str, str], cells: frozenset[Cell]) -> None:
        self.used.add(combo)
        self.reserved.append((cells, *actor["presence"]))
        self.actors.append(actor)


def _background(rng: np.random.Generator) -> Background:
    kinds = tuple(BACKGROUNDS)
    kind = kinds[rng.integers(len(kinds))]
    hue = rng.random()
    sat = rng.uniform(*BACKGROUND_TONE_SATURATION)
    val = rng.uniform(*BACKGROUND_TONE_VALUE)
    dark = _hsv_to_rgb(hue, sat, val)
    light = _hsv_to_rgb(hue, sat, val + rng.uniform(*BACKGROUND_CONTRAST))
    return Background(
        kind,
        (dark, light),
        float(round(rng.uniform(3.0, 7.0), 3)),
        float(round(rng.uniform(0.0, np.pi), 3)),
        int(rng.integers(2**31)),
    )


def _hsv_to_rgb(h: float, s: float, v: float) -> tuple[float, float, float]:
    i, f = int(h * 6) % 6, h * 6 - int(h * 6)
    p, q, t = v * (1 - s), v * (1 - s * f), v * (1 - s * (1 - f))
    rgb = [(v, t, p), (q, v, p), (p, v, t), (p, q, v), (t, p, v), (v, p, q)][i]
    return tuple(round(float(x), 4) for x in rgb)  # type: ignore[return-value]


def _frame_aligned_units(cfg: WorldConfig) -> int:
    """Smallest number of time units whose length is a whole number of frames (1 when fps * time_unit is whole).

    Durations are multiples of it, so a video's frame count times its frame period is exactly its duration.
    """
    for n in range(1, MAX_ALIGN_UNITS + 1):
        frames = n * cfg.time_unit * cfg.fps
        if abs(frames - round(frames)) < 1e-6:
            return n
    return 1


def generate_world(seed: int, cfg: WorldConfig) -> World:
    """Draw one video's world from ``seed`` (deterministic: same seed and config, same world)."""
    rng = np.random.default_rng([seed, 0])
    unit = cfg.time_unit
    step = _frame_aligned_units(cfg)
    lo = int(np.ceil(cfg.duration[0] / unit / step - 1e-9))
    hi = int(np.floor(cfg.duration[1] / unit / step + 1e-9))
    units = step * int(rng.integers(lo, max(lo, hi) + 1))
    background = _background(rng)
    builder = _Builder(rng, cfg, units)
    target = int(rng.integers(cfg.events[0], cfg.events[1] + 1))
    weights = np.asarray(cfg.event_weights, dtype=np.float64) / sum(cfg.event_weights)
    for _ in range(target * MAX_TRIES_PER_EVENT):
        if len(builder.spans) >= target:
            break
        builder.add_primary(EVENT_TYPES[rng.choice(len(EVENT_TYPES), p=weights)])
    for i in range(len(builder.actors)):
        if rng.random() < cfg.distractors:
            builder.add_distractor(i)
    return _freeze(seed, cfg, units, background, builder.actors)


def _freeze(seed: int, cfg: WorldConfig, units: int, bg: Background, raw: list[dict[str, Any]]) -> World:
    def sec(span: tuple[int, int]) -> Span:
        return (round(span[0] * cfg.time_unit, 6), round(span[1] * cfg.time_unit, 6))

    actors = []
    for i, a in enumerate(raw):
        act = a["action"]
        action = (
            None
            if act is None
            else Action(
                act["type"], sec(act["span"]), act.get("direction"), act.get("to_cell"), act.get("colour")
            )
        )
        actors.append(
            Actor(i, a["kind"], a["colour"], a["cell"], sec(a["presence"]), action, a.get("distractor_of"))
        )
    duration = round(units * cfg.time_unit, 6)
    events = []
    for a in actors:
        if a.presence != (0.0, duration):
            events.append(("appear", a.id, a.presence, None, None))
        if a.action is not None:
            events.append((a.action.type, a.id, a.action.span, a.action.direction, a.action.colour))
    order = sorted(events, key=lambda ev: (ev[2], ev[1], EVENT_TYPES.index(ev[0])))
    return World(
        seed,
        duration,
        cfg.fps,
        tuple(cfg.size),
        cfg.grid,
        cfg.shape_scale,
        cfg.noise,
        cfg.flicker,
        bg,
        tuple(actors),
        tuple(Event(i, *ev) for i, ev in enumerate(order)),
    )
