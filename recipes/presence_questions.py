"""Recipe data: short-clip multiple-choice questions about what is on screen, written as a ``custom`` source.

The tiny answerer has to bind what it sees (a colour, a shape) to an option letter. The synthetic benchmark asks
~10 questions per video, most of them about events that need timing; this stage adds many cheap, unambiguous
ones on 4-8 second windows of the training videos, computed from the worlds the generator saved
(``worlds/train/*.json``), in the agent's own multiple-choice layout:

- ``shown``: "Which shape is shown in the video?" — one shape on screen the whole window; the wrong options are
  never on screen in the window (nor in the margin its crop jitter may add), shapes sharing a colour or a kind
  with one on screen first;
- ``colour``: "What colour is the <kind>?" — the only shape of that kind in the window; the other shapes'
  colours are the first wrong options, so naming any visible colour is not enough;
- ``kind``: "What shape is the <colour> one?" — likewise with the kinds;
- ``never``: "Which of these shapes is never shown in the video?" — three shapes on screen the whole window and
  one that is not;
- ``colour_seen`` / ``kind_seen`` (single-attribute, not in the default mix): "Which colour is shown in the
  video?" over four colour words / "What shape is shown in the video?" over four kind words, the three wrong ones
  nowhere in the window: one visual feature matched against one option word, no binding of a colour to a shape
  (the first step of a curriculum; ``--types`` picks the kinds of question, "kind_seen:2" weighing one twice as
  much, ``--window`` their length);
- ``background`` (single-attribute, not in the default mix): "What is the background of the video?" over four of
  the textures, the benchmark's own wording: the background is the same in every window;
- ``describe`` (not in the default mix, never hinted): "Describe the video." answered in free text, no options:
  "The background is diagonal stripes. It shows the blue square and the red star." (the shapes on screen in
  alphabetical order), asked only of windows where every shape that may be seen (jitter and margin included) is on
  screen the whole window in one colour, so the description is exactly what the clip shows. Trained on every word
  of the reply (``recipes.letter_binding``), it asks the language model to SAY what the tower sees, far more
  signal a question than one option letter.

Shapes that change colour inside a window are never asked about. The windows are training data only: the test
split and the ``medium`` preset are untouched. Output: ``<out>/train.jsonl`` (docs/DATA.md, ``custom``), one line
per question, its window as ``spans`` so that ``answer_crop`` shows exactly that window (jittered by a quarter).
"""

from __future__ import annotations

import argparse
import json
import logging
import random
from collections.abc import Mapping, Sequence
from pathlib import Path

from videomind.data.synthetic.config import BACKGROUNDS, COLOUR_NAMES, SHAPES

log = logging.getLogger(__name__)

WINDOW = (4.0, 8.0)  # seconds; the answer crop's minimum is 4 s, so a window is shown as it is
STEP = 0.5  # window bounds are multiples of the synthetic world's frame period
JITTER = 0.25  # the answer crop jitter of the base preset: a window may grow by this share at each end
MARGIN = 0.5  # seconds added around the jittered window when listing what might be on screen
KIND_WEIGHTS = {"shown": 0.35, "colour": 0.25, "kind": 0.25, "never": 0.15}
# asked only when picked (``types``), with equal weights
SINGLE_ATTRIBUTE = ("colour_seen", "kind_seen", "background", "describe")
LETTERS = "ABCD"
FIELDS = ("colour", "kind")  # an actor's fields, in the order of the (colour, kind) pairs


def colours_shown(actor: dict, start: float, end: float) -> set[str]:
    """The colours ``actor`` shows in [start, end) (empty when it is not on screen then)."""
    p0, p1 = actor["presence"]
    if p1 <= start or p0 >= end:
        return set()
    shown = {actor["colour"]}
    action = actor.get("action") or {}
    if action.get("type") == "recolour":
        a, b = action["span"]
        if a < end and b > start:
            shown.add(action["colour"])
            if a <= max(start, p0) and b >= min(end, p1):
                shown.discard(actor["colour"])
    return shown


def _steady(actor: dict, start: float, end: float) -> bool:
    """On screen for the whole window, in one colour."""
    p0, p1 = actor["presence"]
    return p0 <= start and p1 >= end and colours_shown(actor, start, end) == {actor["colour"]}


def _options(
    answer: str, hard: list[str], easy: list[str], rng: random.Random
) -> tuple[list[str], str] | None:
    wrong: list[str] = []
    for group in (hard, easy):
        shuffled = list(dict.fromkeys(group))
        rng.shuffle(shuffled)
        wrong += [w for w in shuffled if w != answer and w not in wrong]
    if len(wrong) < 3:
        return None
    options = [answer, *wrong[:3]]
    rng.shuffle(options)
    return options, LETTERS[options.index(answer)]


