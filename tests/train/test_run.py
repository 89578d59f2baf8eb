"""Every role trains on generated data, its loss goes down, and the output reloads with every tensor equal."""

import json

import pytest
import torch

from tests.train.conftest import tiny_overrides
from videomind.data.collator import Collator
from videomind.errors import UserInputError
from videomind.model import load_model
from videomind.model.adapters import lora_layer_count, roles_of, shared_matrix_copies, use_role
from videomind.train.config import load_config
from videomind.train.run import build_dataset, run_training
from videomind.train.setup import prepare_model, resize_for_tokenizer

ROLES = ["grounder", "verifier", "planner", "answerer", "base", "grounder-tied"]  # tied: embeddings as in 2B


def fixed_batch(cfg):
    """The first two examples of the run's data, built from a freshly prepared (untrained) model."""
    prepared = prepare_model(cfg.model)
    dataset = build_dataset(cfg, prepared)
    return prepared, Collator(prepared.processor)([dataset[(0, 0)], dataset[(1, 0)]])


@torch.no_grad()
def loss_of(model, batch, role):
    model.eval()
    if role == "base":
        return model(**batch)["loss"].item()
    with use_role(model, role):
        return model(**batch)["loss"].item()


@pytest.mark.parametrize("role", ROLES)
def test_role_learns_and_its_checkpoint_reloads_exactly(role, synth_root, tmp_path):
    role, tied = role.removesuffix("-tied"), role.endswith("-tied")
    extra = ["model.tiny.tie_word_embeddings=true"] if tied else []
    cfg = load_config(None, [*tiny_overrides(role, tmp_path / role, synth_root, steps=6), *extra])
    fresh, batch = fixed_batch(cfg)
    before = loss_of(fresh.model, batch, role)
    result = run_training(cfg)
    assert result.global_step == 6 and result.resumed_from is None
    trained = result.prepared.model
    loaded, _ = load_model(result.output_dir, device="cpu", dtype=torch.float32)
    after = loss_of(loaded, batch, role)
    assert after < before
    assert after == pytest.approx(loss_of(trained, batch, role), rel=1e-6)
    expected, found = trained.state_dict(), loaded.state_dict()
    assert expected.keys() == found.keys()
    for name, tensor in expected.items():
        assert torch.equal(tensor, found[name]), name
    saved = yaml_config(result.output_dir)
    assert saved["model"]["role"] == role and saved["train"]["max_steps"] == 6


def yaml_config(folder):
    import yaml

    return yaml.safe_load((folder / "train_config.yaml").read_text())


def test_grounder_output_is_the_released_layout(synth_root, tmp_path):
    out = tmp_path / "g"
    run_training(
        load_config(
            None, [*tiny_overrides("grounder", out, synth_root, steps=2), "train.report_to=[tensorboard]"]
        )
    )
    assert list((out / "runs").glob("*/events.out.tfevents.*"))  # TensorBoard logs
    config = json.loads((out / "config.json").read_text())
    assert config["model_type"] == "agent_qwen2_vl" and config["role"] == "grounder"
    assert config["base_model_path"] == "base" and (out / "base" / "config.json").is_file()
    assert config["videomind_head"]["dims"] == 32  # a non-default head is recorded
    adapter = json.loads((out / "grounder" / "adapter_config.json").read_text())
    assert adapter["r"] == 8 and adapter["lora_alpha"] == 16 and adapter["lora_dropout"] == 0.0
    assert sorted(adapter["modules_to_save"]) == ["embed_tokens", "lm_head"]
    assert adapter["target_modules"][0].startswith("model.layers.")  # official (legacy) names
    from safetensors.torch import load_file

    head = load_file(str(out / "pytorch_model.safetensors"))
    assert all(k.startswith("base_model.model.") for k in head)
    keys = load_file(str(out / "grounder" / "adapter_model.safetensors"))
    assert "base_model.model.model.embed_tokens.weight" in keys and "base_model.model.lm_head.weight" in keys
    assert not list(out.glob("tmp-*")) and (out / "trainer_state.json").is_file()


