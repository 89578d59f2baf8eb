"""Score a folder of prediction shards: merge, deduplicate, find missing ids, compute and write ``metrics.json``.

``eval predict`` writes one JSON object per line (videomind.eval.predictions) into ``*.jsonl`` shard files, appending
and flushing per sample; a killed run can leave a partial last line. :func:`read_shards` reads every ``*.jsonl`` in
the folder (sorted by name), keeps the last complete line of each id, ignores a truncated last line and recovers a
record that a resumed run appended right after a partial one. :func:`score_folder` turns the lines into
:class:`videomind.metrics.report.EvalItem` rows, builds the report and writes ``metrics.json``.
"""

from __future__ import annotations

import json
import logging
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from videomind.errors import DataError, UserInputError
from videomind.eval.benchmarks import BENCHMARKS, Benchmark, get_benchmark
from videomind.metrics.report import EvalItem, MetricSpec, Report, build_report

log = logging.getLogger(__name__)

SHARD_GLOB = "*.jsonl"
METRICS_FILE = "metrics.json"
EXPECTED_IDS_FILE = "expected_ids.json"
RECORD_START = '{"id"'  # every line written by PredictionRecord.to_json starts with its id
MAX_LISTED_IDS = 20


@dataclass
class ShardRead:
    """What :func:`read_shards` found: the deduplicated lines (last one of each id wins) and what was skipped."""

    lines: dict[str, dict[str, Any]] = field(default_factory=dict)
    files: list[str] = field(default_factory=list)
    total: int = 0
    duplicates: int = 0
    truncated: list[str] = field(default_factory=list)
    malformed: list[str] = field(default_factory=list)


def _parse_line(text: str) -> dict[str, Any] | None:
    try:
        obj = json.loads(text)
    except json.JSONDecodeError:
        return None
    return obj if isinstance(obj, dict) and "id" in obj and isinstance(obj.get("sample"), dict) else None


def _is_cut(text: str) -> bool:
    """A record whose writing stopped part-way: it starts like one and the JSON ends before it is complete (a run
    killed mid-line; an older version then appended the next run's lines after it)."""
    if not text.startswith(RECORD_START):
        return False
    try:
        json.loads(text)
    except json.JSONDecodeError as exc:  # the text ran out: inside a string, or right where more was expected
        return exc.msg.startswith("Unterminated string") or exc.pos >= len(text.rstrip())
    return False


def _recover(text: str) -> dict[str, Any] | None:
    """A partial record followed by a complete one on the same line (a run killed mid-line, then resumed)."""
    start = text.find(RECORD_START, 1)
    while start > 0:  # records nest a sample that also starts with "id": try each start, leftmost first
        obj = _parse_line(text[start:])
        if obj is not None:
            return obj
        start = text.find(RECORD_START, start + 1)
    return None


def _read_file(path: Path, out: ShardRead) -> None:
    raw = path.read_text(encoding="utf-8", errors="replace")
    rows = raw.split("\n")
    for number, text in enumerate(rows, 1):
        if not text.strip():
            continue
        out.total += 1
        obj = _parse_line(text)
        where = f"{path.name}:{number}"
        if obj is None:
            obj = _recover(text)
            last = number == len(rows)  # no newline after it: the write was cut
            (out.truncated if last or obj is not None or _is_cut(text) else out.malformed).append(where)
            if obj is None:
                continue
        key = str(obj["id"])
        if key in out.lines:
            out.duplicates += 1
            del out.lines[key]  # re-insert so the order follows the line that wins
        out.lines[key] = obj


def read_shards(folder: str | Path) -> ShardRead:
    """Read every ``*.jsonl`` of ``folder``; raises :class:`DataError` when there is none."""
    folder = Path(folder)
    if not folder.is_dir():
        raise UserInputError(f"{folder} is not a folder; give the --out folder of `videomind eval predict`")
    paths = sorted(folder.glob(SHARD_GLOB))
    if not paths:
        raise DataError(f"no {SHARD_GLOB} prediction files in {folder}; run `videomind eval predict` first")
    out = ShardRead(files=[p.name for p in paths])
    for path in paths:
        _read_file(path, out)
    for where in out.truncated:
        log.warning("ignored a truncated line at %s (a killed run)", where)
    for where in out.malformed:
        log.warning("skipped an unreadable line at %s", where)
    return out


def read_expected_ids(folder: str | Path) -> list[str] | None:
    """The optional ``expected_ids.json`` (a list of ids, or ``{"ids": [...]}``) written by ``eval predict``."""
    path = Path(folder) / EXPECTED_IDS_FILE
    if not path.exists():
        return None
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except json.JSONDecodeError as exc:
        raise DataError(f"{path}: not valid JSON ({exc}); delete it or rewrite it as a list of ids") from exc
    ids = data.get("ids") if isinstance(data, dict) else data
    if not isinstance(ids, list):
        raise DataError(f'{path}: expected a JSON list of sample ids or {{"ids": [...]}}')
    return [str(i) for i in ids]


