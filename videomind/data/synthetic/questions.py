"""Multiple-choice questions about a world: grounded ones (with their evidence span) and whole-video ones.

Every question has exactly four options, one of them right; a question is only asked when its answer is unique in
the video. ``route`` is the planner route of REFERENCE.md s.9.5: 1 = ground a rephrased query, verify, answer;
2 = ground the question itself, verify, answer; 4 = answer on the whole video (route 3, ground without answering, is
used for grounding-only questions, see ``annotate``).
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass

import numpy as np

from videomind.data.synthetic.config import ACTION_TYPES, BACKGROUNDS, COLOUR_NAMES, SHAPES
from videomind.data.synthetic.language import action_option, describe, predicate
from videomind.data.synthetic.world import Actor, Event, Span, World

NUM_OPTIONS = 4
ORDER_MARGIN = 2.0  # seconds: "the shape that appears after X" must appear this much before any other one
WRONG_TURNS = 2  # colour changes offered among the wrong answers of "what does X do", to balance the kinds


@dataclass(frozen=True)
class Question:
    type: str
    question: str
    options: tuple[str, ...]
    answer: int  # index into options
    evidence: tuple[Span, ...]  # empty for whole-video questions
    route: int
    query: str | None  # the grounding query of routes 1-2


def _options(answer: str, preferred: list[str], others: list[str], rng: np.random.Generator) -> tuple | None:
    """Four shuffled options: the answer plus wrong ones, taken from ``preferred`` first. None if too few."""
    pool: list[str] = []
    for group in (preferred, others):
        for i in rng.permutation(len(group)):
            if group[i] != answer and group[i] not in pool:
                pool.append(group[i])
    wrong = pool[: NUM_OPTIONS - 1]
    if len(wrong) < NUM_OPTIONS - 1:
        return None
    order = rng.permutation(NUM_OPTIONS)
    candidates = [answer, *wrong]
    return tuple(candidates[i] for i in order), int(np.flatnonzero(order == 0)[0])


def _ask(
    qtype: str,
    text: str,
    answer: str,
    preferred: list[str],
    others: list[str],
    evidence: tuple[Span, ...],
    route: int,
    query: str | None,
    rng: np.random.Generator,
) -> list[Question]:
    built = _options(answer, preferred, others, rng)
    if built is None:
        return []
    return [Question(qtype, text, built[0], built[1], evidence, route, query)]


def _absent_names(world: World) -> list[str]:
    """Descriptions of (shape, colour) pairs never used in the video (recolour targets count as used)."""
    used = {(a.kind, a.colour) for a in world.actors}
    used |= {(a.kind, a.action.colour) for a in world.actors if a.action and a.action.colour}
    return [f"the {c} {k}" for k in SHAPES for c in COLOUR_NAMES if (k, c) not in used]


def _similar_first(actor: Actor, world: World, exclude: int | None = None) -> list[str]:
    """Other actors, those sharing a colour or a shape with ``actor`` (the distractors) first."""
    others = [a for a in world.actors if a.id not in (actor.id, exclude)]
    return [
        describe(a) for a in sorted(others, key=lambda a: a.colour != actor.colour and a.kind != actor.kind)
    ]


def action_questions(world: World, rng: np.random.Generator) -> list[Question]:
    """which shape does X / what colour is the <shape> that does X / what does the X do / what colour does X turn."""
    actions = [e for e in world.events if e.type in ACTION_TYPES]
    preds = Counter(predicate(e) for e in actions)
    kind_preds = Counter((world.actor(e.actor).kind, predicate(e)) for e in actions)
    out: list[Question] = []
    for e in actions:
        a, p, ev = world.actor(e.actor), predicate(e), (e.span,)
        if preds[p] == 1:
            out += _ask(
                "which_shape",
                f"Which shape {p}?",
                describe(a),
                _similar_first(a, world),
                _absent_names(world),
                ev,
                1,
                f"a shape {p}",
                rng,
            )
        if kind_preds[(a.kind, p)] == 1:
            same_kind = [b.colour for b in world.actors if b.kind == a.kind]
            others = [c for c in COLOUR_NAMES if c != e.colour]
            out += _ask(
                "colour_of",
                f"What colour is the {a.kind} that {p}?",
                a.colour,
                same_kind,
                others,
                ev,
                1,
                f"a {a.kind} {p}",
                rng,
            )
        wrong = [action_option(_fake(e, t, d, c)) for t, d, c in _action_space(a, rng)]
        text = f"What does the {a.colour} {a.kind} do?"
        out += _ask("what_does", text, action_option(e), [], wrong, ev, 2, text, rng)
        if e.type == "recolour":
            others = [c for c in COLOUR_NAMES if c != a.colour]
            out += _ask(
                "turn_colour",
                f"What colour does the {a.colour} {a.kind} turn?",
                str(e.colour),
                [],
                others,
                ev,
                1,
                f"the {a.colour} {a.kind} changes colour",
                rng,
            )
    return out


def _action_space(actor: Actor, rng: np.random.Generator) -> list[tuple[str, str | None, str | None]]:
    """Possible actions: the four moves, growing, and a few colour changes (so no kind of answer stands out)."""
    moves = [("move", d, None) for d in ("left", "right", "up", "down")]
    colours = [
        c for c in COLOUR_NAMES if c != actor.colour and not (actor.action and actor.action.colour == c)
    ]
    picked = [colours[i] for i in rng.permutation(len(colours))[:WRONG_TURNS]]
    return [*moves, ("grow", None, None), *[("recolour", None, c) for c in picked]]


def _fake(event: Event, etype: str, direction: str | None, colour: str | None) -> Event:
    return Event(-1, etype, event.actor, event.span, direction, colour)


def _isolated(event: Event, others: list[Event], edge: int) -> bool:
    """No other event starts (edge 0) or ends (edge 1) within ``ORDER_MARGIN`` seconds of ``event``."""
    return all(abs(o.span[edge] - event.span[edge]) >= ORDER_MARGIN for o in others if o.actor != event.actor)


def order_questions(world: World, rng: np.random.Generator) -> list[Question]:
    """What appears after X leaves (colour or shape), which shape leaves just before X appears."""
    appears = [e for e in world.events if e.type == "appear"]
    out: list[Question] = []
    for x in appears:
        ax = world.actor(x.actor)
        name = f"{ax.colour} {ax.kind}"
        others = [e for e in appears if e.actor != x.actor]
        later = sorted((e for e in others if e.span[0] >= x.span[1]), key=lambda e: e.span)
        if later and _isolated(later[0], others, 0):
            b, ev = world.actor(later[0].actor), (later[0].span,)
            query = f"a shape appears after the {name} leaves"
            recolours = b.action is not None and b.action.type == "recolour"
            if rng.random() < 0.5 and not recolours:
                text = f"What colour is the shape that appears after the {name} leaves?"
                present = [a.colour for a in world.actors]
                out += _ask("after_colour", text, b.colour, present, list(COLOUR_NAMES), ev, 1, query, rng)
            else:
                text = f"What shape appears after the {name} leaves?"
                present = [a.kind for a in world.actors]
                out += _ask("after_shape", text, b.kind, present, list(SHAPES), ev, 1, query, rng)
        earlier = sorted((e for e in others if e.span[1] <= x.span[0]), key=lambda e: (e.span[1], e.span[0]))
        if earlier and _isolated(earlier[-1], others, 1):
            b, ev = world.actor(earlier[-1].actor), (earlier[-1].span,)
            text = f"Which shape leaves just before the {name} appears?"
            query = f"a shape leaves just before the {name} appears"
            out += _ask(
                "before_shape",
                text,
                describe(b),
                _similar_first(b, world, ax.id),
                _absent_names(world),
                ev,
                1,
                query,
                rng,
            )
    return out


def video_questions(world: World, rng: np.random.Generator) -> list[Question]:
    """Whole-video questions that need no grounding (planner route 4)."""
    n = len(world.actors)
    # Options are four consecutive counts (from 0) with the true one at a random place, so it is not always the least.
    first = int(rng.integers(max(0, n - NUM_OPTIONS + 1), n + 1))
    counts = [str(first + k) for k in range(NUM_OPTIONS)]
    out = _ask(
        "count", "How many different shapes are shown in the video?", str(n), [], counts, (), 4, None, rng
    )
    bg = BACKGROUNDS[world.background.kind]
    out += _ask(
        "background",
        "What is the background of the video?",
        bg,
        [],
        list(BACKGROUNDS.values()),
        (),
        4,
        None,
        rng,
    )
    absent = _absent_names(world)
    if absent and n >= NUM_OPTIONS - 1:
        answer = absent[rng.integers(len(absent))]
        present = [describe(a) for a in world.actors]
        out += _ask(
            "absent",
            "Which of these shapes is never shown in the video?",
            answer,
            present,
            [],
            (),
            4,
            None,
            rng,
        )
    return out


def all_questions(world: World, rng: np.random.Generator) -> tuple[list[Question], list[Question]]:
    """(grounded questions, whole-video questions) of a world, in a deterministic order."""
    return action_questions(world, rng) + order_questions(world, rng), video_questions(world, rng)
