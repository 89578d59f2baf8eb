"""``make tiny-model``: the embedded tiny VideoMind, trained by our own pipeline on the synthetic world.

Stages (each can be run alone with ``--stages``; finished stages are skipped when their output exists):

1. ``data``: ``videomind synth make`` — 2000 training and 200 test videos of the "medium" world;
2. ``vision``: a tiny Qwen2-VL from scratch whose vision tower is warmed up alone on one-second clips
   (configs/train/tiny_vision.yaml, ``videomind.train.vision_warmup``);
3. ``base``: the whole model trained on language tasks (configs/train/tiny_base.yaml): short clip descriptions,
   dense captions, timing and multiple-choice answering on evidence crops; this is also the answerer;
4. ``grounder`` / ``verifier`` / ``planner``: the LoRA roles on top of it (configs/train/tiny_<role>.yaml);
5. ``combine``: one multi-role checkpoint in the released layout;
6. ``embed``: copied into ``videomind/assets/tiny`` in float16 with its frame budgets and model card.

Every language stage runs ``videomind train <preset>`` in the work folder, exactly the documented command.
The measurement (``videomind eval ablate``) is a separate step (see the Makefile's ``tiny-model`` target).
"""

from __future__ import annotations

import argparse
import json
import logging
import shutil
import subprocess
import sys
import time
from pathlib import Path

import torch
from safetensors.torch import load_file, save_file

log = logging.getLogger(__name__)

STAGES = ("data", "vision", "base", "grounder", "verifier", "planner", "combine", "embed")
ROLES = ("grounder", "verifier", "planner")
REPO = Path(__file__).resolve().parents[2]
ASSET = REPO / "videomind" / "assets" / "tiny"
# What the embedded model's agent uses by default (read by videomind.agent.default_options_for): the frame budgets
# it was trained with and the synthetic world's rounding unit and answer crop.
EMBEDDED_AGENT_OPTIONS = {
    "planner_budget": {"fps": 1.0, "max_frames": 100, "min_pixels": 4 * 784, "max_pixels": 16 * 784},
    "grounder_budget": {"fps": 1.0, "max_frames": 150, "min_pixels": 4 * 784, "max_pixels": 16 * 784},
    "verifier_budget": {"fps": 2.0, "max_frames": 32, "min_pixels": 4 * 784, "max_pixels": 16 * 784},
    "answerer_budget": {"fps": 2.0, "max_frames": 32, "min_pixels": 4 * 784, "max_pixels": 16 * 784},
    "round_unit": 0.1,
    "answer_crop": {"min_len": 4.0},
}


def _videomind(*args: str, cwd: Path) -> None:
    command = [sys.executable, "-m", "videomind", *args]
    log.info("$ %s", " ".join(command[2:]))
    subprocess.run(command, cwd=cwd, check=True)


def stage_data(work: Path, videos: int, eval_videos: int) -> None:
    if (work / "data" / "synthetic" / "manifest.json").is_file():
        log.info("data: exists (the generator resumes unfinished folders itself)")
    _videomind("synth", "make", "data/synthetic", "--videos", str(videos), "--eval-videos", str(eval_videos),
               "--preset", "medium", "--seed", "0", "--workers", "2", "--no-progress", cwd=work)  # fmt: skip


def stage_train(work: Path, name: str) -> None:
    out = work / "runs" / f"tiny-{name}"
    if (out / "train_config.yaml").is_file() and _finished(out):
        log.info("%s: finished run in %s", name, out)
        return
    _videomind("train", str(REPO / "configs" / "train" / f"tiny_{name}.yaml"), cwd=work)


def stage_vision(work: Path) -> None:
    out = work / "runs" / "tiny-vision"
    if (out / "vision_warmup.json").is_file():
        log.info("vision: finished run in %s", out)
        return
    command = [
        sys.executable,
        "-m",
        "videomind.train.vision_warmup",
        str(REPO / "configs" / "train" / "tiny_vision.yaml"),
    ]
    log.info("$ %s", " ".join(command[1:]))
    subprocess.run(command, cwd=work, check=True)


def _finished(run: Path) -> bool:
    return (run / "config.json").is_file() and (
        (run / "model.safetensors").is_file() or any(run.glob("*/adapter_model.safetensors"))
    )


def stage_combine(work: Path) -> Path:
    out = work / "runs" / "tiny-videomind"
    if out.exists():
        shutil.rmtree(out)
    _videomind("train", "combine", str(out), *(str(work / "runs" / f"tiny-{r}") for r in ROLES), cwd=work)
    return out


def stage_embed(work: Path, target: Path = ASSET) -> Path:
    """Copy the combined checkpoint (and its base) into the package, weights in float16, with a model card."""
    source = work / "runs" / "tiny-videomind"
    if target.exists():
        shutil.rmtree(target)
    shutil.copytree(source, target, ignore=shutil.ignore_patterns("trainer_state.json", "README.md", "runs"))
    config = json.loads((target / "config.json").read_text())
    base = (source / config["base_model_path"]).resolve()
    shutil.copytree(
        base, target / "base", ignore=shutil.ignore_patterns("*.json.tmp", "runs", "train_config.yaml")
    )
    config["base_model_path"] = "base"
    config.setdefault("videomind", {})["agent_options"] = EMBEDDED_AGENT_OPTIONS
    (target / "config.json").write_text(json.dumps(config, indent=2, sort_keys=True) + "\n")
    for file in target.rglob("*.safetensors"):
        state = load_file(str(file))
        half = {k: v.to(torch.float16) if v.is_floating_point() else v for k, v in state.items()}
        save_file(half, str(file), metadata={"format": "pt"})
    return target


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument(
        "--work", type=Path, default=REPO / "runs" / "tiny-recipe", help="data and runs go here"
    )
    parser.add_argument("--stages", nargs="+", default=list(STAGES), choices=STAGES)
    parser.add_argument("--videos", type=int, default=2000)
    parser.add_argument("--eval-videos", type=int, default=200)
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(message)s")
    args.work.mkdir(parents=True, exist_ok=True)
    timings = {}
    for stage in args.stages:
        started = time.perf_counter()
        if stage == "data":
            stage_data(args.work, args.videos, args.eval_videos)
        elif stage == "vision":
            stage_vision(args.work)
        elif stage in ("base", *ROLES):
            stage_train(args.work, stage)
        elif stage == "combine":
            stage_combine(args.work)
        else:
            stage_embed(args.work)
        timings[stage] = round(time.perf_counter() - started, 1)
        log.info("%s took %.1f s", stage, timings[stage])
    (args.work / "timings.json").write_text(json.dumps(timings, indent=2) + "\n")
    return 0


if __name__ == "__main__":  # pragma: no cover
    raise SystemExit(main())
