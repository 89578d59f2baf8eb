"""``videomind data list | check | stats | download | extract``: the datasets on disk (docs/DATA.md)."""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

DEFAULT_ROOT = Path("data")
MAX_PROBLEMS_SHOWN = 50


def register(subparsers) -> None:
    parser = subparsers.add_parser("data", help="list, check, inspect, download and extract datasets")
    sub = parser.add_subparsers(dest="data_command", metavar="ACTION")
    parser.set_defaults(func=lambda args: parser.print_help() or 2)

    p = sub.add_parser("list", help="every dataset source: name, task, splits, roles")
    p.add_argument("--json", action="store_true", help="print JSON instead of a table")
    p.set_defaults(func=_list)

    p = sub.add_parser(
        "check", help="annotations parse and every video exists and is readable (exit 1 if not)"
    )
    _name_root(p)
    p.add_argument("--no-probe", action="store_true", help="only check that videos exist (do not open them)")
    p.add_argument("--no-progress", action="store_true", help="no progress bar")
    p.set_defaults(func=_check)

    p = sub.add_parser("stats", help="sample counts, video-duration and span-length histograms")
    _name_root(p)
    p.add_argument("--bins", type=int, default=10, help="histogram bins (default %(default)s)")
    p.set_defaults(func=_stats)

    p = sub.add_parser(
        "download", help="fetch a dataset's files from the public VideoMind dataset repository"
    )
    p.add_argument("name", help="dataset name (see `videomind data list`)")
    p.add_argument("--root", type=Path, default=DEFAULT_ROOT, help="data root (default %(default)s)")
    p.add_argument("--no-videos", action="store_true", help="annotations only, no video archives")
    p.add_argument("--extract", action="store_true", help="extract the downloaded archives afterwards")
    p.set_defaults(func=_download)

    p = sub.add_parser("extract", help="join split archives (videos.tar.gz.00, .01, ...) and extract them")
    p.add_argument("folder", type=Path, help="folder searched (recursively) for archives")
    p.add_argument("--out", type=Path, default=None, help="extract here (default: beside each archive)")
    p.add_argument("--force", action="store_true", help="extract again archives already extracted")
    p.add_argument("--delete-archives", action="store_true", help="delete the parts once extracted cleanly")
    p.add_argument("--no-progress", action="store_true", help="no progress bar")
    p.set_defaults(func=_extract)


def _name_root(p: argparse.ArgumentParser) -> None:
    p.add_argument("name", help="dataset name (see `videomind data list`)")
    p.add_argument("--root", type=Path, default=DEFAULT_ROOT, help="data root (default %(default)s)")
    p.add_argument(
        "--split", action="append", default=None, help="only this split (repeatable; default: all)"
    )


def _list(args) -> int:
    from videomind.data.registry import get_source_class, list_sources

    rows = []
    for name in list_sources():
        cls = get_source_class(name)
        rows.append({"name": name, "task": cls.task, "splits": list(cls.splits), "roles": list(cls.roles)})
    if args.json:
        print(json.dumps(rows, indent=2))
        return 0
    print(f"{'name':<27} {'task':<12} {'splits':<22} roles")
    for r in rows:
        splits = ",".join(r["splits"]) if len(r["splits"]) <= 3 else ",".join(r["splits"][:3]) + ",..."
        print(f"{r['name']:<27} {r['task']:<12} {splits:<22} {','.join(r['roles'])}")
    return 0


def _check(args) -> int:
    from tqdm.auto import tqdm

    from videomind.data.registry import get_source
    from videomind.data.stats import check_source, probe_duration

    source = get_source(args.name, _existing_root(args.root))
    progress = (lambda it: it) if args.no_progress else (lambda it: tqdm(it, desc="videos", unit="video"))
    report = check_source(
        source, args.split, probe=None if args.no_probe else probe_duration, progress=progress
    )
    counts = ", ".join(f"{split} {n}" for split, n in report.counts.items()) or "none"
    print(f"{report.name}: samples {counts}; {report.videos} videos checked")
    for problem in report.problems[:MAX_PROBLEMS_SHOWN]:
        print(f"  problem: {problem}")
    if len(report.problems) > MAX_PROBLEMS_SHOWN:
        print(f"  ... and {len(report.problems) - MAX_PROBLEMS_SHOWN} more")
    print("OK" if report.ok else f"{len(report.problems)} problem(s)")
    return 0 if report.ok else 1


def _stats(args) -> int:
    from videomind.data.registry import get_source
    from videomind.data.stats import default_splits, load_splits, stats_lines

    source = get_source(args.name, _existing_root(args.root))
    loaded, problems = load_splits(source, args.split or default_splits(source))
    print("\n".join(stats_lines(source, loaded, args.bins)))
    for problem in problems:
        print(f"  problem: {problem}", file=sys.stderr)
    return 0 if loaded else 1


def _existing_root(root: Path) -> Path:
    if not root.is_dir():
        from videomind.errors import UserInputError

        raise UserInputError(
            f"--root {root} is not a folder; give the data root holding the dataset's folder"
        )
    return root


def _download(args) -> int:
    from videomind.data.download import download_source
    from videomind.data.registry import get_source

    source = get_source(args.name, args.root)
    paths = download_source(source, with_videos=not args.no_videos)
    print(f"{source.name}: {len(paths)} files in {args.root}")
    if not args.extract:
        if any(".tar" in p.name for p in paths):
            folders = sorted({str(p.parent) for p in paths if ".tar" in p.name})
            print("extract the videos with: " + "; ".join(f"videomind data extract {f}" for f in folders))
        return 0
    return _extract_folders(sorted({p.parent for p in paths if ".tar" in p.name}), progress=True)


def _extract(args) -> int:
    return _extract_folders([args.folder], args.out, not args.no_progress, args.force, args.delete_archives)


def _extract_folders(folders, out=None, progress=True, force=False, delete=False) -> int:
    from videomind.data.extract import extract_all

    refused = 0
    for folder in folders:
        for r in extract_all(folder, out, progress=progress, force=force, delete=delete):
            state = (
                "already extracted"
                if r.already_done
                else f"{r.extracted} extracted, {r.skipped} already there"
            )
            print(f"{r.archive} -> {r.target}: {state}")
            for name, reason in r.refused:
                print(f"  refused {name!r}: {reason}")
            refused += len(r.refused)
    if refused:
        print(f"{refused} member(s) refused (not extracted): the archive tried to write outside its folder")
    return 1 if refused else 0
