"""Recipe data: "between the markers" pairs, the verifier's question about where an event lies in its clip.

A verifier that binds the named shape to its clip (``recipes.presence_pairs``) still ranked the grounder's
candidates at chance: a wrong candidate's zoomed clip usually shows the shape too, in its margins, and what tells
it from the right one is whether the event lies between ``<|seg_start|>`` and ``<|seg_end|>`` (docs/TINY_MODEL.md,
seventh and eighth sittings). Each pair is one training grounding query, with the same wording in both halves:

- "Yes": the event's own span as the candidate;
- "No": a window of the same length just after or just before it (a gap of up to ``MAX_GAP`` of its length; the
  side drawn among those that fit in the video), so that its zoomed clip shows the event in a margin, not
  between the markers. With ``--near-miss`` the "No" window is shifted by ``NEAR_MISS`` of its length instead
  (IoU 0.11-0.33 with the event, below the official 0.5): the grounder's near misses, whose clips show part of
  the event between the markers and the rest in a margin.

Only pairs whose two zoomed clips are (nearly) whole, not clamped by the video's ends, are kept: then both halves
put their markers at about a quarter and three quarters of a clip of the same length, and nothing but the clip's
content tells them apart. Pairs that kept the clamped ones taught a verifier that markers near a clip's end mean "Yes"
(the right window of an event that lasts to the video's end is clamped, its "No" mostly is not); measured, moving
the markers onto the margins raised that verifier's score on 99 % of clips. By default only "appears" events
(a shape on screen for its span and not around it): what the vision tower sees best.

Output: ``<out>/<split>.jsonl``, a ``custom`` source (docs/DATA.md) with ``task: verifying`` and the candidate
and label in ``extra`` (``--split test``: pairs of the test videos to measure with, which no stage trains on).
"""

from __future__ import annotations

import logging
import random
from collections.abc import Sequence
from functools import partial
from pathlib import Path

from recipes.presence_pairs import pairs_parser, write_pairs
from videomind.data.conversations import VERIFIER_MIN_LEN
from videomind.spans import zoom_window

log = logging.getLogger(__name__)

MAX_GAP = 0.3  # the "No" window starts / ends up to this share of the event's length away from it
BESIDE = (1.0, 1.0 + MAX_GAP)  # the "No" window's shift from the event, in shares of its length: beside it
NEAR_MISS = (0.5, 0.8)  # ... overlapping it: IoU (1 - s) / (1 + s) = 0.33 ... 0.11
MARKER_BOUNDS = (0.2, 0.8)  # relative marker positions a kept pair's clips stay within
EVENT_TYPES = ("appear",)  # the generator's event_type of the queries paired by default


def centred_markers(candidate: Sequence[float], duration: float) -> bool:
    """Whether the verifier's zoomed clip of ``candidate`` puts its markers within ``MARKER_BOUNDS`` (at 1/4 and 3/4
    when the clip lies whole in the video; clamped by a video's end, one moves out toward it)."""
    _, (ss, se) = zoom_window(candidate, duration, VERIFIER_MIN_LEN)
    return ss >= MARKER_BOUNDS[0] and se <= MARKER_BOUNDS[1]


def marker_pair(
    record: dict, world: dict, rng: random.Random, shift: tuple[float, float] = BESIDE
) -> tuple[dict, ...] | None:
    """The "Yes" and "No" halves of one grounding record, the "No" window moved by a share ``shift`` of the event's
    length (drawn uniformly) to one side; None when no such window fits in the video; an empty tuple when one does
    but a zoomed clip's markers leave ``MARKER_BOUNDS`` (the pair is dropped)."""
    start, end = (float(x) for x in record["span"][0])
    length, duration = end - start, world["duration"]
    moved = rng.uniform(*shift) * length
    sides = [w for w in ([start + moved, end + moved], [start - moved, end - moved])
             if w[0] >= 0 and w[1] <= duration]  # fmt: skip
    if not sides:
        return None
    other = [round(x, 2) for x in rng.choice(sides)]
    if not (centred_markers((start, end), duration) and centred_markers(other, duration)):
        return ()
    return tuple(
        {
            "query": record["query"],
            "task": "verifying",
            "data_type": "multimodal",
            "extra": {"candidate": candidate, "label": label, "event": record.get("event")},
        }
        for label, candidate in (("Yes", [start, end]), ("No", other))
    )


def write_marker_pairs(
    data: Path,
    out: Path,
    per_video: int = 6,
    seed: int = 0,
    split: str = "train",
    event_types: Sequence[str] = EVENT_TYPES,
    shift: tuple[float, float] = BESIDE,
) -> int:
    """Write ``out/<split>.jsonl`` from ``data`` (a ``videomind synth make`` folder): up to ``per_video`` of each
    video's single-span, non-relative grounding queries of ``event_types``, drawn at random, each as its "Yes" and
    "No" pair, the "No" moved by ``shift`` (fewer where a clip would be clamped); returns the line count."""

    def wanted(record: dict) -> bool:
        return (not record.get("relative") and len(record["span"]) == 1
                and record.get("event_type") in event_types)  # fmt: skip

    return write_pairs(data, out, split, per_video, seed, partial(marker_pair, shift=shift), wanted)


def main(argv: list[str] | None = None) -> int:
    parser = pairs_parser(__doc__, per_video=6)
    parser.add_argument(
        "--event-types",
        nargs="+",
        default=list(EVENT_TYPES),
        help="the generator's event_type of the queries",
    )
    parser.add_argument(
        "--near-miss",
        action="store_true",
        help=f"move the 'No' window by {NEAR_MISS[0]}-{NEAR_MISS[1]} of its length (overlapping the event)",
    )
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(message)s")
    shift = NEAR_MISS if args.near_miss else BESIDE
    count = write_marker_pairs(
        args.data, args.out, args.per_video, args.seed, args.split, args.event_types, shift
    )
    log.info("wrote %d verifier pairs to %s", count, args.out)
    return 0


if __name__ == "__main__":  # pragma: no cover
    raise SystemExit(main())
