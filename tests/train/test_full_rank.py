"""recipes.full_rank: a language model trained whole (vision, norms and biases frozen) stored as a role's LoRA."""

import pytest
import torch

from recipes.full_rank import full_rank, lora_factors
from videomind.errors import UserInputError
from videomind.model import build_tiny_model, load_model
from videomind.model.adapters import use_role
from videomind.train.saving import save_base_run


def test_lora_factors_multiply_back_to_the_change():
    torch.manual_seed(0)
    low = torch.randn(64, 8) @ torch.randn(8, 128)
    lora_a, lora_b = lora_factors(low, rank=16)
    assert lora_a.shape == (16, 128) and lora_b.shape == (64, 16)
    assert torch.allclose(lora_b @ lora_a, low, atol=1e-4)
    full = torch.randn(256, 128)
    lora_a, lora_b = lora_factors(full, rank=128)
    assert torch.allclose(lora_b @ lora_a, full, atol=1e-4)
    lora_a, lora_b = lora_factors(full, rank=32)  # too low a rank cannot hold it
    assert not torch.allclose(lora_b @ lora_a, full, atol=1e-2)


def _tuned(tmp_path, also=()):
    """A tiny base on disk, and a copy whose projections, embeddings and output changed (plus ``also``)."""
    model, processor = build_tiny_model(seed=0, roles=())
    base = save_base_run(model, processor, tmp_path / "base")
    generator = torch.Generator().manual_seed(1)
    with torch.no_grad():
        for name, param in model.lm.named_parameters():
            moved = name.endswith("_proj.weight") and ".language_model." in name
            moved |= "embed_tokens" in name or name.startswith("lm_head") or any(a in name for a in also)
            if moved:
                param.add_(0.05 * torch.randn(param.shape, generator=generator))
    return base, save_base_run(model, processor, tmp_path / "tuned"), model


@pytest.mark.parametrize("role", ["verifier", "answerer"])
def test_the_adapter_reproduces_the_tuned_model_and_leaves_the_base_alone(tmp_path, role):
    base, tuned, tuned_model = _tuned(tmp_path)
    run = full_rank(base, tuned, tmp_path / f"{role}-run", role)
    model, _ = load_model(run, device="cpu", dtype="float32")
    vocabulary = tuned_model.lm.get_input_embeddings().weight.shape[0]
    ids = torch.randint(0, vocabulary, (2, 24), generator=torch.Generator().manual_seed(2))
    with torch.no_grad():
        expected = tuned_model.lm(input_ids=ids).logits
        with use_role(model, role):
            adapted = model.lm(input_ids=ids).logits
        with model.lm.disable_adapter():  # the shared base itself
            plain = model.lm(input_ids=ids).logits
        original, _ = build_tiny_model(seed=0, roles=())
        assert torch.allclose(adapted, expected, atol=1e-4)
        assert torch.allclose(plain, original.lm(input_ids=ids).logits, atol=1e-5)
        assert not torch.allclose(plain, expected, atol=1e-2)


@pytest.mark.parametrize("moved", ["input_layernorm", "q_proj.bias", "model.visual."])
def test_changes_a_lora_cannot_hold_are_refused(tmp_path, moved):
    base, tuned, _ = _tuned(tmp_path, also=(moved,))
    with pytest.raises(UserInputError, match="cannot hold"):
        full_rank(base, tuned, tmp_path / "verifier-run", "verifier")


def test_verifier_auc_scores_a_whole_trained_checkpoint_through_its_adapter_made_once(tmp_path):
    from recipes.verifier_auc import as_verifier

    base, tuned, _ = _tuned(tmp_path)
    made = as_verifier(base, tuned)
    weights = made / "verifier" / "adapter_model.safetensors"
    assert made == tuned / "as-verifier" and weights.is_file()
    first = weights.stat().st_mtime_ns
    assert as_verifier(base, tuned) == made and weights.stat().st_mtime_ns == first


def test_the_recipes_verifier_stage_stores_its_last_run_as_the_adapter_once(tmp_path, monkeypatch):
    from recipes import tiny_model as tiny_recipe

    work = tmp_path / "work"
    base, tuned, tuned_model = _tuned(tmp_path)
    (work / "runs").mkdir(parents=True)
    (work / "runs" / "tiny-base").symlink_to(base)
    (work / "runs" / "tiny-verifier-whole").symlink_to(base)  # a finished first stage that changed nothing
    (work / "runs" / "tiny-verifier-markers").symlink_to(tuned)
    for run in ("tiny-verifier-whole", "tiny-verifier-markers"):
        (work / "runs" / run / "train_config.yaml").write_text("train: {}\n")
    trained = []
    monkeypatch.setattr(tiny_recipe, "run_videomind", lambda *args, **kw: trained.append(args))
    out = tiny_recipe.stage_verifier(work)
    assert trained == []  # both stages had finished: nothing retrained
    model, _ = load_model(out, device="cpu", dtype="float32")
    ids = torch.randint(0, 64, (1, 16), generator=torch.Generator().manual_seed(3))
    with torch.no_grad(), use_role(model, "verifier"):
        assert torch.allclose(model.lm(input_ids=ids).logits, tuned_model.lm(input_ids=ids).logits, atol=1e-4)
    stamp = (out / "verifier" / "adapter_model.safetensors").stat().st_mtime_ns
    assert tiny_recipe.stage_verifier(work) == out  # done: kept as it is
    assert (out / "verifier" / "adapter_model.safetensors").stat().st_mtime_ns == stamp
