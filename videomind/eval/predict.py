"""``eval predict``: run the agent over a benchmark, one JSON line per sample, sharded and resumable.

- Shards: ``shard=(i, n)`` or torchrun's ``RANK`` / ``WORLD_SIZE``; shard i takes samples ``i, i+n, i+2n, ...`` and
  writes ``predictions.rank{i}-of-{n}.jsonl`` (each process only appends to its own file).
- Resume: ids with a complete line in ANY ``*.jsonl`` of the folder are skipped, so a killed run restarted with the
  same (or another) shard count neither loses nor duplicates predictions; a partial last line is cut first.
- Sample faults (a corrupt or missing video, a malformed sample, anything else a sample raises) are written as a
  failed line with the error and the run goes on; ``retry_failed`` runs those ids again, replacing their lines.
  After ``max_consecutive_failures`` failures in a row the run stops (something is wrong with all of them).
- Run faults (out of memory, CUDA errors, a dead worker: ``errors.is_run_fault``) are retried after a pause
  (``retry_delays``); if they persist the shard stops with ``RunFaultError`` and writes nothing for that sample,
  so running the same command again picks it up. Each line is flushed and fsynced.
"""

from __future__ import annotations

import gc
import json
import logging
import os
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path

from videomind.agent import AgentOptions, VideoMindAgent
from videomind.errors import RunFaultError, UserInputError, is_run_fault
from videomind.eval.benchmarks import Benchmark, get_benchmark
from videomind.eval.predictions import PredictionRecord
from videomind.eval.shard_files import drop_failed_lines, repair_torn_tail
from videomind.records import Role, Sample
from videomind.video.budget import ANSWERER_BUDGET

log = logging.getLogger(__name__)

EXPECTED_IDS = "expected_ids.json"
QVHIGHLIGHTS_KEEP_ALL = 100  # the QVHighlights protocol ranks every candidate the grounder returns
RETRY_DELAYS = (2.0, 8.0, 30.0)  # seconds before each retry of a sample that hit a run fault
MAX_CONSECUTIVE_FAILURES = 10  # failed samples in a row before the run stops (0: never)


@dataclass(frozen=True)
class FaultPolicy:
    """How ``predict`` meets failures: the pauses before retrying a sample that hit a run fault (one retry per
    entry), and how many failed samples in a row stop the run (0: never)."""

    retry_delays: tuple[float, ...] = RETRY_DELAYS
    max_consecutive_failures: int = MAX_CONSECUTIVE_FAILURES

    def __post_init__(self) -> None:
        if any(d < 0 for d in self.retry_delays):
            raise UserInputError(f"retry delays must be >= 0 seconds, got {self.retry_delays}")
        if self.max_consecutive_failures < 0:
            raise UserInputError(
                f"max_consecutive_failures must be >= 0 (0: never stop), got {self.max_consecutive_failures}"
            )


@dataclass(frozen=True)
class Shard:
    index: int
    count: int

    @classmethod
    def parse(cls, text: str | None) -> Shard:
        """``"i/N"``; without it, torchrun's RANK / WORLD_SIZE, else the whole set."""
        if text:
            try:
                index, count = (int(x) for x in text.split("/"))
            except ValueError:
                raise UserInputError(f"--shard must look like 0/4, got {text!r}") from None
        else:
            index, count = int(os.environ.get("RANK", 0)), int(os.environ.get("WORLD_SIZE", 1))
        if not 0 <= index < count:
            raise UserInputError(f"shard index {index} must be in 0..{count - 1}")
        return cls(index, count)

    @property
    def file_name(self) -> str:
        return f"predictions.rank{self.index}-of-{self.count}.jsonl"


def agent_options(bench: Benchmark, base: AgentOptions | None = None, **overrides) -> AgentOptions:
    """The agent settings a benchmark is evaluated with: its rounding unit, answer-crop rule, roles and answer
    style. Frame budgets are the model's (``base``), except an answerer budget the dataset itself overrides
    (Video-MME, MVBench)."""
    base = base or AgentOptions()
    answerer = bench.budgets[Role.ANSWERER]
    options = base.updated(
        round_unit=bench.unit,
        answer_crop=bench.answer_crop,
        answerer_budget=answerer if answerer != ANSWERER_BUDGET else base.answerer_budget,
        use_grounder=bench.use_grounder,
        use_verifier=bench.use_verifier,
        use_answerer=bench.answer_style is not None,
        style=bench.answer_style or "mcq",
    )
    return options.updated(**overrides) if overrides else options


