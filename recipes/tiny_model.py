"""``make tiny-model``: the embedded tiny VideoMind, trained by our own pipeline on the synthetic world.

Stages (each can be run alone with ``--stages``; finished stages are skipped when their output exists, and a
training stage cut off resumes from its last checkpoint):

1. ``data``: ``videomind synth make`` — 6000 training and 200 test videos of the "medium" world;
2. ``presence``: short-clip multiple-choice questions about what is on screen (``recipes.presence_questions``,
   half of them stating their answer in words) for the base stage, and the verifier's two kinds of pairs: a query
   naming a shape in the clip or one nowhere near it (``recipes.presence_pairs``) and an event between the segment
   markers or beside them (``recipes.marker_pairs``), written as ``custom`` data sources;
3. ``vision``: a tiny Qwen2-VL from scratch whose vision tower is warmed up alone on one-second clips of 3000
   training videos: which shapes are on screen, what they do, and the background (configs/train/tiny_vision.yaml,
   ``recipes.vision_warmup``);
4. ``pointer``: the language model taught, text only, to name the letter of the option a question names, in the
   answerer's prompt: "Which option is X?" first, then the hinted presence questions without their video too
   (``recipes.pointer_warmup``); without it, training on questions with their video never learnt even the hinted
   ones (docs/TINY_MODEL.md). Neither stage touches the other's half of the model, so the pointer trains a fresh
   model of the same preset on the other core while the vision warm-up runs, and the two are joined;
5. ``glance``: "Which colour / What shape is shown in the video?" on 4-8 s windows, over four one-word options
   of which only the answer is on screen, and "What is the background of the video?", loss on the letter alone
   (``recipes.letter_binding``, the language model alone: the tower keeps its warm-up's weights): where the model
   first answers from what it sees; its first phase stops the recipe when the held-out unhinted accuracy is below
   ``GLANCE_GATE`` at step 1500 (a model that does not look);
6. ``base``: the language model on those questions, the benchmark's questions (evidence crops and whole videos),
   descriptions and timing, the vision side frozen (configs/train/tiny_base.yaml); this is also the answerer;
7. ``grounder`` / ``planner``: LoRA roles on top of it (configs/train/tiny_<role>.yaml); ``verifier_data`` runs the
   trained grounder on held-out training queries, the candidates the verifier is measured on
   (``recipes.verifier_auc``); ``verifier``: the verifier's language model trained whole on the presence pairs
   (tiny_verifier_whole.yaml), then on the marker pairs (tiny_verifier_markers.yaml), stored as the verifier's
   full-rank LoRA adapter (``recipes.full_rank``): as a LoRA on the grounder's own candidates, the official recipe
   (tiny_verifier.yaml, still a preset), it lowered R1@0.5 by ~10 points (docs/TINY_MODEL.md, eighth sitting);
8. ``combine``: one multi-role checkpoint in the released layout;
9. ``embed``: copied into ``videomind/assets/tiny`` in float16 with its frame budgets and model card.

Every language stage runs ``videomind train <preset>`` in the work folder, exactly the documented command; the base
under ``torchrun --nproc_per_node N`` when ``--nproc`` > 1 (one process per core: DDP over gloo was 1.65x one
process on 2 cores), the roles in one process each (run two of them side by side, one core each, to save time).
The measurement (``videomind eval ablate``, ``recipes.answerer_probe``) is a separate step (see the Makefile's
``tiny-model`` target).
"""

from __future__ import annotations

import argparse
import json
import logging
import shutil
import time
from pathlib import Path

import torch
from safetensors.torch import load_file, save_file

from recipes.tiny_commands import REPO, run_videomind
from recipes.tiny_curriculum import (
    stage_glance,
    stage_pointer,
    stage_presence,
    stage_vision,
    start_pointer_language,
)

log = logging.getLogger(__name__)

STAGES = ("data", "presence", "vision", "pointer", "glance", "base", "grounder", "verifier_data", "verifier",
          "planner", "combine", "embed")  # fmt: skip
ROLES = ("grounder", "verifier", "planner")
ASSET = REPO / "videomind" / "assets" / "tiny"
# What the embedded model's agent uses by default (read by videomind.agent.default_options_for): the frame budgets
# it was trained with and the synthetic world's rounding unit and answer crop.
EMBEDDED_AGENT_OPTIONS = {
    "planner_budget": {"fps": 1.0, "max_frames": 100, "min_pixels": 4 * 784, "max_pixels": 16 * 784},
    "grounder_budget": {"fps": 2.0, "max_frames": 150, "min_pixels": 4 * 784, "max_pixels": 16 * 784},
    "verifier_budget": {"fps": 2.0, "max_frames": 32, "min_pixels": 4 * 784, "max_pixels": 16 * 784},
    "answerer_budget": {"fps": 2.0, "max_frames": 32, "min_pixels": 4 * 784, "max_pixels": 16 * 784},
    "round_unit": 0.1,
    "answer_crop": {"min_len": 4.0},
}


