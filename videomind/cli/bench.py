"""``videomind bench NAME [--json OUT]``: performance benchmarks; each prints its report as JSON on stdout.

A benchmark is a module ``videomind.bench.<name>`` with ``add_arguments(parser)`` and ``run(args) -> dict``, and
optionally ``table(report) -> str`` (a human summary printed on stderr). Modules not written yet are left out.
"""

from __future__ import annotations

import argparse
import importlib
import json
import sys
from pathlib import Path

BENCHES = {
    "decode": "videomind.bench.decode",
    "agent": "videomind.bench.agent",
    "memory": "videomind.bench.memory",
    "scale": "videomind.bench.scale",
    "score": "videomind.bench.score",
}


def register(subparsers) -> None:
    parser = subparsers.add_parser("bench", help="performance benchmarks (JSON report)")
    sub = parser.add_subparsers(dest="bench_name", metavar="BENCH")
    parser.set_defaults(func=lambda args: parser.print_help() or 2)
    for name, module_name in BENCHES.items():
        try:
            module = importlib.import_module(module_name)
        except ModuleNotFoundError as exc:
            if exc.name != module_name:
                raise
            continue  # benchmark not written yet
        doc = (module.__doc__ or name).strip().splitlines()[0].split("``: ", 1)[-1]
        bench = sub.add_parser(name, help=doc, description=module.__doc__,
                               formatter_class=argparse.RawDescriptionHelpFormatter)  # fmt: skip
        bench.add_argument("--json", type=Path, metavar="OUT", help="also write the report to OUT")
        module.add_arguments(bench)
        bench.set_defaults(func=_run, bench_module=module_name)


def _run(args: argparse.Namespace) -> int:
    from videomind.bench.common import machine_info, write_json

    module = importlib.import_module(args.bench_module)
    report = module.run(args)
    report.setdefault("machine", machine_info())
    if hasattr(module, "table"):
        print(module.table(report), file=sys.stderr)
    print(json.dumps(report, indent=2))
    if args.json:
        write_json(args.json, report)
    return 0