def load_samples(bench: Benchmark, data_root: str | Path, limit: int | None = None) -> list[Sample]:
    from videomind.data import get_source

    if limit is not None and limit < 1:
        raise UserInputError(f"--limit must be at least 1, got {limit}")
    samples = get_source(bench.source, data_root).load(bench.split, **dict(bench.load_kwargs))
    return samples[:limit] if limit is not None else samples


def written_ids(out_dir: Path) -> dict[str, bool]:
    """Every id with a complete line in the folder, mapped to whether its (last) line records a failure."""
    if not any(out_dir.glob("*.jsonl")):
        return {}
    from videomind.eval.score import read_shards

    return {i: bool(line.get("error")) for i, line in read_shards(out_dir).lines.items()}


def completed_ids(out_dir: Path, retry_failed: bool = False) -> set[str]:
    """Ids that need no run: every written id, or (``retry_failed``) only those written without an error."""
    return {i for i, failed in written_ids(out_dir).items() if not (retry_failed and failed)}


def _prediction_folder(out_dir: str | Path) -> Path:
    out = Path(out_dir)
    if out.exists() and not out.is_dir():
        raise UserInputError(f"--out {out} is a file; give a folder (new or from an earlier run to resume)")
    try:
        out.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise UserInputError(f"cannot create the --out folder {out}: {exc.strerror or exc}") from None
    return out


def predict(
    benchmark: str,
    data_root: str | Path,
    out_dir: str | Path,
    *,
    agent: VideoMindAgent | None = None,
    model: str | None = None,
    limit: int | None = None,
    shard: Shard | None = None,
    progress: bool = True,
    load_kwargs: dict | None = None,
    on_record: Callable[[PredictionRecord], None] | None = None,
    retry_failed: bool = False,
    faults: FaultPolicy | None = None,
    **option_overrides,
) -> Path:
    """Run the agent over one shard of a benchmark, one JSON line per sample, resumable.

    Args:
        benchmark: a benchmark name (``videomind eval list`` / ``eval.benchmarks.BENCHMARKS``).
        data_root: the data root the benchmark's source reads.
        out_dir: the prediction folder; samples with a complete line in any of its shards are skipped.
        agent: the agent to run (default: loaded from ``model``).
        model: a checkpoint folder or hub id, when no ``agent`` is given.
        limit: only the first ``limit`` samples of the benchmark (at least 1).
        shard: which shard this process runs (default: torchrun's RANK / WORLD_SIZE, or everything).
        progress: show a progress bar.
        load_kwargs: passed to :meth:`VideoMindAgent.from_pretrained`.
        on_record: called with each written :class:`PredictionRecord`.
        retry_failed: run the samples whose line records a failure again (their failed lines are replaced).
        faults: retries of run faults and the stop after failures in a row (default :class:`FaultPolicy`).
        **option_overrides: :class:`AgentOptions` fields on top of the benchmark's settings.

    Returns:
        The shard's prediction file.

    Raises:
        UserInputError: an unknown benchmark, a bad shard or limit, or ``out_dir`` is a file.
        DataError: the benchmark's annotations cannot be read.
        RunFaultError: a run fault persisted after its retries, too many samples failed in a row, or the
            predictions cannot be written; what was written stays valid and the same call resumes.
    """
    bench = get_benchmark(benchmark)
    shard = shard or Shard.parse(None)
    faults = faults or FaultPolicy()
    out = _prediction_folder(out_dir)
    samples = load_samples(bench, data_root, limit)
    _write_expected_ids(out, [s.id for s in samples], shard)
    path = out / shard.file_name
    repair_torn_tail(path)  # only this process writes this file
    mine = samples[shard.index :: shard.count]
    written = written_ids(out)
    todo = [s for s in mine if s.id not in written or (retry_failed and written[s.id])]
    log.info("%s: %d samples, shard %d/%d has %d, %d left", bench.name, len(samples), shard.index, shard.count,
             len(mine), len(todo))  # fmt: skip
    if not todo:
        return path
    if retry_failed:
        drop_failed_lines(out, {s.id for s in todo if s.id in written}, path, shard.count)
    agent = agent or VideoMindAgent.from_pretrained(model, **(load_kwargs or {}))
    options = agent_options(bench, agent.options, **option_overrides)
    if bench.source.startswith("qvhighlights"):
        options = options.updated(verifier_top_k=QVHIGHLIGHTS_KEEP_ALL)
    with _progress(len(mine), len(mine) - len(todo), bench.name, progress) as bar:
        _run_shard(agent, bench, todo, options, path, faults, shard, on_record, bar)
    return path