def stage_data(work: Path, videos: int, eval_videos: int) -> None:
    if (work / "data" / "synthetic" / "manifest.json").is_file():
        log.info("data: exists (the generator resumes unfinished folders itself)")
    run_videomind("synth", "make", "data/synthetic", "--videos", str(videos), "--eval-videos", str(eval_videos),
                  "--preset", "medium", "--seed", "0", "--workers", "2", "--no-progress", cwd=work)  # fmt: skip


def run_folder(work: Path, name: str) -> Path:
    """Where ``configs/train/tiny_<name>.yaml`` writes its run: ``runs/tiny-<name>``, ``_`` written ``-``."""
    return work / "runs" / f"tiny-{name.replace('_', '-')}"


def stage_train(work: Path, name: str, nproc: int = 1) -> None:
    """``videomind train configs/train/tiny_<name>.yaml`` unless its run (``run_folder``) has finished."""
    out = run_folder(work, name)
    if (out / "train_config.yaml").is_file() and _finished(out):
        log.info("%s: finished run in %s", name, out)
        return
    run_videomind("train", str(REPO / "configs" / "train" / f"tiny_{name}.yaml"), cwd=work, nproc=nproc)


GROUNDER_PREDICTIONS = Path("runs") / "tiny-grounder" / "train_predictions.jsonl"
GROUNDER_HELD_OUT = Path("runs") / "tiny-grounder" / "held_out_predictions.jsonl"
VERIFIER_STAGES = ("verifier_whole", "verifier_markers")  # configs/train/tiny_<name>.yaml, in order
VERIFIER_HELD_OUT = 200  # training queries of videos the verifier data does not use: its AUC while it trains


def stage_verifier_data(
    work: Path, queries: int = 3000, held_out: int = VERIFIER_HELD_OUT, predict_training: bool = True
) -> Path:
    """The trained grounder's top-5 moments for training queries (the official verifier data), and held-out ones.

    As in the official recipe, verifier candidates come from a grounder's predictions on training data; candidates
    made from the ground truth alone (jittered, shifted, other events) did not transfer: on the grounder's candidates
    a verifier trained only on them was right about 29 % of "Yes" answers. Lines are written in the official format
    (``video_path``, ``duration``, ``query``, ``span``, ``pred``) and appended, so a killed stage resumes.

    Besides, the same for ``held_out`` training queries of other videos, which the verifier never trains on: the
    candidates ``recipes.verifier_auc`` scores the verifier on (the test split stays for the end). Without
    ``predict_training`` only those are predicted (the recipe's verifier trains on pairs; tiny_verifier.yaml reads the
    others); the held-out queries are the same either way. Returns the training file, or the held-out one.
    """
    from videomind.agent import VideoMindAgent
    from videomind.agent.agent import options_from_dict
    from videomind.data import get_source
    from videomind.eval.ablation import spread

    grounding = get_source("synthetic", work / "data").load("train", kind="grounding")
    training = spread(grounding, queries)
    trained_videos = {s.video for s in training}
    checked = spread([s for s in grounding if s.video not in trained_videos], held_out)
    options = options_from_dict(EMBEDDED_AGENT_OPTIONS).updated(use_verifier=False, use_answerer=False)
    agent = VideoMindAgent.from_pretrained(work / "runs" / "tiny-grounder", device="cpu", options=options)
    if predict_training:
        _write_grounder_predictions(agent, training, work / GROUNDER_PREDICTIONS)
    _write_grounder_predictions(agent, checked, work / GROUNDER_HELD_OUT)
    return work / (GROUNDER_PREDICTIONS if predict_training else GROUNDER_HELD_OUT)


def stage_verifier(work: Path) -> Path:
    """The verifier's language model trained whole (presence pairs, then marker pairs), stored as its adapter."""
    from recipes.full_rank import full_rank

    out = run_folder(work, "verifier")
    if _finished(out):
        log.info("verifier: finished run in %s", out)
        return out
    for name in VERIFIER_STAGES:
        stage_train(work, name)
    return full_rank(run_folder(work, "base"), run_folder(work, VERIFIER_STAGES[-1]), out, "verifier")


