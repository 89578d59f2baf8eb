"""Chain-of-LoRA: the roles' adapters on one base model, and switching between them.

Each role is one PEFT LoRA adapter named after the role (``planner``, ``grounder``, ``verifier``, optionally
``answerer``) on the language model's q/k/v/o projections. Grounder and verifier also carry full trainable copies of
``embed_tokens`` and ``lm_head`` (PEFT ``modules_to_save``). Activating a role selects its LoRA everywhere and its
copies where it has them; wrappers of roles without copies fall back to the base matrices (the official
disable-all / enable-all / set_adapter sequence, REFERENCE.md s.1.6). The answerer without an adapter is the base
model with every adapter disabled.
"""

from __future__ import annotations

import contextlib
import warnings
from collections.abc import Iterator, Sequence
from dataclasses import dataclass

from peft import LoraConfig, PeftModel, get_peft_model

from videomind.records import Role

LORA_PROJECTIONS = ("q_proj", "k_proj", "v_proj", "o_proj")
MLP_PROJECTIONS = (
    "gate_proj",
    "up_proj",
    "down_proj",
)  # only with LoraSettings.mlp (not the official choice)
SHARED_MATRICES = ("embed_tokens", "lm_head")
ROLES_WITH_OWN_MATRICES = (Role.GROUNDER.value, Role.VERIFIER.value)
ROLE_ORDER = tuple(r.value for r in Role)


@dataclass(frozen=True)
class LoraSettings:
    """LoRA hyper-parameters of the official scripts (REFERENCE.md s.1.7)."""

    r: int = 64
    alpha: int = 64
    dropout: float = 0.1
    bias: str = "none"
    mlp: bool = False  # also adapt each layer's MLP (gate / up / down): more capacity for a small base


def text_layer_module_names(num_layers: int, mlp: bool = False) -> list[str]:
    """Full names of the LoRA targets inside ``Qwen2VLForConditionalGeneration`` (transformers 5 hierarchy): the
    attention projections of every layer, and with ``mlp`` the MLP projections too."""
    names = [
        f"model.language_model.layers.{i}.self_attn.{p}" for i in range(num_layers) for p in LORA_PROJECTIONS
    ]
    if mlp:
        names += [
            f"model.language_model.layers.{i}.mlp.{p}" for i in range(num_layers) for p in MLP_PROJECTIONS
        ]
    return names


def role_lora_config(
    role: str,
    num_layers: int,
    settings: LoraSettings = LoraSettings(),
    modules_to_save: Sequence[str] | None = None,
    init_lora_weights: bool = True,
) -> LoraConfig:
    """The LoRA config of a role; ``modules_to_save`` defaults to the official choice for that role."""
    if modules_to_save is None and role in ROLES_WITH_OWN_MATRICES:
        modules_to_save = SHARED_MATRICES
    return LoraConfig(
        r=settings.r,
        lora_alpha=settings.alpha,
        lora_dropout=settings.dropout,
        bias=settings.bias,
        target_modules=text_layer_module_names(num_layers, settings.mlp),
        modules_to_save=list(modules_to_save) if modules_to_save else None,
        task_type="CAUSAL_LM",
        init_lora_weights=init_lora_weights,
    )


def add_role(model, role: str, config: LoraConfig) -> None:
    """Attach a new adapter named ``role`` to a ``VideoMindModel`` (wrapping the base with PEFT on first use)."""
    if role in roles_of(model):
        raise ValueError(f"the model already has a {role!r} adapter")
    if isinstance(model.lm, PeftModel):
        model.lm.add_adapter(role, config)
        return
    with warnings.catch_warnings():
        # peft (0.17-0.21) reads ``is_gradient_checkpointing`` in ``PeftModel.__init__`` (peft/peft_model.py), which
        # transformers 5 deprecates for ``is_activation_checkpointing`` (removal in v6): a FutureWarning on every
        # load that no user can act on. Harmless: peft falls back to its default once the property is gone.
        warnings.filterwarnings(
            "ignore", message=r"`is_gradient_checkpointing` is deprecated", category=FutureWarning
        )
        model.lm = get_peft_model(model.lm, config, adapter_name=role)


def roles_of(model) -> list[str]:
    """Names of the adapters attached to a ``VideoMindModel``, in role order."""
    names = list(model.lm.peft_config) if isinstance(model.lm, PeftModel) else []
    return sorted(names, key=lambda n: ROLE_ORDER.index(n) if n in ROLE_ORDER else len(ROLE_ORDER))


def activate_role(model, role: str, trainable: bool = False) -> None:
    """Make ``role``'s adapter the active one (LoRA everywhere, its matrix copies where it has them)."""
    lm = model.lm
    if not isinstance(lm, PeftModel) or role not in lm.peft_config:
        raise ValueError(f"no {role!r} adapter on this model; available: {roles_of(model) or 'none'}")
    lm.base_model.enable_adapter_layers()
    lm.set_adapter(role, inference_mode=not trainable)


@contextlib.contextmanager
def use_role(model, role: str | Role) -> Iterator[None]:
    """Run the block as ``role``. The answerer without its own adapter is the base model (adapters disabled)."""
    role = Role(role).value
    with model.lock:
        if role == Role.ANSWERER.value and role not in roles_of(model):
            context = (
                model.lm.disable_adapter() if isinstance(model.lm, PeftModel) else contextlib.nullcontext()
            )
            with context:
                yield
            return
        activate_role(model, role)
        yield


def lora_layer_count(model, role: str) -> int:
    """How many LoRA layers carry ``role`` (112 for the 28-layer Qwen2-VL models)."""
    return sum(1 for name, _ in model.lm.named_parameters() if f".lora_A.{role}." in name)


def shared_matrix_copies(model, role: str) -> list[str]:
    """Which of embed_tokens / lm_head have a copy owned by ``role``."""
    names = [n for n, _ in model.lm.named_parameters() if f".modules_to_save.{role}." in n]
    return sorted({m for m in SHARED_MATRICES for n in names if f".{m}." in n})
