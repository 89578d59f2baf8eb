"""Recipe step: a role trained as a whole language model, stored as that role's LoRA adapter, exactly.

``python -m recipes.full_rank runs/tiny-base runs/tiny-verifier-whole runs/tiny-verifier --role verifier``

A LoRA of a 128-wide model (tiny) learns differently from the same model trained whole: on the verifier's question
LoRAs stayed near chance where every parameter trained learnt it (docs/TINY_MODEL.md, "The verifier, examined").
But a LoRA whose rank is the matrices' full rank, on every projection of the language model, with its own copies of
the embedding and output matrices (the official ``modules_to_save`` of the grounder and verifier), can hold ANY
change of those weights. So the role is trained as a plain model (``model.role: base`` with the vision tower and the
norms and biases frozen: ``model.freeze_vision``, ``model.frozen``, e.g. configs/train/tiny_verifier_whole.yaml),
and this step writes the difference to the base as the role's adapter: each projection's change factored by SVD
(lora_B @ lora_A = tuned - base, scaling 1), the tuned embedding and output matrices as the role's copies (for every
role, the planner and answerer too, whose official adapters have none). At inference nothing differs from any
other adapter: the agent switches to it, and the shared base, its vision features included, stays as it is.

A tuned model that changed anything else (a norm, a bias, the vision tower) cannot be stored this way: refused.
"""

from __future__ import annotations

import argparse
import logging
from pathlib import Path

import torch

log = logging.getLogger(__name__)

PEFT_PREFIX = "base_model.model."  # peft's wrapper over the Qwen2-VL module names


def lora_factors(delta: torch.Tensor, rank: int) -> tuple[torch.Tensor, torch.Tensor]:
    """(lora_A, lora_B) of ``rank`` with lora_B @ lora_A == ``delta`` (out x in) up to float error, when ``rank`` is
    at least delta's rank; the singular values are split evenly between the two factors."""
    u, s, vh = torch.linalg.svd(delta.double(), full_matrices=False)
    kept = min(rank, s.numel())
    root = s[:kept].sqrt()
    lora_a = torch.zeros(rank, delta.shape[1], dtype=torch.float64)
    lora_b = torch.zeros(delta.shape[0], rank, dtype=torch.float64)
    lora_a[:kept] = root[:, None] * vh[:kept]
    lora_b[:, :kept] = u[:, :kept] * root
    return lora_a.to(delta.dtype), lora_b.to(delta.dtype)


def full_rank(base: Path, tuned: Path, out: Path, role: str, tolerance: float = 1e-6) -> Path:
    """Write ``out``: a ``role`` run on ``base`` whose adapter reproduces ``tuned`` (a plain model folder trained from
    ``base`` with ``model.role: base``, vision, norms and biases frozen)."""
    from videomind.errors import UserInputError
    from videomind.model.adapters import SHARED_MATRICES, activate_role
    from videomind.train.config import ModelConfig
    from videomind.train.saving import save_role_run
    from videomind.train.setup import prepare_model

    tuned_state = prepare_model(ModelConfig(base=str(tuned), role="base")).model.lm.state_dict()
    rank = max(min(t.shape) for n, t in tuned_state.items() if t.ndim == 2 and ".language_model.layers." in n)
    prepared = prepare_model(ModelConfig(base=str(base), role=role, lora_r=rank, lora_alpha=rank, lora_dropout=0.0,
                                         lora_mlp=True, modules_to_save=list(SHARED_MATRICES)))  # fmt: skip
    model = prepared.model
    held = set()
    with torch.no_grad():
        for name, module in model.lm.named_modules():
            key = name.removeprefix(PEFT_PREFIX)
            if hasattr(module, "lora_A") and role in module.lora_A:
                delta = (
                    tuned_state[f"{key}.weight"].to(module.base_layer.weight.dtype) - module.base_layer.weight
                )
                lora_a, lora_b = lora_factors(delta, rank)
                module.lora_A[role].weight.copy_(lora_a)
                module.lora_B[role].weight.copy_(lora_b)  # scaling alpha / r = 1
                held.add(f"{key}.weight")
            elif isinstance(getattr(module, "modules_to_save", None), torch.nn.ModuleDict) and (
                role in module.modules_to_save
            ):
                module.modules_to_save[role].weight.copy_(tuned_state[f"{key}.weight"])
                held.add(f"{key}.weight")
        base_state = {n.removeprefix(PEFT_PREFIX).replace(".base_layer", ""): t
                      for n, t in model.lm.state_dict().items()
                      if f".{role}." not in n and ".original_module." not in n}  # fmt: skip
    changed = [n for n, t in tuned_state.items() if n not in held
               and (base_state[n] - t.to(base_state[n].dtype)).abs().max() > tolerance]  # fmt: skip
    if changed:
        raise UserInputError(
            f"{tuned} changed {len(changed)} parameters a LoRA cannot hold (e.g. {changed[0]}): train it with "
            "model.freeze_vision: true and model.frozen: [norm, bias$]"
        )
    activate_role(model, role)
    save_role_run(model, prepared.processor, out, role, model.state_dict())
    log.info("wrote %s: %d projections at rank %d, %s", out, sum("_proj." in n for n in held), rank, role)
    return out


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("base", type=Path, help="the shared base (a plain model folder)")
    parser.add_argument("tuned", type=Path, help="the role trained whole from it (model.role: base)")
    parser.add_argument("out", type=Path, help="the role run to write")
    parser.add_argument("--role", default="verifier")
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(message)s")
    full_rank(args.base, args.tuned, args.out, args.role)
    return 0


if __name__ == "__main__":  # pragma: no cover
    raise SystemExit(main())
