"""``videomind eval ...``: score prediction folders (``score``) and list the benchmark table (``list``).

Each action is added by one ``_add_<action>(sub)`` function listed in ``ACTIONS``; ``predict`` is added the same
way, as a sibling. Heavy imports happen inside the handlers.
"""

from __future__ import annotations

import argparse
import json
import os
from pathlib import Path

from videomind.cli.checks import (
    DEVICE_HELP,
    DTYPE_CHOICES,
    check_device,
    check_model_arguments,
    non_negative_int,
    positive_int,
)
from videomind.errors import UserInputError


def register(subparsers) -> None:
    parser = subparsers.add_parser("eval", help="evaluate on benchmarks: predict, score, list")
    sub = parser.add_subparsers(dest="eval_command", metavar="ACTION")
    parser.set_defaults(func=lambda args: parser.print_help() or 2)
    for add in ACTIONS:
        add(sub)


def _add_score(sub) -> None:
    score = sub.add_parser(
        "score",
        help="score a folder of prediction shards and write metrics.json",
        description="Merge every *.jsonl shard of DIR (last line of each id wins; a truncated last line from a "
        "killed run is ignored), report missing ids when DIR/expected_ids.json exists, print a table per task and "
        "write DIR/metrics.json.",
    )
    score.add_argument("dir", type=Path, help="the --out folder of `videomind eval predict`")
    score.add_argument("--benchmark", default=None, help="benchmark name (default: the one the lines name)")
    score.add_argument(
        "--json", action="store_true", help="print metrics.json to stdout instead of the table"
    )
    score.add_argument(
        "--parse-mode",
        choices=("robust", "official"),
        default=None,
        help="option-letter reading: robust (default) or the official check_ans rule",
    )
    score.add_argument(
        "--union",
        choices=("correct", "official"),
        default=None,
        help="CG-Bench set IoU: merge overlapping predictions (correct, default) or the official double count",
    )
    score.add_argument(
        "--conf-thr",
        type=float,
        default=None,
        help="CG-Bench: also keep predictions with confidence above this",
    )
    score.add_argument(
        "--top-k", type=positive_int, nargs="+", default=None, help="ranks k of R{k}@θ (e.g. 1 3 5)"
    )
    score.add_argument(
        "--iou-thresholds",
        type=float,
        nargs="+",
        default=None,
        help="IoU thresholds θ of R{k}@θ (e.g. 0.3 0.5 0.7)",
    )
    score.add_argument(
        "--iop-thresholds", type=float, nargs="+", default=None, help="IoP thresholds of R@IoPθ"
    )
    score.add_argument(
        "--iou-rule",
        choices=("videomind", "moment_detr", "nextgqa", "exact"),
        default=None,
        help="how IoU / IoP are computed (default: the benchmark's official script's rule, docs/EVALUATION.md)",
    )
    score.add_argument(
        "--official", action="store_true", help="shorthand for --parse-mode official --union official"
    )
    score.add_argument("--no-write", action="store_true", help="do not write metrics.json")
    score.add_argument(
        "--strict", action="store_true", help="exit 1 when ids are missing or lines were unreadable"
    )
    score.set_defaults(func=_score)


def _add_list(sub) -> None:
    listing = sub.add_parser("list", help="list the benchmarks, their sources, splits and headline metrics")
    listing.add_argument("--json", action="store_true", help="print the table as JSON")
    listing.set_defaults(func=_list)