def test_trainable_parameters_per_role(tmp_path):
    def setup(*extra):
        return prepare_model(
            load_config(None, [*tiny_overrides("grounder", tmp_path, tmp_path), *extra]).model
        )

    def trainable(prepared):
        return [n for n, p in prepared.model.named_parameters() if p.requires_grad]

    grounder = setup()
    names = trainable(grounder)
    assert lora_layer_count(grounder.model, "grounder") == 2 * 4  # 2 layers x q/k/v/o
    assert shared_matrix_copies(grounder.model, "grounder") == ["embed_tokens", "lm_head"]
    assert all(".grounder." in n or n.startswith("grounding_head.") for n in names)
    assert sum(n.startswith("grounding_head.") for n in names) == len(
        list(grounder.model.grounding_head.parameters())
    )
    verifier = setup("model.role=verifier")
    assert verifier.model.grounding_head is None and all(".verifier." in n for n in trainable(verifier))
    assert shared_matrix_copies(verifier.model, "verifier") == ["embed_tokens", "lm_head"]
    planner = setup("model.role=planner")
    assert (
        all(".lora_" in n for n in trainable(planner))
        and shared_matrix_copies(planner.model, "planner") == []
    )
    projector = setup("model.role=planner", "model.tuning_modules=[projector]")
    assert any("visual.merger" in n for n in trainable(projector))
    base = setup("model.role=base")
    assert roles_of(base.model) == [] and len(trainable(base)) == len(list(base.model.parameters()))
    frozen = setup("model.role=base", "model.freeze_vision=true")
    assert not any("visual" in n for n in trainable(frozen)) and trainable(frozen)
    linear = setup("model.role=base", "model.frozen=[norm, bias$]")
    names = trainable(linear)
    assert names and not any("norm" in n or n.endswith("bias") for n in names)
    assert any(n.endswith("q_proj.weight") for n in names) and any("embed_tokens" in n for n in names)
    for pattern in ("nothing_is_called_this", "(unclosed"):  # a pattern that cannot apply is refused
        with pytest.raises(UserInputError, match="model.frozen"):
            setup("model.role=base", f"model.frozen=[{pattern}]")
    with pytest.raises(UserInputError, match="role 'base' only"):  # a LoRA role trains its adapter alone
        setup("model.frozen=[norm]")


def test_resize_only_when_the_tokenizer_outgrows_the_vocabulary():
    from videomind.model.tiny import build_tiny_model

    model, _ = build_tiny_model(0, roles=())
    base = model.base
    rows = base.get_input_embeddings().weight.shape[0]
    assert not resize_for_tokenizer(base, rows)
    old_in = base.get_input_embeddings().weight.detach().clone()
    old_out = base.get_output_embeddings().weight.detach().clone()
    assert resize_for_tokenizer(base, rows + 3)
    new_in, new_out = base.get_input_embeddings().weight, base.get_output_embeddings().weight
    assert new_in.shape[0] == new_out.shape[0] == rows + 3
    assert torch.equal(new_in[:rows], old_in) and torch.equal(new_out[:rows], old_out)
    assert torch.allclose(new_in[rows:], old_in.mean(0).expand(3, -1))
    assert torch.allclose(new_out[rows:], old_out.mean(0).expand(3, -1))


def test_finetune_continues_a_videomind_checkpoint(synth_root, tmp_path):
    first = run_training(load_config(None, tiny_overrides("grounder", tmp_path / "a", synth_root, steps=2)))
    overrides = [
        *tiny_overrides("grounder", tmp_path / "b", synth_root, steps=2),
        f"model.base={first.output_dir}",
    ]
    cfg = load_config(None, overrides)
    start = prepare_model(cfg.model)  # the finetune starts exactly from the first run's adapter and head
    expected = first.prepared.model.state_dict()
    for name, tensor in start.model.state_dict().items():
        assert torch.equal(tensor, expected[name]), name
    assert start.base_model_path == str((first.output_dir / "base").resolve())
    second = run_training(cfg)
    loaded, _ = load_model(second.output_dir, device="cpu", dtype=torch.float32)
    assert roles_of(loaded) == ["grounder"]
    answerer = prepare_model(load_config(None, [*overrides, "model.role=answerer"]).model)
    assert roles_of(answerer.model) == ["answerer"]  # a role the checkpoint lacks gets a fresh adapter


def test_gradient_checkpointing_and_bf16(synth_root, tmp_path):
    flags = {}

    def losses(name, *extra):
        cfg = load_config(None, [*tiny_overrides("grounder", tmp_path / name, synth_root, steps=2), *extra])
        result = run_training(cfg)
        model = result.prepared.model
        flags[name] = (model.text_model.gradient_checkpointing, model.visual.gradient_checkpointing)
        return [h["loss"] for h in result.log_history if "loss" in h]

    plain = losses("plain")
    assert losses("checkpointed", "train.gradient_checkpointing=true") == plain  # recomputed, same math
    assert losses("bf16", "train.precision=bf16") == pytest.approx(plain, rel=1e-2)  # CPU autocast
    assert flags == {"plain": (False, False), "checkpointed": (True, True), "bf16": (False, False)}


def test_roles_train_on_a_published_style_qwen2_vl_folder(synth_root, tmp_path):
    """The oracle's tiny base is written like Qwen2-VL-Instruct (flat config, its own tokenizer with the three
    VideoMind tokens at the end): no resize, the official ids, and the run records the base path."""
    from tests.conftest import ORACLE

    base = ORACLE / "tiny-qwen2-vl-base"
    cfg = load_config(
        None, [*tiny_overrides("verifier", tmp_path / "v", synth_root, steps=2), f"model.base={base}"]
    )
    result = run_training(cfg)
    config = json.loads((result.output_dir / "config.json").read_text())
    assert (config["reg_token_id"], config["seg_s_token_id"], config["seg_e_token_id"]) == (1014, 1015, 1016)
    assert config["vocab_size"] == 1024 and config["base_model_path"] == str(base)  # nothing resized
    assert not (result.output_dir / "base").exists()
    loaded, processor = load_model(result.output_dir, device="cpu", dtype=torch.float32)
    assert roles_of(loaded) == ["verifier"] and processor.token_id("Yes") == 260
