"""The embedded tiny model's card (``videomind/assets/tiny/README.md``), written by the recipe's ``embed`` stage from
the runs' own records (recipes/tiny_model.py)."""

from __future__ import annotations

import json
from pathlib import Path

from safetensors.torch import load_file

from recipes.tiny_curriculum import GLANCE_PHASES
from recipes.tiny_model import REPO, ROLES, STAGES, VERIFIER_STAGES, run_folder


def _pointer_row(record: Path) -> list[str]:
    """The pointer stage's line of the model card's training table (none when the stage has not run)."""
    if not record.is_file():
        return []
    run = json.loads(record.read_text())
    steps = f"{run['words_steps']} + {run['steps']}" if "steps" in run else f"{run['words_steps']} + ?"
    return [f"| pointer | `recipes.pointer_warmup` (text only; words, then hinted questions) | {steps} | "
            f"{run['batch_size']} | {run['learning_rate']} |"]  # fmt: skip


def _glance_rows(work: Path) -> list[str]:
    """The glance stage's lines of the training table, one a phase that has run (``GLANCE_PHASES``)."""
    lines = []
    for name, types, *_ in GLANCE_PHASES:
        record = work / "runs" / f"tiny-{name}" / "letter_binding.json"
        if not record.is_file():
            continue
        run = json.loads(record.read_text())
        weights = types if isinstance(types, dict) else dict.fromkeys(types, 1.0)
        kinds = ", ".join(kind if weight == 1 else f"{kind} x{weight:g}" for kind, weight in weights.items())
        lines.append(f"| {name} | `recipes.letter_binding` (letter-only loss; {kinds}) | {run['steps']} | "
                     f"{run['batch_size']} | {run['learning_rate']} |")  # fmt: skip
    return lines


def _parameter_count(folder: Path, pattern: str) -> int:
    total = 0
    for file in folder.glob(pattern):
        total += sum(t.numel() for t in load_file(str(file)).values())
    return total


def _read_yaml(path: Path) -> dict:
    import yaml

    return yaml.safe_load(path.read_text()) if path.is_file() else {}


