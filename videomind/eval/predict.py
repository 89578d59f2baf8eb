"""``eval predict``: run the agent over a benchmark, one JSON line per sample, sharded and resumable.

- Shards: ``shard=(i, n)`` or torchrun's ``RANK`` / ``WORLD_SIZE``; shard i takes samples ``i, i+n, i+2n, ...`` and
  writes ``predictions.rank{i}-of-{n}.jsonl`` (each process only appends to its own file).
- Resume: ids with a complete line in ANY ``*.jsonl`` of the folder are skipped, so a killed run restarted with the
  same (or another) shard count neither loses nor duplicates predictions.
- A sample that raises is written with its error and the run goes on; each line is flushed and fsynced.
"""

from __future__ import annotations

import json
import logging
import os
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path

from videomind.agent import AgentOptions, VideoMindAgent
from videomind.errors import UserInputError
from videomind.eval.benchmarks import Benchmark, get_benchmark
from videomind.eval.predictions import PredictionRecord
from videomind.records import Role, Sample
from videomind.video.budget import ANSWERER_BUDGET

log = logging.getLogger(__name__)

EXPECTED_IDS = "expected_ids.json"
QVHIGHLIGHTS_KEEP_ALL = 100  # the QVHighlights protocol ranks every candidate the grounder returns


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

    samples = get_source(bench.source, data_root).load(bench.split, **dict(bench.load_kwargs))
    return samples[:limit] if limit is not None else samples


def completed_ids(out_dir: Path) -> set[str]:
    if not any(out_dir.glob("*.jsonl")):
        return set()
    from videomind.eval.score import read_shards

    return {i for i, line in read_shards(out_dir).lines.items() if "id" in line}


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
    **option_overrides,
) -> Path:
    """Run the agent over one shard of a benchmark, one JSON line per sample, resumable.

    Args:
        benchmark: a benchmark name (``videomind eval list`` / ``eval.benchmarks.BENCHMARKS``).
        data_root: the data root the benchmark's source reads.
        out_dir: the prediction folder; samples with a complete line in any of its shards are skipped.
        agent: the agent to run (default: loaded from ``model``).
        model: a checkpoint folder or hub id, when no ``agent`` is given.
        limit: only the first ``limit`` samples of the benchmark.
        shard: which shard this process runs (default: torchrun's RANK / WORLD_SIZE, or everything).
        progress: show a progress bar.
        load_kwargs: passed to :meth:`VideoMindAgent.from_pretrained`.
        on_record: called with each written :class:`PredictionRecord`.
        **option_overrides: :class:`AgentOptions` fields on top of the benchmark's settings.

    Returns:
        The shard's prediction file.

    Raises:
        UserInputError: an unknown benchmark or a bad shard.
        DataError: the benchmark's annotations cannot be read.
    """
    bench = get_benchmark(benchmark)
    shard = shard or Shard.parse(None)
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    samples = load_samples(bench, data_root, limit)
    _write_expected_ids(out, [s.id for s in samples], shard)
    done = completed_ids(out)
    todo = [s for s in samples[shard.index :: shard.count] if s.id not in done]
    mine = len(samples[shard.index :: shard.count])
    log.info("%s: %d samples, shard %d/%d has %d, %d left", bench.name, len(samples), shard.index, shard.count,
             mine, len(todo))  # fmt: skip
    if not todo:
        return out / shard.file_name
    agent = agent or VideoMindAgent.from_pretrained(model, **(load_kwargs or {}))
    options = agent_options(bench, agent.options, **option_overrides)
    if bench.source.startswith("qvhighlights"):
        options = options.updated(verifier_top_k=QVHIGHLIGHTS_KEEP_ALL)
    path = out / shard.file_name
    with (
        open(path, "a", encoding="utf-8") as file,
        _progress(mine, mine - len(todo), bench.name, progress) as bar,
    ):
        _start_on_fresh_line(path, file)
        for sample in todo:
            record = predict_one(agent, bench, sample, options)
            file.write(record.to_json() + "\n")
            file.flush()
            os.fsync(file.fileno())
            if on_record is not None:
                on_record(record)
            bar.update(1)
    return path


def predict_one(
    agent: VideoMindAgent, bench: Benchmark, sample: Sample, options: AgentOptions
) -> PredictionRecord:
    """Run one sample; any exception becomes a failed record (KeyboardInterrupt still stops the run)."""
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


def _start_on_fresh_line(path: Path, file) -> None:
    """A run killed mid-write leaves a partial last line: start ours on a new line (the scorer drops the part)."""
    size = path.stat().st_size
    if size:
        with open(path, "rb") as reader:
            reader.seek(size - 1)
            if reader.read(1) != b"\n":
                file.write("\n")


def _progress(total: int, initial: int, name: str, enabled: bool):
    from tqdm import tqdm

    return tqdm(
        total=total, initial=initial, desc=name, unit="sample", disable=not enabled, dynamic_ncols=True
    )