def _add_predict(sub) -> None:
    predict = sub.add_parser(
        "predict",
        help="run the agent over a benchmark (sharded, resumable) into prediction shards",
        description="One JSON line per sample, appended and flushed as it finishes. Shards come from --shard i/N or "
        "torchrun's RANK/WORLD_SIZE (torchrun --nproc_per_node N -m videomind eval predict ...). Ids already written "
        "in OUT are skipped, so a killed run resumes where it stopped. A sample that fails (bad video, ...) is "
        "written with its error and the run goes on; out of memory and CUDA errors are retried, then the shard "
        "stops with exit 3 and writes nothing for that sample (docs/FAILURES.md).",
    )
    predict.add_argument("benchmark", help="benchmark name (videomind eval list)")
    predict.add_argument(
        "--data-root", required=True, type=Path, help="the data root holding <dataset>/ folders"
    )
    predict.add_argument(
        "--model", default=None, help="checkpoint folder or hub id (default: the embedded model)"
    )
    predict.add_argument("--out", required=True, type=Path, help="output folder of the prediction shards")
    predict.add_argument("--limit", type=positive_int, default=None, help="only the first N samples")
    predict.add_argument("--shard", default=None, help="i/N: this process predicts samples i, i+N, ...")
    predict.add_argument("--base-model", default=None, help="override the checkpoint's base_model_path")
    predict.add_argument("--device", default="auto", help=f"{DEVICE_HELP} (default auto)")
    predict.add_argument("--dtype", default="auto", help=f"{', '.join(DTYPE_CHOICES)} (default auto)")
    predict.add_argument(
        "--device-map", default=None, help="'auto' spreads one large model over several GPUs"
    )
    predict.add_argument("--planner", action="store_true", help="enable auto planning and rephrasing")
    predict.add_argument("--no-verifier", action="store_true")
    predict.add_argument(
        "--plain", action="store_true", help="the plain official order (no sharing, no batching)"
    )
    predict.add_argument("--max-new-tokens", type=int, default=None, help="cap every role's generation")
    predict.add_argument("--no-progress", action="store_true")
    predict.add_argument(
        "--retry-failed",
        action="store_true",
        help="run the samples written with an error again (lines replaced)",
    )
    predict.add_argument(
        "--max-consecutive-failures", type=non_negative_int, default=None, metavar="N",
        help="stop after N failed samples in a row (default 10; 0: never)",
    )  # fmt: skip
    predict.set_defaults(func=_predict)


def _predict(args: argparse.Namespace) -> int:
    from videomind.eval.predict import FaultPolicy, Shard, predict

    check_model_arguments(args)
    if args.out.exists() and not args.out.is_dir():
        raise UserInputError(
            f"--out {args.out} is a file; give a folder (new, or an earlier run's to resume it)"
        )
    faults = FaultPolicy()
    if args.max_consecutive_failures is not None:
        faults = FaultPolicy(max_consecutive_failures=args.max_consecutive_failures)
    shard = Shard.parse(args.shard)
    if shard.count > 1 and args.device == "auto" and "LOCAL_RANK" in os.environ:
        import torch

        if torch.cuda.is_available():  # torchrun on GPUs: one device per process
            args.device = f"cuda:{int(os.environ['LOCAL_RANK']) % torch.cuda.device_count()}"
    load = {"device": args.device, "dtype": args.dtype}
    if args.base_model:
        load["base_model"] = args.base_model
    if args.device_map:
        load["device_map"] = args.device_map
    overrides = {}
    if args.planner:
        overrides.update(auto_planning=True, auto_rephrasing=True)
    if args.no_verifier:
        overrides["use_verifier"] = False
    if args.plain:
        overrides["fast"] = False
    if args.max_new_tokens is not None:
        from videomind.agent import GenerationSettings

        overrides["generation"] = GenerationSettings(max_new_tokens=args.max_new_tokens)
    path = predict(args.benchmark, args.data_root, args.out, model=args.model, limit=args.limit, shard=shard,
                   progress=not args.no_progress, load_kwargs=load, retry_failed=args.retry_failed,
                   faults=faults, **overrides)  # fmt: skip
    print(f"wrote {path}")
    return 0


def _add_ablate(sub) -> None:
    ablate = sub.add_parser(
        "ablate",
        help="the paper's ablation in miniature on a synthetic test set (blind / answerer / +grounder / +verifier / "
        "full agent) and the planner's routing",
    )
    ablate.add_argument("--model", default=None, help="checkpoint (default: the embedded model)")
    ablate.add_argument(
        "--data-root", required=True, type=Path, help="holds synthetic/ (videomind synth make)"
    )
    ablate.add_argument("--out", required=True, type=Path)
    ablate.add_argument(
        "--grounding", type=non_negative_int, default=300, help="grounding queries (spread over videos)"
    )
    ablate.add_argument("--mcq", type=non_negative_int, default=300, help="multiple-choice questions")
    ablate.add_argument("--qa", type=non_negative_int, default=100, help="whole-video questions")
    ablate.add_argument(
        "--planning", type=non_negative_int, default=200,
        help="planner questions (0: keep the planner figures of a report already in --out)",
    )  # fmt: skip
    ablate.add_argument(
        "--settings", nargs="+", default=None,
        help="subset of the settings to run; settings of a report already in --out are kept, so processes "
        "measuring different settings can share one --out",
    )  # fmt: skip
    ablate.add_argument("--device", default="auto")
    ablate.add_argument("--max-new-tokens", type=int, default=None, help="cap every role's generation")
    ablate.set_defaults(func=_ablate)