def model_card(asset: Path, work: Path) -> str:
    """The embedded model's card: what it is, how it was trained (from the runs' own records) and what it is not.

    Figures come from files the recipe wrote: the base's config, each run's ``train_config.yaml``, the recipe's
    ``timings.json`` and, when they have been measured, the ablation report ``ablation/ablation.json``, the
    answerer probe and the verifier's AUC (``ablation/answerer_probe.json``, ``ablation/verifier_auc.json``).
    """
    from videomind.data.synthetic.config import COLOUR_NAMES, SHAPES, WorldConfig

    world = WorldConfig()  # the "medium" preset the recipe generates
    base = json.loads((asset / "base" / "config.json").read_text())
    text = base.get("text_config", base)
    vision = base.get("vision_config", {})
    size_mb = sum(f.stat().st_size for f in asset.rglob("*") if f.is_file()) / 2**20
    base_params = _parameter_count(asset / "base", "*.safetensors")
    role_params = {
        role: _parameter_count(asset / role, "*.safetensors") for role in ROLES if (asset / role).is_dir()
    }
    head_params = _parameter_count(asset, "*.safetensors")
    total = base_params + head_params + sum(role_params.values())
    lines = [
        "# The embedded tiny VideoMind",
        "",
        "**What it is.** A complete VideoMind checkpoint in the released layout (planner, grounder with its",
        "timestamp decoder, verifier, and the base model as the answerer), trained from scratch by this project's",
        "own pipeline (`make tiny-model`) on procedurally generated videos of coloured shapes (`videomind synth",
        f"make`, the `medium` world: {world.size[1]}x{world.size[0]} frames at {world.fps:g} fps, "
        f"{world.duration[0]:g}-{world.duration[1]:g} s, several overlapping events with distractors).",
        "It is the default of `VideoMindAgent.from_pretrained()`, `videomind ask` and `videomind demo`, so that",
        "they give real answers on a machine with nothing downloaded.",
        "",
        "**What it is not.** It is not VideoMind-2B/7B and not a general video model: it knows only the synthetic",
        f"world ({len(SHAPES)} shapes in {len(COLOUR_NAMES)} colours appearing, moving and changing over textured",
        f"backgrounds), a vocabulary of {text.get('vocab_size')} tokens, and the synthetic questions' phrasing. On real videos its answers are",
        'meaningless. For real use load a released checkpoint: `VideoMindAgent.from_pretrained("VideoMind-2B")`.',
        "",
        "## Architecture",
        "",
        f"- Base (Qwen2-VL architecture, random init): text hidden {text.get('hidden_size')}, "
        f"{text.get('num_hidden_layers')} layers, {text.get('num_attention_heads')} heads, vocabulary "
        f"{text.get('vocab_size')}; vision depth {vision.get('depth')}, width {vision.get('embed_dim')}; "
        f"{base_params / 1e6:.2f} M parameters.",
        *(
            f"- {role} adapter: {count / 1e6:.2f} M parameters (LoRA, plus the embedding and output matrices "
            "it trains when the role adds special tokens)"
            for role, count in role_params.items()
        ),
        f"- The grounder's timestamp decoder: {head_params / 1e6:.2f} M parameters.",
        f"- {total / 1e6:.2f} M parameters in all, every role loaded.",
        f"- Weights in float16; {size_mb:.1f} MB on disk. Agent defaults (frame budgets, rounding) are in",
        "  `config.json` under `videomind.agent_options`.",
        "",
        "## Training (2 CPU cores, no GPU)",
        "",
        "| stage | preset | steps | batch | learning rate |",
        "|---|---|---|---|---|",
    ]
    roles = [stage for role in ROLES for stage in (VERIFIER_STAGES if role == "verifier" else (role,))]
    for name in ("vision", "pointer", "glance", "base", *roles):
        if name == "pointer":  # recipe stages without a preset: their own records
            lines += _pointer_row(work / "runs" / "tiny-pointer" / "pointer_warmup.json")
            continue
        if name == "glance":
            lines += _glance_rows(work)
            continue
        run = run_folder(work, name)
        config = _read_yaml(run / "train_config.yaml")
        if not config:
            config = _read_yaml(REPO / "configs" / "train" / f"tiny_{name}.yaml")
        train = config.get("train", {})
        lines.append(f"| {run.name.removeprefix('tiny-')} | `configs/train/tiny_{name}.yaml` | {train.get('max_steps', '-')} | "
                     f"{train.get('batch_size', '-')} | {train.get('learning_rate', '-')} |")  # fmt: skip
    timings_file = work / "timings.json"
    if timings_file.is_file():
        timings = json.loads(timings_file.read_text())
        ordered = sorted(timings.items(), key=lambda item: STAGES.index(item[0]) if item[0] in STAGES else 99)
        spent = ", ".join(f"{stage} {seconds / 60:.0f} min" for stage, seconds in ordered)
        lines += ["", f"CPU wall time of the last recipe run: {spent}."]
    ablation_file = work / "ablation" / "ablation.json"
    if ablation_file.is_file():
        from videomind.eval.ablation import markdown_table

        report = json.loads(ablation_file.read_text())
        planner = report.get("planner", {})
        lines += [
            "",
            "## Results on the held-out synthetic test split (`videomind eval ablate`)",
            "",
            markdown_table(report),
            "",
            f"Planner: valid JSON {planner.get('valid_json', float('nan')):.1f} %, routing accuracy "
            f"{planner.get('routing_accuracy', float('nan')):.1f} %.",
        ]
    probe_file = work / "ablation" / "answerer_probe.json"
    if probe_file.is_file():
        probe = json.loads(probe_file.read_text())
        lines += ["", "Answerer probe (`recipes.answerer_probe`, held-out questions; 4 options, chance 25 %):", "",
                  "| view | accuracy | most frequent letter |", "|---|---|---|"]  # fmt: skip
        for view, row in probe.items():
            lines.append(f"| {view} | {row['accuracy']:.1f} | {row['top_letter_share']:.1f} % |")
    auc_file = work / "ablation" / "verifier_auc.json"
    if auc_file.is_file():
        final = json.loads(auc_file.read_text())["by_step"][-1]
        lines += ["", f"Verifier on {final['candidates']} held-out grounder candidates (`recipes.verifier_auc`, "
                  f"{final['queries']} training queries of videos it never trained on): ROC AUC "
                  f"{final['roc_auc']:.3f}; the right moment first in the grounder's order for "
                  f"{100 * final['top1_grounder']:.1f} % of queries, after re-ranking {100 * final['top1_verifier']:.1f} %."]  # fmt: skip
    lines += [
        "",
        "The recipe, what mattered, and the learning curves: docs/TINY_MODEL.md in the repository.",
        "",
    ]
    return "\n".join(lines)
