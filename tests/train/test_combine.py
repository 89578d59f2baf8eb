"""``videomind train`` on the command line, and combining role runs into one multi-role checkpoint."""

import json

import pytest
import torch
import yaml

from tests.train.conftest import tiny_overrides
from videomind.cli.main import main
from videomind.model import load_model
from videomind.model.adapters import roles_of
from videomind.train.combine import combine_runs
from videomind.train.config import load_config
from videomind.train.run import run_training


@pytest.fixture(scope="module")
def runs(synth_root, tmp_path_factory):
    """Grounder, verifier and planner runs on the same tiny base (the grounder with LoRA on the MLPs too, as the
    embedded model's), plus a planner on another base."""
    folder = tmp_path_factory.mktemp("runs")
    out = {}
    for role in ("grounder", "verifier", "planner"):
        overrides = tiny_overrides(role, folder / role, synth_root, steps=2)
        overrides += ["model.lora_mlp=true"] if role == "grounder" else []
        out[role] = run_training(load_config(None, overrides))
    other = [*tiny_overrides("planner", folder / "other", synth_root, steps=1), "model.tiny.seed=7"]
    out["other"] = run_training(load_config(None, other))
    return out


def test_cli_combine_merges_roles_with_every_tensor(runs, tmp_path, capsys):
    out = tmp_path / "all"
    folders = [str(runs[r].output_dir) for r in ("planner", "verifier", "grounder")]
    assert main(["train", "combine", str(out), *folders]) == 0
    assert "planner, grounder, verifier" in capsys.readouterr().out
    config = json.loads((out / "config.json").read_text())
    assert config["role"] == "grounder" and config["base_model_path"] == "base"
    assert (out / "pytorch_model.safetensors").is_file() and (out / "base" / "config.json").is_file()
    model, _ = load_model(out, device="cpu", dtype=torch.float32)
    assert roles_of(model) == ["planner", "grounder", "verifier"]
    found = model.state_dict()
    mlp_roles = {n.split(".lora_A.")[1].split(".")[0] for n in found if ".mlp." in n and ".lora_A." in n}
    assert mlp_roles == {"grounder"}
    for role in ("planner", "grounder", "verifier"):
        for name, tensor in runs[role].prepared.model.state_dict().items():
            if f".{role}." in name or name.startswith("grounding_head."):
                assert torch.equal(found[name], tensor), name


def test_combine_refuses_conflicts(runs, tmp_path):
    from videomind.errors import UserInputError

    g, p = str(runs["grounder"].output_dir), str(runs["planner"].output_dir)
    with pytest.raises(UserInputError, match="role 'planner' is in both"):
        combine_runs(tmp_path / "dup", [g, p, p])
    with pytest.raises(UserInputError, match="different base models"):
        combine_runs(tmp_path / "bases", [g, str(runs["other"].output_dir)])
    (tmp_path / "full").mkdir()
    (tmp_path / "full" / "x").write_text("")
    with pytest.raises(UserInputError, match="not empty"):
        combine_runs(tmp_path / "full", [g])
    assert main(["train", "combine", str(tmp_path / "one")]) == 2  # needs OUT and at least one run


def test_cli_prints_the_resolved_config(tmp_path, capsys):
    preset = tmp_path / "p.yaml"
    preset.write_text("train: {output_dir: /tmp/x}\ndata: {datasets: [synthetic]}\n")
    assert main(["train", str(preset), "train.learning_rate=3e-4", "--print-config"]) == 0
    printed = yaml.safe_load(capsys.readouterr().out)
    assert printed["train"]["learning_rate"] == 3e-4 and printed["model"]["lora_r"] == 64
    assert main(["train", str(preset), "train.learnin_rate=1"]) == 2  # a user error, exit code 2


def test_cli_trains(synth_root, tmp_path, capsys):
    preset = tmp_path / "p.yaml"
    preset.write_text("data: {datasets: [synthetic]}\n")
    out = tmp_path / "run"
    assert main(["train", str(preset), *tiny_overrides("planner", out, synth_root, steps=1)]) == 0
    assert "trained planner for 1 steps" in capsys.readouterr().out
    assert (out / "planner" / "adapter_model.safetensors").is_file() and (out / "train_config.yaml").is_file()


