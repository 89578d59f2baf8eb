"""``videomind synth make OUT``: generate the synthetic shape world as a dataset folder (docs/SYNTHETIC.md)."""

from __future__ import annotations

import argparse
import json
from pathlib import Path

from videomind.errors import UserInputError

DEFAULT_VIDEOS = 100
SPLIT_CHOICES = ("train", "val", "test")
ALL_SPLITS = ("train", "test")


def register(subparsers) -> None:
    parser = subparsers.add_parser("synth", help="generate the synthetic shape world (videos + annotations)")
    sub = parser.add_subparsers(dest="synth_command", metavar="ACTION")
    parser.set_defaults(func=lambda args: parser.print_help() or 2)
    make = sub.add_parser(
        "make",
        help="write a dataset folder",
        description="Generate videos and annotations for every role into "
        "OUT (resumable: finished videos are skipped). Same seed and options give the same bytes.",
    )
    make.add_argument("out", type=Path, help="output folder (e.g. data/synthetic)")
    make.add_argument(
        "--videos", type=int, default=DEFAULT_VIDEOS, help="videos per split (default %(default)s)"
    )
    make.add_argument("--eval-videos", type=int, default=None, help="videos of val/test (default: --videos)")
    make.add_argument("--seed", type=int, default=0, help="base seed (default %(default)s)")
    make.add_argument("--preset", default="medium", choices=("easy", "medium", "hard"))
    make.add_argument("--split", default="all", help="train, val, test, a comma list, or all (= train,test)")
    make.add_argument("--workers", type=int, default=1, help="parallel processes (default %(default)s)")
    make.add_argument("--fps", type=float, default=None, help="frames per second of the videos")
    make.add_argument("--size", default=None, help="frame size: N or HxW, even (e.g. 112 or 96x128)")
    make.add_argument(
        "--duration", type=float, nargs=2, metavar=("MIN", "MAX"), help="video length range, seconds"
    )
    make.add_argument("--events", type=int, nargs=2, metavar=("MIN", "MAX"), help="primary events per video")
    make.add_argument("--paraphrases", type=int, default=None, help="grounding queries per event")
    make.add_argument(
        "--overlap", type=float, default=None, help="probability that an event overlaps another"
    )
    make.add_argument("--distractors", type=float, default=None, help="probability of a distractor per event")
    make.add_argument("--no-progress", action="store_true", help="no progress bar")
    make.set_defaults(func=_make)


def parse_size(text: str) -> tuple[int, int]:
    parts = text.lower().split("x")
    try:
        values = [int(p) for p in parts]
    except ValueError:
        values = []
    if len(values) not in (1, 2):
        raise UserInputError(f"--size {text!r}: give N or HxW in pixels, e.g. 112 or 96x128")
    return (values[0], values[-1])


def parse_splits(text: str) -> list[str]:
    if text == "all":
        return list(ALL_SPLITS)
    splits = [s.strip() for s in text.split(",") if s.strip()]
    bad = [s for s in splits if s not in SPLIT_CHOICES]
    if bad or not splits:
        raise UserInputError(
            f"--split {text!r}: use {', '.join(SPLIT_CHOICES)}, a comma list of them, or all"
        )
    return splits


def _overrides(args: argparse.Namespace) -> dict:
    out = {}
    if args.fps is not None:
        out["fps"] = args.fps
    if args.size is not None:
        out["size"] = parse_size(args.size)
    if args.duration is not None:
        out["duration"] = tuple(args.duration)
    if args.events is not None:
        out["events"] = tuple(args.events)
    for name in ("paraphrases", "overlap", "distractors"):
        if getattr(args, name) is not None:
            out[name] = getattr(args, name)
    return out


def _make(args: argparse.Namespace) -> int:
    from videomind.data.synthetic import make_dataset

    splits = parse_splits(args.split)
    evals = args.videos if args.eval_videos is None else args.eval_videos
    counts = {s: args.videos if s == "train" else evals for s in splits}
    out = make_dataset(
        args.out,
        counts,
        seed=args.seed,
        preset=args.preset,
        splits=splits,
        workers=args.workers,
        progress=not args.no_progress,
        **_overrides(args),
    )
    manifest = json.loads((out / "manifest.json").read_text(encoding="utf-8"))
    print(f"synthetic dataset in {out} (seed {manifest['seed']}, preset {manifest['preset']})")
    for split in splits:
        sizes = []
        for kind in manifest["kinds"]:
            with (out / f"{split}_{kind}.jsonl").open(encoding="utf-8") as f:
                sizes.append(f"{kind} {sum(1 for _ in f)}")
        print(f"  {split}: {counts[split]} videos; " + ", ".join(sizes))
    return 0