def _ablate(args: argparse.Namespace) -> int:
    from videomind.eval.ablation import SETTINGS, markdown_table, run_ablation

    check_device(args.device)

    report = run_ablation(args.model, args.data_root, args.out, args.grounding, args.mcq, args.qa, args.planning,
                          tuple(args.settings or SETTINGS), args.device, args.max_new_tokens)  # fmt: skip
    print(markdown_table(report))
    planner = report.get("planner")  # absent with --planning 0 until a process measuring it has written
    if planner:
        print(f"planner: valid JSON {planner['valid_json']:.1f} %, "
              f"routing accuracy {planner['routing_accuracy']:.1f} %")  # fmt: skip
    print(f"wrote {args.out / 'ablation.json'}")
    return 0


ACTIONS = (_add_predict, _add_score, _add_list, _add_ablate)


def _overrides(args: argparse.Namespace) -> dict:
    out = {"parse_mode": "official", "union": "official"} if args.official else {}
    if args.parse_mode is not None:
        out["parse_mode"] = args.parse_mode
    if args.union is not None:
        out["union"] = args.union
    if args.conf_thr is not None:
        out["conf_thr"] = args.conf_thr
    for name in ("top_k", "iou_thresholds", "iop_thresholds"):
        if getattr(args, name) is not None:
            out[name] = tuple(getattr(args, name))
    if args.iou_rule is not None:
        from videomind.metrics.grounding import IOU_RULES

        out["iou_rule"] = IOU_RULES[args.iou_rule]
    return out


def _print_summary(result: dict) -> None:
    from videomind.metrics.report import Report, format_table, table_columns

    report = Report(
        result["overall"], result["per_task"], result["count"], result["failures"], result["errors"],
        result["unparsable"], tuple(result["headline"]), zero_length=result.get("zero_length", 0),
    )  # fmt: skip
    title = result.get("title") or "unknown benchmark (every applicable metric)"
    print(f"{title}: {result['count']} samples from {len(result['files'])} file(s)")
    print(format_table(report, table_columns(report)))
    print(
        f"predictions: {report.unparsable} unparsable answer(s), {report.failures} grounder failure(s), "
        f"{report.errors} error(s), {report.zero_length} zero-length top-1 span(s)"
    )
    if result.get("verifier"):
        v = result["verifier"]
        print(
            f"verifier changed top-1 IoU on {v['samples']} samples: raised {v['iou_raise']}, lowered {v['iou_lower']}"
        )
    notes = [
        f"{result['missing_count']} expected ids missing" if result.get("missing_count") else "",
        f"{result['duplicates']} duplicate lines (last kept)" if result["duplicates"] else "",
        f"{len(result['truncated_lines'])} truncated line(s) ignored" if result["truncated_lines"] else "",
        f"{len(result['malformed_lines'])} unreadable line(s) skipped" if result["malformed_lines"] else "",
    ]
    if any(notes):
        print("note: " + "; ".join(n for n in notes if n))


def _score(args: argparse.Namespace) -> int:
    from videomind.eval.score import METRICS_FILE, score_folder

    result = score_folder(args.dir, args.benchmark, _overrides(args), write=not args.no_write)
    if args.json:
        print(json.dumps(result, indent=2, ensure_ascii=False))
    else:
        _print_summary(result)
        if not args.no_write:
            print(f"wrote {args.dir / METRICS_FILE}")
    problems = bool(result.get("missing_count")) or bool(result["malformed_lines"])
    return 1 if args.strict and problems else 0


def _list(args: argparse.Namespace) -> int:
    from videomind.eval.benchmarks import BENCHMARKS

    rows = [b.to_dict() for b in BENCHMARKS.values()]
    if args.json:
        print(json.dumps(rows, indent=2))
        return 0
    for r in rows:
        roles = "+".join(r["roles"])
        where = f"{r['source']}:{r['split']}"
        print(f"{r['name']:<21} {r['title']:<29} {where:<27} {roles:<27} {', '.join(r['headline'])}")
    return 0
