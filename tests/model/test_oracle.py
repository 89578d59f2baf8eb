"""Fidelity to the official code: our loader and forward passes reproduce the oracle's recorded outputs (on the
device ``VIDEOMIND_TEST_DEVICE`` names, float32, the oracle README's tolerances)."""

import pytest
import torch
from safetensors.torch import load_file

from tests.conftest import ORACLE, load_expected
from videomind.model.adapters import lora_layer_count, roles_of, shared_matrix_copies, use_role


def inputs(case):
    return load_file(str(ORACLE / "inputs" / f"{case}.safetensors"))


def expected(case):
    return load_file(str(ORACLE / "expected" / f"{case}.safetensors")), load_expected(case)


def test_loads_with_every_role_and_exact_weights(oracle_model):
    model, _ = oracle_model
    assert roles_of(model) == ["planner", "grounder", "verifier"]
    for role in ("planner", "grounder", "verifier"):
        assert lora_layer_count(model, role) == 8
    assert shared_matrix_copies(model, "grounder") == ["embed_tokens", "lm_head"]
    assert shared_matrix_copies(model, "verifier") == ["embed_tokens", "lm_head"]
    assert shared_matrix_copies(model, "planner") == []
    # the head is exactly the file's (fp16 values, exactly representable in float32)
    head_file = load_file(str(ORACLE / "tiny-videomind" / "pytorch_model.safetensors"))
    state = model.grounding_head.state_dict()
    assert len(head_file) == len(state) == 93
    for key, value in head_file.items():
        assert torch.equal(state[key.removeprefix("base_model.model.")].cpu(), value.float()), key
    lora = load_file(str(ORACLE / "tiny-videomind" / "grounder" / "adapter_model.safetensors"))
    params = dict(model.lm.named_parameters())
    name = "base_model.model.model.language_model.layers.1.self_attn.v_proj.lora_B.grounder.weight"
    assert torch.equal(
        params[name].cpu(), lora["base_model.model.model.layers.1.self_attn.v_proj.lora_B.weight"].float()
    )


def test_planner_greedy_ids_and_step_logits(oracle_model):
    model, _ = oracle_model
    tensors, meta = expected("planner")
    batch = inputs("planner")
    with use_role(model, "planner"):
        gen = model.generate(batch, max_new_tokens=16, record_logits=True)
    assert gen.token_ids == meta["generated_ids"]
    assert torch.allclose(torch.stack(gen.step_logits).cpu(), tensors["step_last_logits"], atol=1e-4)
    position_ids, deltas = model.rope_index(
        batch["input_ids"], batch["attention_mask"], batch["video_grid_thw"]
    )
    assert torch.equal(position_ids.cpu(), tensors["position_ids"])
    assert deltas.tolist() == tensors["rope_deltas"].tolist()


def test_grounder_teacher_forced_matches_reg_and_sal(oracle_model):
    model, _ = oracle_model
    tensors, meta = expected("grounder")
    batch = inputs("grounder")
    script = meta["forced_script_ids"]
    reg_at = script.index(model.token_ids.reg)
    with use_role(model, "grounder"):
        (result,) = model.ground_teacher_forced(batch, script[:reg_at])
    assert result.num_steps == meta["T"]
    assert torch.allclose(result.spans_norm.cpu(), tensors["reg"], atol=1e-5)
    assert torch.allclose(result.saliency.flatten().cpu(), tensors["sal"].flatten(), atol=1e-5)


def test_grounder_generation_triggers_head_like_official(oracle_model):
    """Forcing the scripted answer through generate(): the head fires at decode step 6 and gives the same rows."""
    model, _ = oracle_model
    tensors, meta = expected("grounder")
    batch = inputs("grounder")
    with use_role(model, "grounder"):
        gen = model.generate(
            batch,
            max_new_tokens=len(meta["forced_script_ids"]),
            capture_reg=True,
            record_logits=True,
            forced_ids=meta["forced_script_ids"],
        )
        assert gen.token_ids == meta["generated_ids"]
        assert [int(step.argmax()) for step in gen.step_logits] == meta["raw_argmax_per_step"]
        assert torch.allclose(gen.prefill_prenorm.cpu(), tensors["prefill_prenorm_states"][0], atol=1e-4)
        assert len(gen.query_states) == 1
        assert torch.allclose(gen.query_states[0].cpu(), tensors["query_state"].flatten(), atol=1e-4)
        (result,) = model.ground_from_states(
            batch["input_ids"], batch["video_grid_thw"], gen.prefill_prenorm, gen.query_states
        )
    assert torch.allclose(result.spans_norm.cpu(), tensors["reg"], atol=1e-5)


@pytest.mark.parametrize("case", ["verifier_A", "verifier_B"])
def test_verifier_scores_and_positions(oracle_model, case):
    model, processor = oracle_model
    tensors, meta = expected(case)
    batch = inputs(case)
    position_ids, deltas = model.rope_index(
        batch["input_ids"], batch["attention_mask"], batch["video_grid_thw"]
    )
    assert torch.equal(position_ids.cpu(), tensors["position_ids"])
    assert deltas.flatten().tolist() == meta["rope_deltas"]
    with use_role(model, "verifier"):
        logits, _ = model.last_logits(batch)
    logits = logits.cpu()
    probs = logits[0].softmax(-1)
    yes, no = processor.token_id("Yes"), processor.token_id("No")
    assert (yes, no) == (meta["yes_id"], meta["no_id"])
    assert torch.allclose(logits[0], tensors["last_logits"], atol=1e-4)
    score = torch.sigmoid(probs[yes] - probs[no]).item()
    assert score == pytest.approx(meta["score"], abs=1e-6)


def test_training_losses_of_train_grounder_short(oracle_model):
    model, _ = oracle_model
    meta = load_expected("train_grounder_short")
    batch = inputs("train_grounder_short")
    head = model.grounding_head
    model.train()
    try:
        with use_role(model, "grounder"), torch.no_grad():
            for module in model.modules():  # deterministic, as the oracle run: LoRA dropout and DropPath off
                if isinstance(module, torch.nn.Dropout):
                    module.p = 0.0
            head.set_drop_path(0.0)
            losses = model(
                input_ids=batch["input_ids"],
                attention_mask=batch["attention_mask"],
                labels=batch["labels"],
                pixel_values_videos=batch["pixel_values_videos"],
                video_grid_thw=batch["video_grid_thw"],
                timestamps=[batch["timestamps"].tolist()],
                saliency=[batch["saliency"].tolist()],
                pos_clip=[int(batch["pos_clip"][0])],
            )
    finally:
        model.eval()
        head.set_drop_path(head.config.drop_path)
    assert losses["loss_lm"].item() == pytest.approx(meta["loss_lm"], rel=1e-5)
    assert losses["loss_cls"].item() == pytest.approx(meta["loss_cls"], rel=1e-5)
    assert losses["loss_reg"].item() == pytest.approx(meta["loss_reg"], rel=1e-5)
    assert losses["loss_sal"].item() == pytest.approx(meta["loss_sal"], rel=1e-5)
    assert losses["loss"].item() == pytest.approx(meta["loss_total"], rel=1e-5)
