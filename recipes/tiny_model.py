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
   (``recipes.letter_binding``): where the model first answers from what it sees;
6. ``base``: the whole model on those questions, the benchmark's questions (evidence crops and whole videos),
   descriptions and timing (configs/train/tiny_base.yaml); this is also the answerer;
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
import os
import shutil
import subprocess
import sys
import time
from pathlib import Path

import torch
from safetensors.torch import load_file, save_file

log = logging.getLogger(__name__)

STAGES = ("data", "presence", "vision", "pointer", "glance", "base", "grounder", "verifier_data", "verifier",
          "planner", "combine", "embed")  # fmt: skip
ROLES = ("grounder", "verifier", "planner")
REPO = Path(__file__).resolve().parents[1]
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


def _videomind(*args: str, cwd: Path, nproc: int = 1) -> None:
    command = [sys.executable, "-m", "videomind", *args]
    if nproc > 1:
        command = [
            sys.executable,
            "-m",
            "torch.distributed.run",
            "--nproc_per_node",
            str(nproc),
            *command[1:],
        ]
    log.info("$ %s", " ".join(command[2:]))
    env = {**os.environ, "OMP_NUM_THREADS": "1"} if nproc > 1 else None
    subprocess.run(command, cwd=cwd, check=True, env=env)


def stage_data(work: Path, videos: int, eval_videos: int) -> None:
    if (work / "data" / "synthetic" / "manifest.json").is_file():
        log.info("data: exists (the generator resumes unfinished folders itself)")
    _videomind("synth", "make", "data/synthetic", "--videos", str(videos), "--eval-videos", str(eval_videos),
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
    _videomind("train", str(REPO / "configs" / "train" / f"tiny_{name}.yaml"), cwd=work, nproc=nproc)


def stage_presence(work: Path) -> None:
    """The base stage's short-clip questions (``data/presence``) and the verifier's pairs (``data/presence-pairs``,
    ``data/marker-pairs``)."""
    from recipes.marker_pairs import write_marker_pairs
    from recipes.presence_pairs import write_presence_pairs
    from recipes.presence_questions import write_presence

    synthetic = work / "data" / "synthetic"
    writers = {
        "presence": lambda out: write_presence(
            synthetic, out, per_video=PRESENCE_PER_VIDEO, hinted=PRESENCE_HINTED
        ),
        "presence-pairs": lambda out: write_presence_pairs(
            synthetic, out, per_video=PRESENCE_PAIRS_PER_VIDEO
        ),
        "marker-pairs": lambda out: write_marker_pairs(synthetic, out, per_video=MARKER_PAIRS_PER_VIDEO),
    }
    for name, write in writers.items():
        out = work / "data" / name
        if (out / "train.jsonl").is_file():
            log.info("presence: %s exists", out / "train.jsonl")
            continue
        log.info("presence: %d lines in %s", write(out), out / "train.jsonl")


def _recipe(module: str, *args: str, cwd: Path, background: bool = False) -> subprocess.Popen | None:
    """``python -m recipes.<module> ...`` in the work folder; with ``background`` started and returned, not waited."""
    command = [sys.executable, "-m", f"recipes.{module}", *args]
    log.info("$ %s%s", " ".join(command[1:]), " &" if background else "")
    # The recipes package lives beside the library, not in it: make it importable from the work folder.
    env = {
        **os.environ,
        "PYTHONPATH": os.pathsep.join(filter(None, [str(REPO), os.environ.get("PYTHONPATH")])),
    }
    if background:
        return subprocess.Popen(command, cwd=cwd, env=env)
    subprocess.run(command, cwd=cwd, check=True, env=env)
    return None


def stage_vision(work: Path) -> None:
    if (work / "runs" / "tiny-vision" / "vision_warmup.json").is_file():
        log.info("vision: finished run in %s", work / "runs" / "tiny-vision")
        return
    config = REPO / "configs" / "train" / "tiny_vision.yaml"
    _recipe("vision_warmup", str(config), "--videos", str(VISION_VIDEOS), cwd=work)


POINTER_LANGUAGE = "runs/tiny-pointer-language"


def start_pointer_language(work: Path) -> subprocess.Popen | None:
    """Start the pointer's training in the background, or return None when its language model is already there.

    The vision warm-up trains the vision tower alone and the pointer stage the language model alone, text only, so
    the pointer's language model is trained on a fresh model of the same preset (same seed and tokenizer) on the
    other core while the warm-up runs; ``stage_pointer`` then joins the two."""
    if (work / POINTER_LANGUAGE / "pointer_warmup.json").is_file() or (
        work / "runs" / "tiny-pointer" / "pointer_warmup.json"
    ).is_file():
        return None
    preset = REPO / "configs" / "train" / "tiny_vision.yaml"
    return _recipe("pointer_warmup", "--fresh", str(preset), "--out", POINTER_LANGUAGE, "--presence",
                   "data/presence/train.jsonl", "--words-first", str(POINTER_STEPS[0]), "--steps",
                   str(POINTER_STEPS[1]), "--phrase-share", str(POINTER_PHRASE_SHARE),
                   cwd=work, background=True)  # fmt: skip


def stage_pointer(work: Path, language: subprocess.Popen | None = None) -> None:
    """Wait for (or run) the pointer's language model, then write runs/tiny-pointer: its language model with the
    vision warm-up's tower (``visual.*``)."""
    out = work / "runs" / "tiny-pointer"
    if (out / "pointer_warmup.json").is_file():
        log.info("pointer: finished run in %s", out)
        return
    if language is None:
        language = start_pointer_language(work)
    if language is not None and language.wait() != 0:
        raise subprocess.CalledProcessError(language.returncode, language.args)
    join_vision(work / POINTER_LANGUAGE, work / "runs" / "tiny-vision", out)
    shutil.copy2(work / POINTER_LANGUAGE / "pointer_warmup.json", out / "pointer_warmup.json")
    log.info(
        "pointer: %s = the language model of %s with the vision tower of runs/tiny-vision",
        out,
        POINTER_LANGUAGE,
    )


def join_vision(language: Path, vision: Path, out: Path) -> None:
    """A base folder with ``language``'s weights except the vision tower and its merger, taken from ``vision``.

    Both must be the same preset's model: same config and tokenizer, so the language model reads the tower's
    tokens through the same embedding rows; anything else is refused."""
    for name in ("config.json", "tokenizer.json"):
        if (language / name).read_text() != (vision / name).read_text():
            raise ValueError(f"{language} and {vision} differ in {name}: not the same preset's model")
    weights = load_file(str(language / "model.safetensors"))
    tower = {k: v for k, v in load_file(str(vision / "model.safetensors")).items() if k.startswith("visual.")}
    if not tower or not tower.keys() <= weights.keys():
        raise ValueError(f"{vision} has no vision tower matching {language}'s")
    out.mkdir(parents=True, exist_ok=True)
    for path in language.iterdir():
        if path.is_file() and path.name not in ("model.safetensors", "pointer_warmup.json"):
            shutil.copy2(path, out / path.name)
    save_file({**weights, **tower}, str(out / "model.safetensors"), metadata={"format": "pt"})


def stage_glance(work: Path) -> None:
    """Single-attribute questions on 4-8 s windows (one colour or one shape word among four, the wrong three nowhere
    near the window; loss on the letter alone) on the pointer's model: the stage where the tiny model starts to
    answer from what it sees. Two phases (``GLANCE_PHASES``): colours and shapes, then the same with shapes weighed
    three times, each written to its own folder (the last is ``runs/tiny-glance``) and skipped once finished."""
    from recipes.presence_questions import write_presence

    start = "runs/tiny-pointer"
    for name, types, seed, per_video, steps in GLANCE_PHASES:
        out = f"runs/tiny-{name}"
        questions = work / "data" / name
        if (work / out / "letter_binding.json").is_file():
            log.info("glance: finished run in %s", work / out)
        else:
            if not (questions / "train.jsonl").is_file():
                count = write_presence(work / "data" / "synthetic", questions, per_video=per_video, seed=seed,
                                       hinted=PRESENCE_HINTED, types=types)  # fmt: skip
                log.info("glance: %d questions in %s", count, questions / "train.jsonl")
            batch, rate = GLANCE_BATCH_AND_RATE
            _recipe("letter_binding", start, "--presence", f"data/{name}/train.jsonl", "--steps", str(steps),
                    "--batch-size", str(batch), "--learning-rate", str(rate), "--eval-every", "500", "--held-out",
                    str(GLANCE_HELD_OUT), "--save", out, cwd=work)  # fmt: skip
        start = out


# held-out exact sets 68.9 % with 1000 (500 videos: 56.5 %, overfitted); with the backgrounds labelled, 1000 videos
# fell from 86.0 to 79.9 %, 3000 (clips kept as uint8) gave 85.7 %, activities recall 26.5 % (19.2), background
# 98.2 % (2026-12-07, ninth sitting)
VISION_VIDEOS = 3000
# "Which option is X?" alone until 95 % (at most 3000 steps), then 3000 steps half with the hinted questions. With
# 1500 such steps: 646 s, held-out 99.0 % and 66.0 % (hinted, as text) on 2026-12-06 (the switch came at step 714;
# on another run at 1721, and hinted 38.5 %). The hinted questions from the start instead: 48.0 % and 25.5 %
# after 1000 steps.
POINTER_STEPS = (3000, 3000)
# Of the questions after the words phase that are not hinted ones, this share name a two-word option ("Which option
# is the blue square?"). Continuing a pointer (words until step 1721, then 1500 steps half hinted: hinted 38.5 %)
# for 1500 steps more: hinted 64.0 % and two-word 37.2 % with them, 48.5 % and 27.0 % without (2026-12-06).
POINTER_PHRASE_SHARE = 0.5
PRESENCE_PER_VIDEO = 20  # 6000 videos -> ~93,000 questions
PRESENCE_HINTED = 0.5  # share of them that state their answer in words
# Grounding queries per training video made into a "Yes" and a "No" verifier pair (recipes.presence_pairs): 6000
# videos -> 36,000 lines; in the base stage's mix the base reached AUC 0.594 on test pairs only (tiny_base.yaml).
PRESENCE_PAIRS_PER_VIDEO = 3
# "appears" queries per training video drawn for marker pairs (recipes.marker_pairs): 6000 videos -> 12,273 pairs
# whose zoomed clips are whole
MARKER_PAIRS_PER_VIDEO = 6
# (name, question types (or types -> weights), seed, questions per video, steps), run in turn from the pointer's
# model. Colours and shapes (46,573 questions): held-out unhinted 64.3 / 74.7 / 79.7 % at steps 1500 / 2000 / 3000
# (blank clips 32.3 / 14.7 / 25.0 %), colours 99.0 % but shapes 43.3 %, 1923 s on one core. Then shapes alone
# (20,036 questions) took shapes to 93.0 % in 1000 steps but colours down to 37.8 %: so the second phase keeps
# colours and weighs shapes three times (55 % of its questions; measured as the first phase's questions plus the
# shapes-only ones, 56 % shapes, on 2026-12-06: docs/TINY_MODEL.md).
GLANCE_PHASES = (
    ("glance-mixed", {"colour_seen": 1.0, "kind_seen": 1.0, "background": 0.5}, 0, 12, 3000),
    ("glance", {"colour_seen": 1.0, "kind_seen": 3.0, "background": 0.5}, 1, 12, 1000),
)
GLANCE_BATCH_AND_RATE = (8, 5e-4)
GLANCE_HELD_OUT = 300  # hinted and unhinted questions each, scored every 500 steps and never trained on
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

    out = work / "runs" / "tiny-verifier"
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
    _videomind("train", "combine", str(out), *(str(work / "runs" / f"tiny-{r}") for r in ROLES), cwd=work)
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
