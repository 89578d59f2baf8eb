"""The paper's ablation in miniature, on a synthetic test set: which roles make the agent answer better.

Settings (each one a folder of prediction lines, scored with the synthetic benchmark's metrics):

- ``blind``: the answerer on blank frames: a model that never looks at the video must stay near chance;
- ``answerer``: the answerer alone on the whole video;
- ``grounder``: grounder -> answerer on the grounded clip;
- ``grounder_verifier``: grounder -> verifier re-ranking -> answerer (the official evaluation order);
- ``full``: the planner routes and rephrases first (auto planning + rephrasing).

Plus the planner alone on the test planning questions: valid-JSON rate and routing accuracy (answer-only plans
for whole-video questions, grounding plans for the others).
"""

from __future__ import annotations

import contextlib
import json
import logging
import time
from collections.abc import Callable, Iterator, Sequence
from dataclasses import replace
from pathlib import Path
from typing import Any

import torch

from videomind import prompts
from videomind.agent import GenerationSettings, VideoMindAgent
from videomind.agent.backend import ClipInput
from videomind.agent.parsing import parse_plan
from videomind.eval.benchmarks import get_benchmark
from videomind.eval.predict import agent_options, predict_one
from videomind.eval.score import score_folder
from videomind.records import Role, Sample

log = logging.getLogger(__name__)

SETTINGS: dict[str, dict[str, Any]] = {
    "blind": {"use_grounder": False},
    "answerer": {"use_grounder": False},
    "grounder": {"use_verifier": False},
    "grounder_verifier": {},
    "full": {"auto_planning": True, "auto_rephrasing": True},
}
ANSWER_ONLY_ROUTE = 4


def spread(samples: Sequence[Sample], limit: int | None) -> list[Sample]:
    """At most ``limit`` samples taken evenly across the list (so across videos), deterministic."""
    if limit is None or limit >= len(samples):
        return list(samples)
    step = len(samples) / limit
    return [samples[int(i * step)] for i in range(limit)]


@contextlib.contextmanager
def _blind_reader(path: str, **kwargs) -> Iterator:
    """A reader whose frames are all black: what the model sees when it 'never looks at the video'."""
    from videomind.video import open_video

    with open_video(path, **kwargs) as reader:
        yield _BlindReader(reader)


class _BlindReader:
    """Passes everything to a real reader, but every frame it hands out (whole clips and streamed pieces, the
    plain and the fast agent's paths) is black; timing, sizes and indices stay the video's."""

    def __init__(self, reader) -> None:
        self._reader = reader

    def sample(self, *args, **kwargs):
        clip = self._reader.sample(*args, **kwargs)
        return replace(clip, frames=torch.zeros_like(clip.frames))

    def sample_chunks(self, *args, **kwargs) -> Iterator[torch.Tensor]:
        for piece in self._reader.sample_chunks(*args, **kwargs):
            yield torch.zeros_like(piece)

    def __getattr__(self, name: str):
        return getattr(self._reader, name)


def run_setting(
    agent: VideoMindAgent, name: str, samples: Sequence[Sample], out: Path, progress: Callable | None = None
) -> dict[str, Any]:
    """Predict ``samples`` under one setting into ``out/<name>/`` and score them."""
    bench = get_benchmark("synthetic")
    options = agent_options(bench, agent.options, **SETTINGS[name])
    folder = out / name
    folder.mkdir(parents=True, exist_ok=True)
    if name == "blind":
        agent = VideoMindAgent(agent.backend, agent.options, open_video=_blind_reader)
    started = time.perf_counter()
    with open(folder / "predictions.jsonl", "w", encoding="utf-8") as file:
        for i, sample in enumerate(samples):
            file.write(predict_one(agent, bench, sample, options).to_json() + "\n")
            if progress is not None:
                progress(name, i + 1, len(samples))
    result = score_folder(folder, "synthetic", {}, write=True)
    result["seconds"] = time.perf_counter() - started
    return result


def grounder_top1(folder: Path) -> dict[str, float]:
    """R1@0.5 / mIoU of the grounder's own top-1 (before the verifier re-ranked), from ``pred_ori``."""
    from videomind.metrics.grounding import grounding_metrics

    preds, gts = [], []
    for line in (folder / "predictions.jsonl").read_text().splitlines():
        rec = json.loads(line)
        spans = rec["sample"]["spans"]
        if rec.get("error") or not spans or rec["sample"].get("question"):
            continue
        preds.append((rec.get("pred_ori") or rec.get("pred") or [[0.0, 0.0]])[:1])
        gts.append(spans)
    metrics = grounding_metrics(preds, gts, top_k=(1,), iou_thresholds=(0.3, 0.5, 0.7))
    return {k: v for k, v in metrics.items() if k.startswith("R1@") or k == "mIoU"}