def window_questions(
    world: dict, start: float, end: float, rng: random.Random, weights: dict[str, float] = KIND_WEIGHTS
) -> dict | None:
    """One question about the window [start, end) of ``world`` (a saved world's dict), or None if none fits;
    ``weights``: the kinds of question to draw from and how often."""
    grow = JITTER * (end - start) + MARGIN
    around = (max(0.0, start - grow), min(world["duration"], end + grow))
    actors = world["actors"]
    # sorted: no hash order
    maybe = sorted({(c, a["kind"]) for a in actors for c in colours_shown(a, *around)})
    steady = [a for a in actors if _steady(a, start, end)]
    never = [f"the {c} {k}" for k in SHAPES for c in COLOUR_NAMES if (c, k) not in maybe]
    kinds = list(weights)
    rng.shuffle(kinds)
    kinds.sort(key=lambda k: -rng.random() * weights[k])
    for kind in kinds:
        built = None
        if kind == "shown" and steady:
            a = rng.choice(steady)
            similar = [n for n in never if a["colour"] in n or a["kind"] in n]
            text = "Which shape is shown in the video?"
            built = _options(f"the {a['colour']} {a['kind']}", similar, never, rng)
        elif kind in ("colour", "kind") and steady:
            # ask the attribute ``kind`` of the only shape on screen with the other attribute of ``a``
            a = rng.choice(steady)
            asked, given = (0, 1) if kind == "colour" else (1, 0)  # index in the (colour, kind) pairs
            if sum(pair[given] == a[FIELDS[given]] for pair in maybe) == 1:
                text = (f"What colour is the {a['kind']}?" if kind == "colour"
                        else f"What shape is the {a['colour']} one?")  # fmt: skip
                seen = [pair[asked] for pair in maybe if pair[asked] != a[FIELDS[asked]]]
                every = COLOUR_NAMES if kind == "colour" else SHAPES
                built = _options(a[FIELDS[asked]], seen, list(every), rng)
        elif kind == "background":
            text = "What is the background of the video?"
            built = _options(BACKGROUNDS[world["background"]["kind"]], [], list(BACKGROUNDS.values()), rng)
        elif kind == "describe" and steady and maybe == sorted((a["colour"], a["kind"]) for a in steady):
            shown = sorted(f"the {a['colour']} {a['kind']}" for a in steady)
            listed = shown[0] if len(shown) == 1 else f"{', '.join(shown[:-1])} and {shown[-1]}"
            background = BACKGROUNDS[world["background"]["kind"]]
            caption = f"The background is {background}. It shows {listed}."
            return {
                "question": "Describe the video.",
                "options": None,
                "answer": caption,
                "type": kind,
                "hint": "",
            }
        elif kind in ("colour_seen", "kind_seen") and steady:
            field, every = ("colour", COLOUR_NAMES) if kind == "colour_seen" else ("kind", SHAPES)
            # both colours of a shape recolouring near the window count as shown (whichever it has then)
            somewhere = {pair[FIELDS.index(field)] for pair in maybe} | {
                a[field] for a in actors if a["presence"][0] < around[1] and a["presence"][1] > around[0]
            }
            text = ("Which colour is shown in the video?" if kind == "colour_seen"
                    else "What shape is shown in the video?")  # fmt: skip
            absent = [w for w in every if w not in somewhere]
            built = _options(rng.choice(steady)[field], absent, [], rng)
        elif kind == "never" and len(steady) >= 3 and never:
            shown = [f"the {a['colour']} {a['kind']}" for a in steady]
            answer = rng.choice(never)
            options = [answer, *rng.sample(shown, 3)]
            rng.shuffle(options)
            text, built = (
                "Which of these shapes is never shown in the video?",
                (options, LETTERS[options.index(answer)]),
            )
        if built is not None:
            answer = built[0][LETTERS.index(built[1])]
            return {"question": text, "options": built[0], "answer": built[1], "type": kind,
                    "hint": _hint(kind, text, answer)}  # fmt: skip
    return None


def _hint(kind: str, question: str, answer: str) -> str:
    """A sentence that states the answer in words ("The video shows the red circle.")."""
    if kind == "shown":
        return f"The video shows {answer}."
    if kind == "colour":
        return f"The {question.split()[-1].rstrip('?')} in the video is {answer}."
    if kind == "kind":
        return f"The {question.split()[-2]} shape in the video is a {answer}."
    if kind == "colour_seen":
        return f"The colour shown in the video is {answer}."
    if kind == "kind_seen":
        return f"The shape shown in the video is a {answer}."
    if kind == "background":
        return f"The background of the video is {answer}."
    return f"The video never shows {answer}."


