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
from videomind.errors import EXIT_RUN_FAULT, VideoMindError, is_run_fault

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


class Parser(argparse.ArgumentParser):
    """argparse with a one-line error (what is wrong, and where the help is) instead of usage + error; exit 2."""

    def error(self, message: str):
        self.exit(2, f"{self.prog}: error: {message} (see `{self.prog} --help`)\n")


def build_parser() -> argparse.ArgumentParser:
    parser = Parser(prog="videomind", description="VideoMind: a Chain-of-LoRA video agent.")
    parser.add_argument("--version", action="version", version=f"videomind {__version__}")
    parser.add_argument("-v", "--verbose", action="count", default=0, help="more logging (-vv for debug)")
    parser.add_argument("-q", "--quiet", action="store_true", help="only warnings and errors")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND")
    for name, module_name in SUBCOMMANDS.items():
        try:
            module = importlib.import_module(module_name)
        except Exception as exc:  # noqa: BLE001 - one broken command must not take the others down
            _register_unavailable(sub, name, module_name, exc)
            continue
        module.register(sub)
    return parser


def _register_unavailable(sub, name: str, module_name: str, exc: Exception) -> None:
    """A command whose module does not import is listed as unavailable, and running it says why (exit 2)."""
    reason = f"{type(exc).__name__}: {exc}"
    # no option prefix: whatever follows (--help included) is taken as it is, and the command explains itself
    parser = sub.add_parser(name, help=f"(unavailable: {module_name} failed to import)", prefix_chars="\0")
    parser.add_argument("rest", nargs="*")

    def unavailable(_args) -> int:
        raise VideoMindError(
            f"the `{name}` command is unavailable: {module_name} failed to import ({reason}); reinstall videomind "
            "(pip install -e '.[dev,train,demo]') or install the missing package"
        )

    parser.set_defaults(func=unavailable)


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
        return exc.exit_code
    except KeyboardInterrupt:
        log.error("interrupted")
        return 130
    except Exception as exc:
        if not is_run_fault(exc):
            raise  # a bug: the traceback is what a report needs
        log.error("the run stopped on a fault of the machine, not of the input: %s: %s; free memory (or use a "
                  "smaller model, --dtype bfloat16, --device cpu) and run the command again", type(exc).__name__,
                  _first_line(exc))  # fmt: skip
        return EXIT_RUN_FAULT
    return int(result or 0)


def _first_line(exc: BaseException) -> str:
    text = str(exc).strip()
    return text.splitlines()[0] if text else ""


if __name__ == "__main__":  # pragma: no cover
    raise SystemExit(main())