def test_embed_writes_a_float16_asset_with_its_model_card(runs, tmp_path):
    from recipes import tiny_model as tiny_recipe

    work = tmp_path / "work"
    (work / "runs").mkdir(parents=True)
    for role in ("grounder", "verifier", "planner"):
        (work / "runs" / f"tiny-{role}").symlink_to(runs[role].output_dir)
    (work / "timings.json").write_text(json.dumps({"base": 1800.0, "grounder": 1200.0}))
    (work / "runs" / "tiny-pointer").mkdir()
    pointer = {"words_steps": 714, "steps": 1500, "batch_size": 32, "learning_rate": 0.001}
    (work / "runs" / "tiny-pointer" / "pointer_warmup.json").write_text(json.dumps(pointer))
    (work / "runs" / "tiny-glance").mkdir()  # the second glance phase only: the first did not run
    glance = {"steps": 1000, "batch_size": 8, "learning_rate": 0.0005}
    (work / "runs" / "tiny-glance" / "letter_binding.json").write_text(json.dumps(glance))
    (work / "ablation").mkdir()
    report = {"settings": {"answerer": {"Acc": 41.5}, "full": {"R1@0.5": 33.3, "mIoU": 30.0, "Acc": 55.0}},
              "planner": {"valid_json": 100.0, "routing_accuracy": 87.5}}  # fmt: skip
    (work / "ablation" / "ablation.json").write_text(json.dumps(report))
    auc = {"by_step": [{"step": 500, "queries": 200, "candidates": 1000, "roc_auc": 0.5, "top1_grounder": 0.4,
                        "top1_verifier": 0.3},
                       {"step": "final", "queries": 200, "candidates": 996, "roc_auc": 0.6123, "top1_grounder": 0.41,
                        "top1_verifier": 0.435}]}  # fmt: skip
    (work / "ablation" / "verifier_auc.json").write_text(json.dumps(auc))
    tiny_recipe.stage_combine(work)
    asset = tiny_recipe.stage_embed(work, target=tmp_path / "asset")

    config = json.loads((asset / "config.json").read_text())
    assert config["base_model_path"] == "base"
    assert config["videomind"]["agent_options"] == tiny_recipe.EMBEDDED_AGENT_OPTIONS
    for file in asset.rglob("*.safetensors"):
        from safetensors.torch import load_file

        assert {t.dtype for t in load_file(str(file)).values() if t.is_floating_point()} == {torch.float16}
    model, _ = load_model(asset, device="cpu", dtype=torch.float32)
    assert roles_of(model) == ["planner", "grounder", "verifier"]

    card = (asset / "README.md").read_text()
    assert "What it is not" in card and "5 shapes in 6 colours" in card
    assert "base 30 min, grounder 20 min" in card
    assert (
        "| pointer | `recipes.pointer_warmup` (text only; words, then hinted questions) | 714 + 1500 | 32 | 0.001 |"
        in card
    )
    glance_rows = [line for line in card.splitlines() if "recipes.letter_binding" in line]
    assert glance_rows == [
        "| glance | `recipes.letter_binding` (letter-only loss; colour_seen, kind_seen x3, background x0.5) | 1000 | 8 | 0.0005 |"
    ]
    assert "| full agent (+ planner) | - | 33.3 | - | 30.0 | 55.0 |" in card
    assert "valid JSON 100.0 %, routing accuracy 87.5 %" in card
    # the verifier's two stages, from their presets where the work folder has no run of them
    assert "| verifier-whole | `configs/train/tiny_verifier_whole.yaml` | 2500 | 4 | 0.0005 |" in card
    assert "| verifier-markers | `configs/train/tiny_verifier_markers.yaml` | 2500 | 4 | 0.0005 |" in card
    assert "Verifier on 996 held-out grounder candidates" in card and "ROC AUC 0.612;" in card
    assert "grounder's order for 41.0 % of queries, after re-ranking 43.5 %." in card
    params = sum(p.numel() for p in model.parameters())
    assert f"{params / 1e6:.2f} M parameters in all, every role loaded." in card


def test_verifier_data_holds_the_grounders_candidates_and_resumes(runs, synth_root, tmp_path):
    from recipes import tiny_model as tiny_recipe
    from videomind.data.conversations import verifying_samples_from_predictions

    work = tmp_path / "work"
    (work / "runs").mkdir(parents=True)
    (work / "data").mkdir()
    (work / "data" / "synthetic").symlink_to(synth_root)
    (work / "runs" / "tiny-grounder").symlink_to(runs["grounder"].output_dir)
    out = tiny_recipe.stage_verifier_data(work, queries=2, held_out=2)
    lines = [json.loads(line) for line in out.read_text().splitlines()]
    assert len(lines) == 2 and len({line["id"] for line in lines}) == 2
    assert all(1 <= len(line["pred"]) <= 5 and line["span"] for line in lines)
    held_out = [json.loads(line) for line in (work / tiny_recipe.GROUNDER_HELD_OUT).read_text().splitlines()]
    assert len(held_out) == 2 and all(1 <= len(line["pred"]) <= 5 for line in held_out)
    # the held-out queries are of other videos than the verifier's training candidates
    assert not {line["video_path"] for line in held_out} & {line["video_path"] for line in lines}
    assert (
        tiny_recipe.stage_verifier_data(work, queries=2, held_out=2).read_text().count("\n") == 2
    )  # nothing redone
    assert (work / tiny_recipe.GROUNDER_HELD_OUT).read_text().count("\n") == 2
    samples = verifying_samples_from_predictions(out)
    assert len(samples) == sum(len(line["pred"]) for line in lines)
    assert {s.extra["label"] for s in samples} <= {"Yes", "No"}