def write_presence(
    data: Path,
    out: Path,
    per_video: int = 12,
    seed: int = 0,
    hinted: float = 0.0,
    window: tuple[float, float] = WINDOW,
    types: Sequence[str] | Mapping[str, float] = tuple(KIND_WEIGHTS),
) -> int:
    """Write ``out/train.jsonl`` from ``data`` (a ``videomind synth make`` folder); returns the line count.

    A share ``hinted`` of the questions start with a sentence that states the answer in words ("The video shows
    the red circle. Which shape is shown in the video?"): on those the model learns to point from a named thing to
    its option letter, which it then has to do from what it sees on the others. ``window``: the shortest and
    longest window in seconds (multiples of 0.5); ``types``: the kinds of question asked (``KIND_WEIGHTS``'s
    weights, ``SINGLE_ATTRIBUTE`` ones at the largest of them), or a mapping of them to their weights."""
    unknown = [t for t in types if t not in KIND_WEIGHTS and t not in SINGLE_ATTRIBUTE]
    if unknown:
        raise ValueError(f"unknown question types {unknown}: pick from {[*KIND_WEIGHTS, *SINGLE_ATTRIBUTE]}")
    if isinstance(types, Mapping):
        weights = dict(types)
        if not all(w > 0 for w in weights.values()):
            raise ValueError(f"question type weights must be positive, got {weights}")
    else:
        weights = {t: KIND_WEIGHTS.get(t, max(KIND_WEIGHTS.values())) for t in types}
    worlds = sorted((data / "worlds" / "train").glob("*.json"))
    if not worlds:
        raise FileNotFoundError(f"no saved worlds in {data / 'worlds' / 'train'}: run the data stage first")
    out.mkdir(parents=True, exist_ok=True)
    rng = random.Random(seed)
    lines = 0
    with open(out / "train.jsonl.tmp", "w", encoding="utf-8") as file:
        for path in worlds:
            saved = json.loads(path.read_text())
            world, vid = saved["world"], saved["vid"]
            video = (data / "videos" / f"{vid}.mp4").resolve()
            for n in range(per_video):
                length = STEP * rng.randint(int(window[0] / STEP), int(window[1] / STEP))
                if length > world["duration"]:
                    continue
                start = STEP * rng.randint(0, int((world["duration"] - length) / STEP))
                asked = window_questions(world, start, start + length, rng, weights)
                if asked is None:
                    continue
                record = {"id": f"{vid}#p{n}", "video": str(video), "duration": world["duration"],
                          "spans": [[start, start + length]], "data_type": "multimodal", **asked}  # fmt: skip
                asked_type, hint = record.pop("type"), record.pop("hint")
                # free text: no options, never hinted, ids of its own (the files are mixed with others)
                if record["options"] is None:
                    del record["options"]
                    record["id"] = f"{vid}#d{n}"
                record["extra"] = {
                    "presence_type": asked_type,
                    "hinted": rng.random() < hinted and bool(hint),
                }
                if record["extra"]["hinted"]:
                    record["question"] = f"{hint} {record['question']}"
                file.write(json.dumps(record) + "\n")
                lines += 1
    (out / "train.jsonl.tmp").replace(out / "train.jsonl")
    return lines


def _type_weight(text: str) -> tuple[str, float] | str:
    """A ``--types`` value: "kind_seen" or "kind_seen:2"."""
    name, _, weight = text.partition(":")
    if name not in KIND_WEIGHTS and name not in SINGLE_ATTRIBUTE:
        raise argparse.ArgumentTypeError(f"unknown question type {name!r}")
    try:
        return (name, float(weight)) if weight else name
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r}: the weight after ':' must be a number") from None


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("data", type=Path, help="a `videomind synth make` folder (with worlds/train)")
    parser.add_argument("out", type=Path, help="folder for train.jsonl (a `custom` data source)")
    parser.add_argument("--per-video", type=int, default=12)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument(
        "--hinted", type=float, default=0.0, help="share of questions that state their answer"
    )
    parser.add_argument("--window", type=float, nargs=2, default=WINDOW, metavar=("SHORTEST", "LONGEST"),
                        help="window length in seconds (multiples of 0.5)")  # fmt: skip
    parser.add_argument("--types", nargs="+", default=list(KIND_WEIGHTS), type=_type_weight,
                        help=f"kinds of question asked, from {[*KIND_WEIGHTS, *SINGLE_ATTRIBUTE]}; "
                             "NAME:WEIGHT to weigh them")  # fmt: skip
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(message)s")
    named = [t if isinstance(t, tuple) else (t, None) for t in args.types]
    types = ({name: (1.0 if weight is None else weight) for name, weight in named}
             if any(weight is not None for _, weight in named) else [name for name, _ in named])  # fmt: skip
    count = write_presence(
        args.data, args.out, args.per_video, args.seed, args.hinted, tuple(args.window), types
    )
    log.info("wrote %d questions to %s", count, args.out)
    return 0


if __name__ == "__main__":  # pragma: no cover
    raise SystemExit(main())