def _run_shard(
    agent, bench, todo, options, path: Path, faults: FaultPolicy, shard: Shard, on_record, bar
) -> None:
    in_a_row = 0  # failed samples since the last good one
    for sample in todo:
        record = _predict_with_retries(agent, bench, sample, options, faults, shard)
        _append(path, record)
        if on_record is not None:
            on_record(record)
        bar.update(1)
        in_a_row = in_a_row + 1 if record.error else 0
        if faults.max_consecutive_failures and in_a_row >= faults.max_consecutive_failures:
            raise RunFaultError(
                f"shard {shard.index}/{shard.count} stopped: the last {in_a_row} samples all failed (the last "
                f"with {record.error}); fix the cause (data root, video folder, model), then run the same command "
                "with --retry-failed to run the failed samples again"
            )


def _append(path: Path, record: PredictionRecord) -> None:
    try:
        with open(path, "a", encoding="utf-8") as file:
            file.write(record.to_json() + "\n")
            file.flush()
            os.fsync(file.fileno())
    except OSError as exc:
        raise RunFaultError(
            f"cannot write predictions to {path}: {exc.strerror or exc}; free disk space (or fix the folder's "
            "permissions) and run the same command again to resume"
        ) from exc


def _predict_with_retries(agent, bench, sample: Sample, options, faults: FaultPolicy, shard: Shard):
    """``predict_one``, with a run fault retried after each of ``faults.retry_delays``; if it persists, the shard
    stops with ``RunFaultError`` (nothing is written for the sample, so a rerun picks it up)."""
    for attempt in range(len(faults.retry_delays) + 1):
        try:
            return predict_one(agent, bench, sample, options)
        except Exception as exc:
            if not is_run_fault(exc):
                raise
            fault = exc
        if attempt < len(faults.retry_delays):
            delay = faults.retry_delays[attempt]
            log.warning("sample %s hit a run fault (%s: %s); retry %d of %d in %g s", sample.id,
                        type(fault).__name__, _first_line(fault), attempt + 1, len(faults.retry_delays), delay)  # fmt: skip
            release_memory()
            time.sleep(delay)
    raise RunFaultError(
        f"shard {shard.index}/{shard.count} stopped at sample {sample.id}: {type(fault).__name__}: "
        f"{_first_line(fault)} (still failing after {len(faults.retry_delays)} retries); nothing was written for it. "
        "Free accelerator memory (or lower the frame budgets, use --dtype bfloat16, fewer processes per GPU) and "
        "run the same command again: it resumes at this sample"
    ) from fault


def release_memory() -> None:
    """Give cached accelerator memory back before a retry (a fragmented CUDA cache is a common cause of OOM)."""
    gc.collect()
    import torch

    if torch.cuda.is_available():
        torch.cuda.empty_cache()


def _first_line(exc: BaseException) -> str:
    text = str(exc).strip()
    return text.splitlines()[0] if text else ""


def predict_one(
    agent: VideoMindAgent, bench: Benchmark, sample: Sample, options: AgentOptions
) -> PredictionRecord:
    """Run one sample; a sample fault becomes a failed record. Run faults (``errors.is_run_fault``: out of
    memory, CUDA errors, a dead worker) and KeyboardInterrupt propagate: they say nothing about the sample."""
    started = time.perf_counter()
    try:
        if not sample.video:
            raise UserInputError(f"sample {sample.id} has no video")
        text = sample.question or sample.query
        if not sample.question:  # a grounding-only sample: nothing to answer (as the official script)
            options = options.updated(use_answerer=False)
        result = agent.run(
            sample.video, text, list(sample.options) if sample.options else None,
            subtitles=sample.subtitle, duration=sample.duration,
            **_as_overrides(options, agent.options),
        )  # fmt: skip
        return PredictionRecord.from_result(bench.name, sample, result, time.perf_counter() - started)
    except Exception as exc:  # noqa: BLE001 - one bad sample must not stop the run; the error is recorded
        if is_run_fault(exc):
            raise
        log.warning("sample %s failed: %s: %s", sample.id, type(exc).__name__, exc)
        return PredictionRecord.failed(bench.name, sample, exc, time.perf_counter() - started)


def _as_overrides(options: AgentOptions, current: AgentOptions) -> dict:
    from dataclasses import fields

    return {f.name: getattr(options, f.name) for f in fields(options)
            if getattr(options, f.name) != getattr(current, f.name)}  # fmt: skip


def _write_expected_ids(out: Path, ids: Sequence[str], shard: Shard) -> None:
    if shard.index != 0:
        return
    tmp = out / (EXPECTED_IDS + ".tmp")
    tmp.write_text(json.dumps(list(ids)))
    tmp.replace(out / EXPECTED_IDS)


def _progress(total: int, initial: int, name: str, enabled: bool):
    from tqdm import tqdm

    return tqdm(
        total=total, initial=initial, desc=name, unit="sample", disable=not enabled, dynamic_ncols=True
    )
