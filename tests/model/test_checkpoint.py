"""Checkpoint I/O in the released layout: exact round trips, legacy key names, refusal of mismatched keys."""

import json
import shutil

import pytest
import torch
from safetensors.torch import load_file, save_file

from tests.conftest import ORACLE
from videomind.errors import CheckpointError
from videomind.model import build_tiny_model, load_model, save_checkpoint
from videomind.model.adapters import lora_layer_count, roles_of
from videomind.model.checkpoint_names import adapter_key_to_param, param_to_adapter_key


def _state(model):
    out = {f"lm.{k}": v for k, v in model.lm.state_dict().items()}
    out.update({f"head.{k}": v for k, v in model.grounding_head.state_dict().items()})
    return out


@pytest.fixture(scope="module")
def saved(tiny, tmp_path_factory):
    model, processor = tiny
    out = tmp_path_factory.mktemp("ckpt") / "tiny-videomind"
    base_dir = out.parent / "base"
    bare, _ = build_tiny_model(seed=0, roles=())  # the same seed builds the same base, without adapters
    bare.base.save_pretrained(base_dir)
    save_checkpoint(model, processor, out, base_model_path="../base")
    return out


def test_round_trip_every_tensor_equal(tiny, saved):
    model, _ = tiny
    loaded, _ = load_model(saved, device="cpu", dtype=torch.float32)
    assert roles_of(loaded) == roles_of(model)
    original, restored = _state(model), _state(loaded)
    assert set(original) == set(restored)
    for key, value in original.items():
        assert torch.equal(value, restored[key]), key


def test_saved_files_use_official_key_names(saved):
    config = json.loads((saved / "config.json").read_text())
    assert config["model_type"] == "agent_qwen2_vl" and config["role"] == "grounder"
    assert {"reg_token_id", "seg_s_token_id", "seg_e_token_id", "base_model_path"} <= set(config)
    assert "hidden_size" in config and "text_config" not in config  # flat, 4.45-style
    keys = set(load_file(str(saved / "grounder" / "adapter_model.safetensors")))
    assert "base_model.model.model.layers.0.self_attn.q_proj.lora_A.weight" in keys
    assert "base_model.model.model.embed_tokens.weight" in keys and "base_model.model.lm_head.weight" in keys
    adapter = json.loads((saved / "grounder" / "adapter_config.json").read_text())
    assert "model.layers.1.self_attn.o_proj" in adapter["target_modules"]
    head_keys = set(load_file(str(saved / "pytorch_model.safetensors")))
    assert "base_model.model.vis_proj.1.weight" in head_keys and "base_model.model.coef.scale" in head_keys


def test_legacy_keys_of_the_released_files_load_completely(oracle_model):
    model, _ = oracle_model
    for role in ("planner", "grounder", "verifier"):
        assert lora_layer_count(model, role) == 8  # 2 layers x q/k/v/o, every one attached


def test_key_mapping_round_trips():
    key = "base_model.model.model.layers.3.self_attn.k_proj.lora_B.weight"
    param = adapter_key_to_param(key, "verifier", ("embed_tokens", "lm_head"))
    assert param == "base_model.model.model.language_model.layers.3.self_attn.k_proj.lora_B.verifier.weight"
    assert param_to_adapter_key(param, "verifier") == key
    key = "base_model.model.model.embed_tokens.weight"
    param = adapter_key_to_param(key, "grounder", ("embed_tokens", "lm_head"))
    assert param == "base_model.model.model.language_model.embed_tokens.modules_to_save.grounder.weight"
    assert param_to_adapter_key(param, "grounder") == key


def _copy_oracle(tmp_path):
    dst = tmp_path / "oracle"
    shutil.copytree(ORACLE / "tiny-videomind", dst / "tiny-videomind")
    shutil.copytree(ORACLE / "tiny-qwen2-vl-base", dst / "tiny-qwen2-vl-base")
    for path in dst.rglob("*"):
        path.chmod(0o755 if path.is_dir() else 0o644)
    return dst / "tiny-videomind"


def test_missing_and_unexpected_adapter_keys_are_refused(tmp_path):
    ckpt = _copy_oracle(tmp_path)
    file = ckpt / "verifier" / "adapter_model.safetensors"
    state = load_file(str(file))
    dropped = "base_model.model.model.layers.0.self_attn.q_proj.lora_A.weight"
    state.pop(dropped)
    save_file(state, str(file))
    with pytest.raises(CheckpointError, match="missing.*layers.0.self_attn.q_proj.lora_A.verifier"):
        load_model(ckpt, device="cpu", dtype=torch.float32)
    state[dropped] = torch.zeros(8, 64, dtype=torch.float16)
    state["base_model.model.model.layers.0.self_attn.q_proj.lora_C.weight"] = torch.zeros(1)
    save_file(state, str(file))
    with pytest.raises(CheckpointError, match="lora_C"):
        load_model(ckpt, device="cpu", dtype=torch.float32)


