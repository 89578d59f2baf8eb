"""Recipe data: the verifier's question on the base stage, with its answer on screen or nowhere near it.

A verifier LoRA on the tiny base never learnt to tell whether the shape a query names is in the clip it is shown:
its held-out ROC AUC stayed near 0.5 in every run, while the same pairs trained into every parameter of the model
reached 0.67 and were still rising (docs/TINY_MODEL.md, "The verifier, examined"). These pairs put that binding in
the verifier's own format (``VERIFIER_PROMPT`` on the zoomed clip, "Yes." / "No."), for a stage where every
parameter trains. In the base stage's mix they reached AUC 0.594 on test pairs and the verifier LoRA trained after
them lost it (docs/TINY_MODEL.md, sixth sitting), so the recipe writes them but its base does not train on them yet;
``--split test`` pairs measure binding alone (``recipes.verifier_auc``).

Each pair is one training grounding query of the synthetic benchmark and its event's span as the candidate:

- "Yes": the query as the generator wrote it ("the blue square appears");
- "No": the same query with the shape it names replaced by a (colour, shape) that is nowhere in the zoomed clip,
  nor in half a second around it ("the blue triangle appears", "the red square appears"): two thirds of them
  keep the colour or the shape, so that neither word alone tells the answer.

The two share their clip and differ in two words, and every query wording is used for both answers (the label leak
of generator version 1 cannot recur). Queries that do not name their shape ("a shape moves to the left") and
relative ones are skipped. Output: ``<out>/train.jsonl`` (``--split test``: ``test.jsonl``, pairs of the test
videos to measure with, which no stage trains on), a ``custom`` source (docs/DATA.md) with ``task: verifying`` and
the candidate and label in ``extra``.
"""

from __future__ import annotations

import argparse
import json
import logging
import random
from collections import defaultdict
from collections.abc import Callable
from pathlib import Path

from recipes.presence_questions import colours_shown
from videomind.data.conversations import VERIFIER_MIN_LEN
from videomind.data.synthetic.config import COLOUR_NAMES, SHAPES
from videomind.data.synthetic.language import SHAPE_WORDS
from videomind.spans import zoom_window

log = logging.getLogger(__name__)

MARGIN = 0.5  # seconds around the zoomed clip where a "No" pair's shape must not be either (frame sampling)
SIMILAR_SHARE = 2 / 3  # of the "No" pairs, the share whose shape keeps the named colour or kind


def named_shape(query: str, colour: str, kind: str) -> str | None:
    """The words of ``query`` that name the (colour, kind) shape ("blue block"), or None when it names it otherwise."""
    for word in sorted(SHAPE_WORDS[kind], key=len, reverse=True):  # "diamond shape" before "diamond"
        if f"{colour} {word}" in query:
            return f"{colour} {word}"
    return None


def absent_shapes(world: dict, window: tuple[float, float]) -> list[tuple[str, str]]:
    """Every (colour, kind) that no actor shows in ``window`` widened by ``MARGIN``, in a fixed order."""
    around = (window[0] - MARGIN, window[1] + MARGIN)
    shown = {(c, a["kind"]) for a in world["actors"] for c in colours_shown(a, *around)}
    return [(c, k) for k in SHAPES for c in COLOUR_NAMES if (c, k) not in shown]


def pair_for(record: dict, world: dict, rng: random.Random) -> tuple[dict, dict] | None:
    """The "Yes" and "No" pair of one grounding record (``train_grounding.jsonl``), or None when it has none."""
    if record.get("relative") or len(record["span"]) != 1:
        return None
    actor = world["actors"][world["events"][record["event"]]["actor"]]
    words = named_shape(record["query"], actor["colour"], actor["kind"])
    if words is None:
        return None
    candidate = [float(x) for x in record["span"][0]]
    window, _ = zoom_window(candidate, world["duration"], VERIFIER_MIN_LEN)
    absent = absent_shapes(world, window)
    similar = [p for p in absent if actor["colour"] == p[0] or actor["kind"] == p[1]]
    choices = similar if similar and rng.random() < SIMILAR_SHARE else absent
    if not choices:
        return None
    colour, kind = rng.choice(choices)
    other = record["query"].replace(words, f"{colour} {rng.choice(SHAPE_WORDS[kind])}", 1)
    pairs = []
    for label, query in (("Yes", record["query"]), ("No", other)):
        pairs.append({"query": query, "task": "verifying", "data_type": "multimodal",
                      "extra": {"candidate": candidate, "label": label, "event": record["event"]}})  # fmt: skip
    return pairs[0], pairs[1]


