"""``videomind ask VIDEO QUESTION``: the whole agent on one question."""

from __future__ import annotations

import argparse
import json
import sys
import time

from videomind.cli.checks import (
    DEVICE_HELP,
    DTYPE_CHOICES,
    check_model_arguments,
    check_plot,
    check_readable_file,
)


def add_model_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--model", default=None, help="checkpoint folder or hub id (default: the embedded model)"
    )
    parser.add_argument("--base-model", default=None, help="override the checkpoint's base_model_path")
    parser.add_argument("--device", default="auto", help=f"{DEVICE_HELP} (default auto)")
    parser.add_argument("--dtype", default="auto", help=f"{', '.join(DTYPE_CHOICES)} (default auto)")


def register(sub) -> None:
    ask = sub.add_parser("ask", help="answer a question about a video (plan, ground, verify, answer)")
    ask.add_argument("video")
    ask.add_argument("question")
    ask.add_argument("--options", nargs="+", default=None, help="answer options (multiple choice)")
    ask.add_argument("--subtitles", default=None, help=".srt file shown to the answerer")
    ask.add_argument(
        "--planner", action="store_true", help="let the planner route and rephrase (the demo's mode)"
    )
    ask.add_argument("--no-verifier", action="store_true", help="skip the verifier's re-ranking")
    ask.add_argument(
        "--plain", action="store_true", help="run the plain official order (no sharing, no batching)"
    )
    ask.add_argument("--json", action="store_true", help="print AgentResult.to_dict() as JSON")
    ask.add_argument("--plot", default=None, metavar="PNG", help="draw the timeline of moments to this file")
    add_model_arguments(ask)
    ask.set_defaults(func=run_ask)


def build_agent(args):
    from videomind import VideoMindAgent
    from videomind.model.hub import EMBEDDED_MODEL

    kwargs = {"base_model": args.base_model} if args.base_model else {}
    if args.model is None and not (EMBEDDED_MODEL / "config.json").is_file():
        return _random_tiny_agent()
    if args.model is None:
        print("Using the embedded tiny VideoMind (trained on synthetic shapes; see videomind/assets/tiny/README.md).",
              file=sys.stderr)  # fmt: skip
    return VideoMindAgent.from_pretrained(args.model, device=args.device, dtype=args.dtype, **kwargs)


def _random_tiny_agent():
    """Before the embedded model exists (a fresh development checkout), run on a tiny RANDOM model and say so."""
    from videomind import VideoMindAgent
    from videomind.agent.backend import ModelBackend
    from videomind.model import build_tiny_model

    print("NOTE: the embedded trained model is not in this checkout; running on a tiny RANDOM model, so the answer "
          "is meaningless (it only shows the pipeline runs).", file=sys.stderr)  # fmt: skip
    model, processor = build_tiny_model(seed=0)
    return VideoMindAgent(ModelBackend(model, processor))


def check_video(path: str) -> None:
    """The video exists and opens as a video (not a folder, pipe, image, text or audio-only file)."""
    from videomind.video.probe import check_video_file

    check_video_file(path)


def check_query_arguments(args, text: str, options=None) -> None:
    """Everything a query command can check before its model loads (seconds on a laptop, minutes for 7B)."""
    from videomind.agent.inputs import check_options, check_question

    check_question(text)
    check_options(options)
    check_video(args.video)
    check_readable_file(getattr(args, "subtitles", None), "--subtitles")
    check_plot(args.plot)
    check_model_arguments(args)


def option_overrides(args) -> dict:
    out = {}
    if getattr(args, "planner", False):
        out.update(auto_planning=True, auto_rephrasing=True)
    if args.no_verifier:
        out["use_verifier"] = False
    if getattr(args, "plain", False):
        out["fast"] = False
    return out


def _print_step(step) -> None:
    role = step.role.value.capitalize()
    line = f"[{role} {step.seconds:.2f}s]"
    if step.view is not None:
        line += f" saw {step.view.num_frames} frames {step.view.start:.1f}-{step.view.end:.1f}s"
    if step.role.value == "planner":
        line += f" plan: {step.response.strip()}"
    elif step.role.value == "grounder":
        line += " candidates: " + ", ".join(
            f"[{m['start']:.1f}, {m['end']:.1f}] {m['score']:.2f}" for m in step.parsed
        )
    elif step.role.value == "verifier":
        line += " scores: " + ", ".join(f"{s:.3f}" for s in step.parsed["scores"])
    else:
        line += f" answer: {step.response.strip()}"
    if step.note:
        line += f" ({step.note})"
    print(line, flush=True)


def run_ask(args) -> int:
    check_query_arguments(args, args.question, args.options)
    agent = build_agent(args)
    started = time.perf_counter()
    result = agent.run(
        args.video, args.question, args.options, subtitles=args.subtitles,
        on_step=None if args.json else _print_step,
        **option_overrides(args) | ({"use_subtitles": True} if args.subtitles else {}),
    )  # fmt: skip
    if args.plot:
        from videomind.cli.plot import plot_timeline

        plot_timeline(result, args.plot)
    if args.json:
        print(json.dumps(result.to_dict(), indent=2))
        return 0
    if result.moment is not None:
        print(f"Moment: {result.moment.start:.1f}s - {result.moment.end:.1f}s (of {result.duration:.1f}s)")
    for line in result.fallbacks + result.warnings:
        print(f"note: {line}")
    print(f"Answer: {result.answer if result.answer is not None else result.response}")
    print(f"({time.perf_counter() - started:.1f}s)", file=sys.stderr)
    return 0