def test_unexpected_head_key_is_refused(tmp_path):
    ckpt = _copy_oracle(tmp_path)
    file = ckpt / "pytorch_model.safetensors"
    state = load_file(str(file))
    state["base_model.model.vis_extra.weight"] = torch.zeros(1)
    save_file(state, str(file))
    with pytest.raises(CheckpointError, match="vis_extra"):
        load_model(ckpt, device="cpu", dtype=torch.float32)


def test_base_model_resolution_errors_are_clear(tmp_path):
    ckpt = _copy_oracle(tmp_path)
    shutil.rmtree(ckpt.parent / "tiny-qwen2-vl-base")
    with pytest.raises(CheckpointError, match="base_model="):
        load_model(ckpt, device="cpu", dtype=torch.float32)
    model, _ = load_model(ckpt, device="cpu", dtype=torch.float32, base_model=ORACLE / "tiny-qwen2-vl-base")
    assert roles_of(model) == ["planner", "grounder", "verifier"]


def test_tied_embeddings_round_trip(tmp_path):
    """The 2B layout: tied input/output embeddings in the base, separate role copies in the adapters."""
    from videomind.model.tiny import TinyShape

    shape = TinyShape(tie_word_embeddings=True)
    model, processor = build_tiny_model(seed=3, shape=shape)
    bare, _ = build_tiny_model(seed=3, shape=shape, roles=())
    bare.base.save_pretrained(tmp_path / "base")
    assert "lm_head.weight" not in load_file(str(tmp_path / "base" / "model.safetensors"))
    save_checkpoint(model, processor, tmp_path / "ckpt", base_model_path="../base")
    loaded, _ = load_model(tmp_path / "ckpt", device="cpu", dtype=torch.float32)
    original, restored = _state(model), _state(loaded)
    for key, value in original.items():
        assert torch.equal(value, restored[key]), key


@pytest.mark.parametrize("dtype", [torch.bfloat16, torch.float16])
def test_half_precision_load_runs(dtype):
    """Adapters, copies and head all follow the model dtype (the official fp32 load crashed on fp16 copies)."""
    from videomind.model.adapters import use_role

    model, processor = load_model(ORACLE / "tiny-videomind", device="cpu", dtype=dtype)
    batch = load_file(str(ORACLE / "inputs" / "verifier_A.safetensors"))
    for role in ("planner", "grounder", "verifier", "answerer"):
        with use_role(model, role):
            logits, _ = model.last_logits(batch)
        assert torch.isfinite(logits).all(), role


def test_offline_hub_id_gives_a_clear_message(monkeypatch, tmp_path):
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    monkeypatch.setenv("HF_HOME", str(tmp_path))
    monkeypatch.chdir(tmp_path)
    with pytest.raises(CheckpointError, match="offline"):
        load_model("yeliudev/VideoMind-2B", device="cpu")


def test_many_target_modules_round_trip(tmp_path):
    """>= 20 LoRA targets (the released 2B lists 112): PEFT shrinks such lists to suffixes while attaching; the
    saved adapter_config must still list every module by its full name, and loading must count them all."""
    from videomind.model.tiny import TinyShape

    shape = TinyShape(num_layers=5)  # 5 layers x q/k/v/o = 20 targets
    model, processor = build_tiny_model(seed=4, shape=shape)
    bare, _ = build_tiny_model(seed=4, shape=shape, roles=())
    bare.base.save_pretrained(tmp_path / "base")
    save_checkpoint(model, processor, tmp_path / "ckpt", base_model_path="../base")
    adapter = json.loads((tmp_path / "ckpt" / "grounder" / "adapter_config.json").read_text())
    assert (
        len(adapter["target_modules"]) == 20
        and "model.layers.4.self_attn.v_proj" in adapter["target_modules"]
    )
    loaded, _ = load_model(tmp_path / "ckpt", device="cpu", dtype=torch.float32)
    assert all(lora_layer_count(loaded, role) == 20 for role in roles_of(loaded))
    original, restored = _state(model), _state(loaded)
    for key, value in original.items():
        assert torch.equal(value, restored[key]), key


def test_read_tensors_into_converts_and_checks(tmp_path):
    from videomind.model.safetensors_io import read_tensors_into

    file = tmp_path / "t.safetensors"
    half = torch.randn(300, 7).to(torch.float16)
    save_file({"a": half, "b": torch.arange(6, dtype=torch.float32).view(2, 3)}, str(file))
    a, b = torch.empty(300, 7), torch.empty(2, 3)
    read_tensors_into(file, {"a": a, "b": b})
    assert torch.equal(a, half.float()) and torch.equal(b, torch.arange(6.0).view(2, 3))
    with pytest.raises(CheckpointError, match="shape"):
        read_tensors_into(file, {"b": torch.empty(3, 2)})
    file.write_bytes(file.read_bytes()[:-8])
    with pytest.raises(CheckpointError, match="truncated"):
        read_tensors_into(file, {"a": a, "b": b})
