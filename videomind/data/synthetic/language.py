"""Words and templates: how events, shapes and actions are said (queries, paraphrases, options, captions).

Index 0 of every synonym / template list is the canonical wording; paraphrases draw other combinations.
"""

from __future__ import annotations

import numpy as np

from videomind.data.synthetic.world import Actor, Event

SHAPE_WORDS: dict[str, tuple[str, ...]] = {
    "circle": ("circle", "round shape", "disc"),
    "square": ("square", "box", "block"),
    "triangle": ("triangle", "three-sided shape", "wedge"),
    "star": ("star", "five-pointed star", "star shape"),
    "diamond": ("diamond", "rhombus", "diamond shape"),
}

DIRECTION_WORDS: dict[str, tuple[str, ...]] = {
    "left": ("to the left", "left", "leftwards"),
    "right": ("to the right", "right", "rightwards"),
    "up": ("up", "upwards", "towards the top"),
    "down": ("down", "downwards", "towards the bottom"),
}

# Third-person templates per event type; {a} is "the"/"a", {c} the colour, {s} the shape word, {d} a direction
# phrase, {c2} the new colour. The first template with "the" and the first synonyms is the canonical query.
EVENT_TEMPLATES: dict[str, tuple[str, ...]] = {
    "appear": (
        "{a} {c} {s} appears",
        "{a} {c} {s} shows up",
        "{a} {c} {s} comes into view and later leaves",
        "{a} {c} {s} is visible",
        "{a} {c} {s} enters the scene and then disappears",
        "there is {a} {c} {s} on screen",
    ),
    "move": (
        "{a} {c} {s} moves {d}",
        "{a} {c} {s} slides {d}",
        "{a} {c} {s} travels {d}",
        "{a} {c} {s} glides {d}",
        "{a} {c} {s} shifts {d}",
        "{a} {c} {s} drifts {d}",
    ),
    "recolour": (
        "{a} {c} {s} turns {c2}",
        "{a} {c} {s} becomes {c2} for a while",
        "{a} {c} {s} briefly changes colour to {c2}",
        "{a} {c} {s} flashes {c2}",
        "{a} {c} {s} is painted {c2} for a moment",
    ),
    "grow": (
        "{a} {c} {s} grows bigger",
        "{a} {c} {s} becomes larger",
        "{a} {c} {s} swells up",
        "{a} {c} {s} gets bigger for a moment",
        "{a} {c} {s} expands",
    ),
}

# Base-form predicates for "When does the red circle ...?" questions.
BASE_PREDICATES: dict[str, str] = {
    "appear": "appear",
    "move": "move {d}",
    "recolour": "turn {c2}",
    "grow": "grow bigger",
}
# Third-person predicates used inside questions, options and rephrased queries.
PREDICATES: dict[str, str] = {
    "appear": "appears",
    "move": "moves {d}",
    "recolour": "turns {c2}",
    "grow": "grows bigger",
}
CAPTION_ACTIVITY: dict[str, str] = {"move": "moving {dir}", "recolour": "turned {c2}", "grow": "grown bigger"}
WHEN_TEMPLATES = ("When does the {c} {s} {p}?", "At what time does the {c} {s} {p}?")
FIND_TEMPLATE = "Find the moment when the {c} {s} {p}."


def describe(actor: Actor) -> str:
    """The canonical name of an actor as an option: "the red circle"."""
    return f"the {actor.colour} {actor.kind}"


def predicate(event: Event, base: bool = False) -> str:
    """ "moves to the left" (or "move to the left" with ``base``) for an event, canonical wording."""
    table = BASE_PREDICATES if base else PREDICATES
    return table[event.type].format(d=DIRECTION_WORDS[event.direction or "left"][0], c2=event.colour)


def canonical_query(event: Event, actor: Actor) -> str:
    return _fill(EVENT_TEMPLATES[event.type][0], event, actor, "the", 0, 0)


def paraphrases(event: Event, actor: Actor, count: int, rng: np.random.Generator) -> list[str]:
    """``count`` distinct wordings of the event: the canonical one first, then random other combinations."""
    out = [canonical_query(event, actor)]
    templates = EVENT_TEMPLATES[event.type]
    n_dir = len(DIRECTION_WORDS[event.direction]) if event.direction else 1
    combos = [
        (t, a, s, d)
        for t in range(len(templates))
        for a in ("the", "a")
        for s in range(len(SHAPE_WORDS[actor.kind]))
        for d in range(n_dir)
    ]
    for i in rng.permutation(len(combos)):
        if len(out) >= count:
            break
        t, a, s, d = combos[i]
        if a == "the" and templates[t].startswith("there is"):
            continue
        text = _fill(templates[t], event, actor, a, s, d)
        if text not in out:
            out.append(text)
    return out


def _fill(template: str, event: Event, actor: Actor, article: str, shape_index: int, dir_index: int) -> str:
    d = DIRECTION_WORDS[event.direction][dir_index] if event.direction else ""
    return template.format(
        a=article, c=actor.colour, s=SHAPE_WORDS[actor.kind][shape_index], d=d, c2=event.colour
    )


def when_question(event: Event, actor: Actor, rng: np.random.Generator) -> str:
    """A grounding-only question about an event ("When does the red circle move to the left?")."""
    p = predicate(event, base=True)
    templates = (*WHEN_TEMPLATES, FIND_TEMPLATE)
    template = templates[rng.integers(len(templates))]
    return template.format(
        c=actor.colour, s=actor.kind, p=p if template != FIND_TEMPLATE else predicate(event)
    )


def action_option(event: Event) -> str:
    """What an actor does, as an answer option: "it moves to the left"."""
    return "it " + predicate(event)


def caption_item(actor: Actor, activity: str | None) -> str:
    return f"{actor.colour} {actor.kind}" + (f" {activity}" if activity else "")