def ground_truth_spans(sample: Mapping[str, Any]) -> Sequence[Sequence[float]]:
    """The ground truth as annotated, which every official script scores against: QVHighlights'
    ``relevant_windows``, else the spans before clamping (``extra["raw_spans"]``, kept by the sources whenever
    clamping into [0, duration] changed them), else ``spans``."""
    extra = sample.get("extra") or {}
    return extra.get("relevant_windows") or extra.get("raw_spans") or sample.get("spans") or ()


def to_eval_item(line: Mapping[str, Any]) -> EvalItem:
    """The metric inputs of one prediction line (ground truth from ``line["sample"]``, as annotated). QVHighlights
    windows and saliency come from ``sample.extra`` (``relevant_windows``, ``relevant_clip_ids``,
    ``saliency_scores``); a release without option texts gives their number in ``extra["num_options"]``."""
    sample = line["sample"]
    extra = sample.get("extra") or {}
    saliency = None
    if extra.get("relevant_clip_ids") is not None and extra.get("saliency_scores") is not None:
        saliency = (extra["relevant_clip_ids"], extra["saliency_scores"])
    response = line.get("response")
    return EvalItem(
        id=str(line["id"]),
        tasks=tuple(sample.get("task") or ()),
        gt_spans=ground_truth_spans(sample),
        pred=line.get("pred"),
        conf=line.get("conf"),
        pred_ori=line.get("pred_ori"),
        options=sample.get("options") or extra.get("num_options"),
        answer=sample.get("answer"),
        response=response if response is not None else line.get("answer"),
        grounder_failed=line.get("grounder_success") is False,
        error=line.get("error"),
        duration=sample.get("duration"),
        saliency=saliency,
        pred_saliency=line.get("pred_saliency_scores"),
    )


def resolve_benchmark(name: str | None, lines: Sequence[Mapping[str, Any]]) -> Benchmark | None:
    """The benchmark named on the command line, else the one all lines name (``None`` if unknown)."""
    if name is not None:
        return get_benchmark(name)
    names = sorted({str(line.get("benchmark")) for line in lines if line.get("benchmark")})
    if len(names) > 1:
        raise UserInputError(
            f"the predictions mix benchmarks ({', '.join(names)}); score each folder separately or pass --benchmark"
        )
    if names and names[0] in BENCHMARKS:
        return BENCHMARKS[names[0]]
    if names:
        log.warning("benchmark %r is not in the table; scoring every applicable metric", names[0])
    return None


def _id_checks(found: Sequence[str], expected: Sequence[str] | None) -> dict[str, Any]:
    if expected is None:
        return {"missing": None, "missing_count": None, "unexpected_count": 0}
    have, want = set(found), set(expected)
    missing = [i for i in expected if i not in have]
    if missing:
        log.warning("%d of %d expected ids have no prediction, e.g. %s", len(missing), len(want), missing[:3])
    return {"missing": missing, "missing_count": len(missing), "unexpected_count": len(have - want)}


def score_lines(lines: Sequence[Mapping[str, Any]], spec: MetricSpec) -> Report:
    return build_report([to_eval_item(line) for line in lines], spec)


def score_folder(
    folder: str | Path,
    benchmark: str | None = None,
    overrides: Mapping[str, Any] | None = None,
    write: bool = True,
) -> dict[str, Any]:
    """Score a prediction folder with the benchmark's metrics, as its official script does.

    Args:
        folder: the ``--out`` folder of ``videomind eval predict`` (every ``*.jsonl`` shard in it).
        benchmark: the benchmark's name (default: the one written in the predictions).
        overrides: changes to the benchmark's :class:`MetricSpec`, e.g. ``{"parse_mode": "official"}`` or
            ``{"iou_rule": VIDEOMIND_RULE}`` to score with another script's rules.
        write: also write ``folder/metrics.json``.

    Returns:
        The report: overall and per-task metrics, counts (samples, failed, unparsable, zero-length predictions),
        missing / duplicated / malformed lines, the files read.

    Raises:
        UserInputError: ``folder`` is not a folder or the benchmark is unknown.
        DataError: the folder holds no prediction file.
    """
    shards = read_shards(folder)
    lines = list(shards.lines.values())
    bench = resolve_benchmark(benchmark, lines)
    spec = (bench.metrics if bench else MetricSpec()).with_(**dict(overrides or {}))
    report = score_lines(lines, spec)
    out = {
        "benchmark": bench.name if bench else None,
        "title": bench.title if bench else None,
        **report.to_dict(),
        **_id_checks(list(shards.lines), read_expected_ids(folder)),
        "duplicates": shards.duplicates,
        "truncated_lines": shards.truncated,
        "malformed_lines": shards.malformed,
        "files": shards.files,
    }
    if write:
        path = Path(folder) / METRICS_FILE
        path.write_text(json.dumps(out, indent=2, ensure_ascii=False) + "\n", encoding="utf-8")
        log.info("wrote %s", path)
    return out
