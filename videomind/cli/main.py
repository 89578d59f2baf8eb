"""Entry point of the ``videomind`` command.

Each subcommand lives in its own module exposing ``register(subparsers)``; heavy imports happen inside the
handlers, so ``videomind --help`` stays fast.
"""

from __future__ import annotations

import argparse
import importlib
import logging
import os
import sys
from collections.abc import Sequence

from videomind import __version__
from videomind.errors import VideoMindError

SUBCOMMANDS = {
    "ask": "videomind.cli.ask",
    "ground": "videomind.cli.ground",
    "train": "videomind.cli.train",
    "eval": "videomind.cli.eval",
    "data": "videomind.cli.data",
    "video": "videomind.cli.video",
    "synth": "videomind.cli.synth",
    "demo": "videomind.cli.demo",
    "bench": "videomind.cli.bench",
}

log = logging.getLogger("videomind")


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="videomind", description="VideoMind: a Chain-of-LoRA video agent.")
    parser.add_argument("--version", action="version", version=f"videomind {__version__}")
    parser.add_argument("-v", "--verbose", action="count", default=0, help="more logging (-vv for debug)")
    parser.add_argument("-q", "--quiet", action="store_true", help="only warnings and errors")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND")
    for module_name in SUBCOMMANDS.values():
        try:
            module = importlib.import_module(module_name)
        except ModuleNotFoundError as exc:
            if exc.name != module_name:
                raise
            continue  # subcommand not built yet
        module.register(sub)
    return parser


class RankZeroFilter(logging.Filter):
    """In multi-process runs (torchrun, deepspeed) only rank 0 logs information; every rank logs its warnings and
    errors, marked with its rank (torchtune's ``log_rank_zero``, nanochat's ``print0``)."""

    def __init__(self, rank: int) -> None:
        super().__init__()
        self.rank = rank

    def filter(self, record: logging.LogRecord) -> bool:
        return self.rank == 0 or record.levelno >= logging.WARNING


def configure_logging(verbose: int, quiet: bool) -> None:
    level = logging.WARNING if quiet else (logging.DEBUG if verbose > 1 else logging.INFO)
    rank = int(os.environ.get("RANK", "0"))
    marker = f"[rank {rank}] " if rank else ""
    logging.basicConfig(level=level, format=f"%(levelname)s {marker}%(name)s: %(message)s", stream=sys.stderr)
    for handler in logging.getLogger().handlers:
        handler.addFilter(RankZeroFilter(rank))
    if verbose < 2:
        for noisy in ("transformers", "peft", "httpx", "urllib3", "matplotlib", "PIL"):
            logging.getLogger(noisy).setLevel(logging.WARNING)


def main(argv: Sequence[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    if not getattr(args, "func", None):
        parser.print_help()
        return 2
    configure_logging(args.verbose, args.quiet)
    try:
        result = args.func(args)
    except VideoMindError as exc:
        log.error("%s", exc)
        return 2
    except KeyboardInterrupt:
        log.error("interrupted")
        return 130
    return int(result or 0)


if __name__ == "__main__":  # pragma: no cover
    raise SystemExit(main())
