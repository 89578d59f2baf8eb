"""Parameter names between the OFFICIAL released files and our transformers 5 / PEFT modules (pure functions).

The released files use the transformers 4.45 module hierarchy (``model.layers.N``, ``model.embed_tokens``,
``visual.*``) and PEFT's key layout (``base_model.model.<name>.lora_A.weight``); transformers 5 nests the text model
as ``model.language_model`` and the vision tower as ``model.visual``, and PEFT names a role's matrices
``<module>.lora_A.<role>.weight``. ``videomind.model.checkpoint`` reads and writes the files with these.
"""

from __future__ import annotations

import re

from videomind.errors import CheckpointError

PEFT_PREFIX = "base_model.model."

# official (transformers 4.45) name prefix  <->  transformers 5 name prefix, inside Qwen2VLForConditionalGeneration
# (the Qwen2.5-VL and Qwen3-VL classes nest their modules the same way, so adapter files use one naming for all)
LEGACY_PREFIXES = (
    ("model.layers.", "model.language_model.layers."),
    ("model.embed_tokens.", "model.language_model.embed_tokens."),
    ("model.norm.", "model.language_model.norm."),
    ("visual.", "model.visual."),
)
_LORA_WEIGHT = re.compile(r"\.(lora_[AB]|lora_magnitude_vector)(\.weight)?$")


def to_internal_name(name: str) -> str:
    """A module/parameter name of the official hierarchy -> transformers 5 hierarchy (unchanged if already new)."""
    for old, new in LEGACY_PREFIXES:
        if name.startswith(old):
            return new + name[len(old) :]
    return name


def to_official_name(name: str) -> str:
    for old, new in LEGACY_PREFIXES:
        if name.startswith(new):
            return old + name[len(new) :]
    return name


def adapter_key_to_param(key: str, role: str, saved_modules: tuple[str, ...]) -> str:
    """``base_model.model.model.layers.0.self_attn.q_proj.lora_A.weight`` -> the PeftModel parameter name."""
    if not key.startswith(PEFT_PREFIX):
        raise CheckpointError(f"adapter key {key!r} does not start with {PEFT_PREFIX!r}")
    name = to_internal_name(key[len(PEFT_PREFIX) :])
    match = _LORA_WEIGHT.search(name)
    if match:
        suffix = match.group(2) or ""
        name = name[: match.start()] + f".{match.group(1)}.{role}{suffix}"
    else:
        module, _, tensor = name.rpartition(".")
        if module.rpartition(".")[2] not in saved_modules:
            raise CheckpointError(f"adapter key {key!r} is neither a LoRA matrix nor a modules_to_save copy")
        name = f"{module}.modules_to_save.{role}.{tensor}"
    return PEFT_PREFIX + name


def param_to_adapter_key(param: str, role: str) -> str:
    name = param[len(PEFT_PREFIX) :] if param.startswith(PEFT_PREFIX) else param
    name = name.replace(f".modules_to_save.{role}.", ".").replace(f".{role}.", ".")
    if name.endswith(f".{role}"):
        name = name[: -len(role) - 1]
    return PEFT_PREFIX + to_official_name(name)
