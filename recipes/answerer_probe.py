"""Recipe check: does the answerer look? Multiple-choice accuracy on held-out questions in three views.

``python -m recipes.answerer_probe runs/tiny-base --data data --questions 200``

- ``evidence``: the question's evidence span widened to the answer crop (what a perfect grounder would give);
  whole-video questions see the whole video;
- ``whole``: the whole video (what the answerer gets without grounding);
- ``blind``: black frames of the evidence view's shape (a model that does not look stays near chance).

For each view: accuracy, the share of the most frequent answer letter, and the accuracy per question type. The
answerer runs exactly as in the agent (its adapter when the checkpoint has one, else the base model; the ``mcq``
prompt and its prefill). The
questions come from the synthetic test split, which no training stage reads. Loss can fall while the model reads
only the text; these numbers cannot.
"""

from __future__ import annotations

import argparse
import json
import logging
from collections import Counter, defaultdict
from collections.abc import Sequence
from pathlib import Path

import torch

log = logging.getLogger(__name__)

VIEWS = ("evidence", "whole", "blind")


def probe(model_path: Path, data: Path, questions: int, whole_video: int, views=VIEWS) -> dict:
    from recipes.tiny_model import EMBEDDED_AGENT_OPTIONS
    from videomind import prompts, spans
    from videomind.agent import VideoMindAgent
    from videomind.agent.agent import _parse_answer, options_from_dict
    from videomind.agent.backend import ClipInput
    from videomind.data import get_source
    from videomind.data.conversations import _cover, _letter_of
    from videomind.eval.ablation import spread
    from videomind.video import open_video

    # a training run's folder stores no agent options: use the frame budgets the tiny model is trained with
    agent = VideoMindAgent.from_pretrained(
        model_path, device="cpu", options=options_from_dict(EMBEDDED_AGENT_OPTIONS)
    )
    options = agent.options
    source = get_source("synthetic", data)
    samples = [
        *(spread(source.load("test", kind="mcq"), questions) if questions else []),
        *(spread(source.load("test", kind="qa"), whole_video) if whole_video else []),
    ]
    results: dict[str, list[tuple[str, str, str | None]]] = defaultdict(list)  # view -> (type, truth, said)
    for sample in samples:
        duration = float(sample.duration)
        evidence = (0.0, duration)
        if sample.spans:
            evidence = spans.expand_span(
                _cover(sample.spans), duration, options.answer_crop.min_length(duration)
            )
        text, prefix = prompts.answerer_prompt(sample.question, sample.options, "mcq")
        tasks = [sample.task] if isinstance(sample.task, str) else list(sample.task or ())
        kind = tasks[-1] if tasks else "?"
        truth = sample.answer or _letter_of(sample)  # as the training examples read it
        clips = {}  # window -> clip: the blind view blanks the evidence view's frames, decoded once
        for view in views:
            window = (0.0, duration) if view == "whole" else evidence
            if window not in clips:
                with open_video(sample.video) as reader:
                    clips[window] = reader.sample(options.answerer_budget, *window)
            clip = clips[window]
            frames = torch.zeros_like(clip.frames) if view == "blind" else clip.frames
            key = (sample.video, view, tuple(clip.indices))
            response = agent.backend.generate(
                "answerer",
                ClipInput(frames, key, timestamps=clip.timestamps),
                text,
                prefix,
                options.generation,
            )
            results[view].append((kind, truth, _parse_answer(response, list(sample.options), prefix)))
    return {view: summary(rows) for view, rows in results.items()}


def letter_scores(said: Sequence, truth: Sequence) -> dict[str, float]:
    """Accuracy (%) of the answers ``said`` against ``truth`` and the share (%) of the most frequent one."""
    top = max(Counter(said).values(), default=0)
    return {
        "accuracy": round(100 * sum(s == t for s, t in zip(said, truth)) / max(len(said), 1), 1),
        "top_letter_share": round(100 * top / max(len(said), 1), 1),
    }


def accuracy_by_type(said: Sequence, truth: Sequence, types: Sequence[str]) -> dict[str, float]:
    """Accuracy (%) of the answers ``said`` against ``truth`` for each question type in ``types`` (one per answer)."""
    per_type: dict[str, list[bool]] = defaultdict(list)
    for s, t, kind in zip(said, truth, types):
        per_type[kind].append(s == t)
    return {k: round(100 * sum(v) / len(v), 1) for k, v in sorted(per_type.items())}


def summary(rows: list[tuple[str, str, str | None]]) -> dict:
    kinds, truth, said = ([row[i] for row in rows] for i in range(3))
    return {
        **letter_scores(said, truth),
        "questions": len(rows),
        "per_type": accuracy_by_type(said, truth, kinds),
    }


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("model", type=Path, help="a base run (runs/tiny-base) or a full checkpoint")
    parser.add_argument("--data", type=Path, default=Path("data"), help="data root holding synthetic/")
    parser.add_argument("--questions", type=int, default=200, help="grounded test questions")
    parser.add_argument("--whole-video", type=int, default=60, help="whole-video test questions")
    parser.add_argument("--views", nargs="+", default=list(VIEWS), choices=VIEWS)
    parser.add_argument("--out", type=Path, default=None, help="write the report here (JSON)")
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(message)s")
    torch.set_num_threads(1)
    report = probe(args.model, args.data, args.questions, args.whole_video, args.views)
    text = json.dumps(report, indent=2)
    log.info("answerer probe of %s:\n%s", args.model, text)
    if args.out:
        args.out.parent.mkdir(parents=True, exist_ok=True)
        args.out.write_text(text + "\n")
    return 0


if __name__ == "__main__":  # pragma: no cover
    raise SystemExit(main())