def _write_grounder_predictions(agent, samples: list, out: Path) -> None:
    """Append the grounder's top 5 for the samples ``out`` does not have yet (official verifier-data lines)."""
    done = set()
    if out.is_file():
        done = {json.loads(line)["id"] for line in out.read_text().splitlines() if line.strip()}
    samples = [s for s in samples if s.id not in done]
    log.info(
        "verifier data: %d grounder predictions to make (%d already in %s)", len(samples), len(done), out
    )
    with open(out, "a", encoding="utf-8") as file:
        for n, sample in enumerate(samples):
            moments = agent.ground(sample.video, sample.query, top_k=5)
            line = {"id": sample.id, "video_path": sample.video, "duration": sample.duration,
                    "query": sample.query, "span": [list(span) for span in sample.spans],
                    "pred": [[m.start, m.end] for m in moments]}  # fmt: skip
            file.write(json.dumps(line) + "\n")
            if n % 500 == 0:
                log.info("verifier data: %d / %d", n, len(samples))


def _finished(run: Path) -> bool:
    return (run / "config.json").is_file() and (
        (run / "model.safetensors").is_file() or any(run.glob("*/adapter_model.safetensors"))
    )


def stage_combine(work: Path) -> Path:
    out = work / "runs" / "tiny-videomind"
    if out.exists():
        shutil.rmtree(out)
    run_videomind("train", "combine", str(out), *(str(run_folder(work, r)) for r in ROLES), cwd=work)
    return out


def stage_embed(work: Path, target: Path = ASSET) -> Path:
    """Copy the combined checkpoint (and its base) into the package, weights in float16, with a model card."""
    from videomind.model.hub import resolve_base_model

    source = work / "runs" / "tiny-videomind"
    if target.exists():
        shutil.rmtree(target)
    shutil.copytree(
        source,
        target,
        ignore=shutil.ignore_patterns("trainer_state.json", "README.md", "runs", "checkpoint-*"),
    )
    config = json.loads((target / "config.json").read_text())
    base = resolve_base_model(source, config["base_model_path"])
    base_inside_run = (target / "base" / "config.json").is_file()  # tiny test runs keep theirs inside
    if not base_inside_run:  # the recipe's runs/tiny-base
        shutil.copytree(
            base,
            target / "base",
            ignore=shutil.ignore_patterns("*.json.tmp", "runs", "checkpoint-*", "trainer_state.json"),
        )
    config["base_model_path"] = "base"
    config.setdefault("videomind", {})["agent_options"] = EMBEDDED_AGENT_OPTIONS
    (target / "config.json").write_text(json.dumps(config, indent=2, sort_keys=True) + "\n")
    for file in target.rglob("*.safetensors"):
        state = load_file(str(file))
        half = {k: v.to(torch.float16) if v.is_floating_point() else v for k, v in state.items()}
        save_file(half, str(file), metadata={"format": "pt"})
    from recipes.model_card import model_card

    (target / "README.md").write_text(model_card(target, work))
    return target


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument(
        "--work", type=Path, default=REPO / "runs" / "tiny-recipe", help="data and runs go here"
    )
    parser.add_argument("--stages", nargs="+", default=list(STAGES), choices=STAGES)
    parser.add_argument("--videos", type=int, default=6000)
    parser.add_argument("--nproc", type=int, default=2, help="processes (one per core) training the base")
    parser.add_argument("--eval-videos", type=int, default=200)
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(message)s")
    args.work.mkdir(parents=True, exist_ok=True)
    timings: dict[str, float] = {}
    language = None  # the pointer's language model, trained beside the vision warm-up when both stages run
    for stage in args.stages:
        started = time.perf_counter()
        if stage == "data":
            stage_data(args.work, args.videos, args.eval_videos)
        elif stage == "vision":
            if "pointer" in args.stages:
                language = start_pointer_language(args.work)
            stage_vision(args.work)
        elif stage == "pointer":
            stage_pointer(args.work, language)
        elif stage == "presence":
            stage_presence(args.work)
        elif stage == "glance":
            stage_glance(args.work)
        elif stage == "verifier":
            stage_verifier(args.work)
        elif stage in ("base", *ROLES):
            stage_train(args.work, stage, args.nproc if stage == "base" else 1)
        elif stage == "verifier_data":
            stage_verifier_data(args.work, predict_training=False)
        elif stage == "combine":
            stage_combine(args.work)
        else:
            stage_embed(args.work)
        timings[stage] = round(time.perf_counter() - started, 1)
        log.info("%s took %.1f s", stage, timings[stage])
    timings_file = args.work / "timings.json"  # stages run separately keep each other's times
    previous = json.loads(timings_file.read_text()) if timings_file.is_file() else {}
    timings_file.write_text(json.dumps({**previous, **timings}, indent=2) + "\n")
    return 0


if __name__ == "__main__":  # pragma: no cover
    raise SystemExit(main())