def planner_accuracy(agent: VideoMindAgent, samples: Sequence[Sample]) -> dict[str, float]:
    """Valid-JSON rate and routing accuracy of the planner on planning samples (route 4 = answer only)."""
    from videomind.video import open_video

    backend = agent.backend
    options = agent.options.for_frame_factor(
        getattr(backend, "frame_factor", None)
    )  # frames sized for the model
    valid = routed = rephrased = 0
    for sample in samples:
        with open_video(sample.video) as reader:
            clip = reader.sample(options.planner_budget)
        response = backend.generate(Role.PLANNER.value, ClipInput(clip.frames, (sample.id,), timestamps=clip.timestamps),
                                    prompts.planner_prompt(sample.question), "", options.generation)  # fmt: skip
        backend.reset()
        plan = parse_plan(response)
        route = int(sample.extra.get("route", 0))
        valid += plan.valid
        routed += plan.valid and plan.answer_only == (route == ANSWER_ONLY_ROUTE)
        rephrased += plan.valid and (plan.query or "").strip() == str(sample.extra.get("query") or "").strip()
    n = max(len(samples), 1)
    return {"valid_json": 100 * valid / n, "routing_accuracy": 100 * routed / n,
            "query_exact_match": 100 * rephrased / n, "count": len(samples)}  # fmt: skip


def run_ablation(
    model: str | Path | None,
    data_root: str | Path,
    out: str | Path,
    limit_grounding: int = 300,
    limit_mcq: int = 300,
    limit_qa: int = 100,
    limit_planning: int = 200,
    settings: Sequence[str] = tuple(SETTINGS),
    device: str = "auto",
    max_new_tokens: int | None = None,
) -> dict[str, Any]:
    """Evaluate a checkpoint under ``settings``; writes ``out/ablation.json`` and returns it.

    A report already in ``out`` (an earlier run, or a process measuring other settings at the same time) keeps its
    settings that this run does not measure, and its planner figures when ``limit_planning`` is 0: settings can be
    measured in parallel processes, or added later, into one report."""
    from videomind.data import get_source

    out = Path(out)
    out.mkdir(parents=True, exist_ok=True)
    agent = VideoMindAgent.from_pretrained(model, device=device)
    if max_new_tokens is not None:
        agent.options = agent.options.updated(generation=GenerationSettings(max_new_tokens=max_new_tokens))
    source = get_source("synthetic", data_root)
    grounding = spread(source.load("test", kind="grounding"), limit_grounding)
    questions = spread(source.load("test", kind="mcq"), limit_mcq) + spread(
        source.load("test", kind="qa"), limit_qa
    )
    report: dict[str, Any] = {"model": str(model or "embedded"), "settings": {}}
    for name in settings:
        samples = questions if name in ("blind", "answerer") else grounding + questions
        log.info("ablation %s: %d samples", name, len(samples))
        report["settings"][name] = _summary(run_setting(agent, name, samples, out, _log_progress))
    if "grounder_verifier" in settings:
        report["grounder_top1_before_verifier"] = grounder_top1(out / "grounder_verifier")
    if limit_planning > 0:
        report["planner"] = planner_accuracy(
            agent, spread(source.load("test", kind="planning"), limit_planning)
        )
    report["counts"] = {"grounding": len(grounding), "questions": len(questions)}
    from filelock import FileLock  # required by torch and huggingface_hub

    with FileLock(str(out / "ablation.json.lock")):  # processes sharing --out merge one after the other
        report = _merged(out / "ablation.json", report)
        (out / "ablation.json").write_text(json.dumps(report, indent=2) + "\n")
    return report


def _merged(path: Path, report: dict[str, Any]) -> dict[str, Any]:
    """``report`` over the one in ``path`` (read now, just before writing): settings and figures it lacks are kept,
    settings in the order of ``SETTINGS``."""
    if not path.is_file():
        return report
    earlier = json.loads(path.read_text())
    merged = {**earlier, **report}
    measured = {**earlier.get("settings", {}), **report["settings"]}
    merged["settings"] = {name: measured[name] for name in sorted(measured, key=_setting_order)}
    return merged


def _setting_order(name: str) -> int:
    return list(SETTINGS).index(name) if name in SETTINGS else len(SETTINGS)


def _summary(result: dict[str, Any]) -> dict[str, Any]:
    keep = ("R1@0.3", "R1@0.5", "R1@0.7", "mIoU", "Acc", "Acc@GQA", "Acc@IoU")
    overall = result["overall"]
    return {**{k: overall[k] for k in keep if k in overall}, "count": result["count"],
            "failures": result["failures"], "per_task": result.get("per_task", {}),
            "seconds": round(result["seconds"], 1)}  # fmt: skip


def _log_progress(name: str, done: int, total: int) -> None:
    if done % 50 == 0 or done == total:
        log.info("%s: %d / %d", name, done, total)


def markdown_table(report: dict[str, Any]) -> str:
    """The README table of an ablation report."""
    rows = ["| setting | R1@0.3 | R1@0.5 | R1@0.7 | mIoU | QA Acc |", "|---|---|---|---|---|---|"]
    labels = {"blind": "blind answerer (black frames)", "answerer": "answerer alone",
              "grounder": "+ grounder", "grounder_verifier": "+ grounder + verifier",
              "full": "full agent (+ planner)"}  # fmt: skip
    for name, metrics in report["settings"].items():
        cells = [
            f"{metrics[k]:.1f}" if k in metrics else "-"
            for k in ("R1@0.3", "R1@0.5", "R1@0.7", "mIoU", "Acc")
        ]
        rows.append(f"| {labels.get(name, name)} | " + " | ".join(cells) + " |")
    return "\n".join(rows)
