"""Chain-of-LoRA: each role changes the logits, disabling gives the base model, switching is exact."""

import torch

from videomind import prompts
from videomind.model.adapters import shared_matrix_copies, use_role


def _batch(processor, text="What is here?"):
    frames = torch.randint(
        0, 256, (4, 3, 56, 56), dtype=torch.uint8, generator=torch.Generator().manual_seed(0)
    )
    return processor([processor.render(prompts.video_message(text))], [frames])


def _base_logits(model, batch):
    with model.lm.disable_adapter():
        return model.last_logits(batch)[0]


def test_each_role_changes_logits_and_answerer_is_base(tiny):
    model, processor = tiny
    batch = _batch(processor)
    base = _base_logits(model, batch)
    outputs = {}
    for role in ("planner", "grounder", "verifier"):
        with use_role(model, role):
            outputs[role] = model.last_logits(batch)[0]
        assert not torch.allclose(outputs[role], base, atol=1e-4), role
    with use_role(model, "answerer"):
        assert torch.equal(model.last_logits(batch)[0], base)
    assert not torch.allclose(outputs["grounder"], outputs["verifier"], atol=1e-4)


def test_switching_back_and_forth_is_exact(tiny):
    model, processor = tiny
    batch = _batch(processor)
    first = {}
    for role in ("grounder", "planner", "verifier", "answerer"):
        with use_role(model, role):
            first[role] = model.last_logits(batch)[0]
    for role in ("verifier", "answerer", "grounder", "planner", "grounder"):
        with use_role(model, role):
            assert torch.equal(model.last_logits(batch)[0], first[role]), role


def test_planner_uses_base_matrices(tiny):
    model, _ = tiny
    assert shared_matrix_copies(model, "planner") == []
    ids = torch.tensor([[1, 2, 3]])
    base_embed = model.base.get_input_embeddings()
    with model.lm.disable_adapter():
        reference = base_embed(ids)
    with use_role(model, "planner"):
        assert torch.equal(model.embed(ids), reference)
    with use_role(model, "grounder"):
        assert not torch.equal(model.embed(ids), reference)