def write_presence_pairs(
    data: Path, out: Path, per_video: int = 3, seed: int = 0, split: str = "train"
) -> int:
    """Write ``out/<split>.jsonl`` from ``data`` (a ``videomind synth make`` folder): for ``per_video`` of each
    video's grounding queries, drawn at random, its "Yes" and its "No" pair; returns the line count. The test split's
    pairs are for measuring (``recipes.verifier_auc`` reads them), never for training."""
    return write_pairs(data, out, split, per_video, seed, pair_for)


PairMaker = Callable[[dict, dict, random.Random], "tuple[dict, ...] | None"]


def write_pairs(
    data: Path,
    out: Path,
    split: str,
    per_video: int,
    seed: int,
    make_pair: PairMaker,
    wanted: Callable[[dict], bool] | None = None,
) -> int:
    """``out/<split>.jsonl`` of verifier pairs: each video's grounding queries (those ``wanted``) in a random order,
    ``make_pair(record, world, rng)`` for each until ``per_video`` were made (None: that query has no pair and does
    not count; an empty tuple counts but writes nothing); returns the line count."""
    worlds = sorted((data / "worlds" / split).glob("*.json"))
    grounding = data / f"{split}_grounding.jsonl"
    if not worlds or not grounding.is_file():
        raise FileNotFoundError(f"no saved worlds or grounding queries in {data}: run the data stage first")
    queries: dict[str, list[dict]] = defaultdict(list)
    with open(grounding, encoding="utf-8") as lines:
        for line in lines:
            if line.strip():
                record = json.loads(line)
                if wanted is None or wanted(record):
                    queries[record["vid"]].append(record)
    out.mkdir(parents=True, exist_ok=True)
    rng = random.Random(seed)
    count = 0
    with open(out / f"{split}.jsonl.tmp", "w", encoding="utf-8") as file:
        for path in worlds:
            saved = json.loads(path.read_text())
            world, vid = saved["world"], saved["vid"]
            video = (data / "videos" / f"{vid}.mp4").resolve()
            records = list(queries.get(vid, ()))
            rng.shuffle(records)
            made = 0
            for record in records:
                if made == per_video:
                    break
                pair = make_pair(record, world, rng)
                if pair is None:
                    continue
                for half in pair:
                    line = {"id": f"{record['id']}#{half['extra']['label'].lower()}", "video": str(video),
                            "duration": world["duration"], **half}  # fmt: skip
                    file.write(json.dumps(line) + "\n")
                    count += 1
                made += 1
    (out / f"{split}.jsonl.tmp").replace(out / f"{split}.jsonl")
    return count


def pairs_parser(description: str, per_video: int) -> argparse.ArgumentParser:
    """The command line of a verifier-pairs writer: data, out, ``--per-video``, ``--seed``, ``--split``."""
    parser = argparse.ArgumentParser(
        description=description, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("data", type=Path, help="a `videomind synth make` folder (with worlds/train)")
    parser.add_argument("out", type=Path, help="folder for <split>.jsonl (a `custom` data source)")
    parser.add_argument("--per-video", type=int, default=per_video, help="grounding queries paired per video")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--split", default="train", choices=("train", "test"))
    return parser


def main(argv: list[str] | None = None) -> int:
    args = pairs_parser(__doc__, per_video=3).parse_args(argv)
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(message)s")
    count = write_presence_pairs(args.data, args.out, args.per_video, args.seed, args.split)
    log.info("wrote %d verifier pairs to %s", count, args.out)
    return 0


if __name__ == "__main__":  # pragma: no cover
    raise SystemExit(main())
