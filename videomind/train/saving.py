"""Writing and reading a training run's weights in the released layout (REFERENCE.md s.1.4, s.9.6).

Everything works from a state dict named like ``VideoMindModel.state_dict()`` (``lm.…`` and ``grounding_head.…``),
so it also works when DeepSpeed ZeRO-3 hands the gathered weights to rank 0 while the live parameters are shards.

- a LoRA role: ``config.json`` (role, base model path, token ids), ``generation_config.json``, the processor files,
  ``<role>/adapter_config.json`` + ``adapter_model.safetensors`` (official key names), and for the grounder the head
  in ``pytorch_model.safetensors`` — loadable by ``videomind.model.load_model`` and by the official code;
- role ``base``: a plain Qwen2-VL folder (``save_pretrained`` + tokenizer, chat template, preprocessor config).

``load_trainable`` reads such a folder back into a live model (for resuming), refusing any missing tensor.
"""

from __future__ import annotations

import json
import logging
from collections.abc import Mapping
from pathlib import Path

import torch
from safetensors.torch import load_file, save_file
from transformers import GenerationConfig

from videomind.errors import CheckpointError
from videomind.model.checkpoint import ADAPTER_CONFIG, ADAPTER_WEIGHTS, HEAD_FILE, official_adapter_config
from videomind.model.checkpoint_names import (
    PEFT_PREFIX,
    adapter_key_to_param,
    param_to_adapter_key,
    to_internal_name,
)
from videomind.model.config import legacy_config_dict
from videomind.model.modeling import VideoMindModel

log = logging.getLogger(__name__)

LM_PREFIX = "lm."
HEAD_PREFIX = "grounding_head."
BASE_WEIGHTS = "model.safetensors"


def role_state(state: Mapping[str, torch.Tensor], role: str) -> dict[str, torch.Tensor]:
    """The adapter tensors of ``role`` under official key names."""
    keys = (f".lora_A.{role}.", f".lora_B.{role}.", f".modules_to_save.{role}.")
    return {
        param_to_adapter_key(name[len(LM_PREFIX) :], role): _plain(t)
        for name, t in state.items()
        if name.startswith(LM_PREFIX) and any(k in name for k in keys)
    }


def head_state(state: Mapping[str, torch.Tensor]) -> dict[str, torch.Tensor]:
    """The timestamp decoder's tensors with the official ``base_model.model.`` prefix."""
    return {
        PEFT_PREFIX + n[len(HEAD_PREFIX) :]: _plain(t) for n, t in state.items() if n.startswith(HEAD_PREFIX)
    }


def _plain(tensor: torch.Tensor, dtype: torch.dtype | None = None) -> torch.Tensor:
    tensor = tensor.detach().to("cpu")
    return (
        (tensor if dtype is None or not tensor.is_floating_point() else tensor.to(dtype)).contiguous().clone()
    )


def save_role_run(
    model: VideoMindModel,
    processor,
    out: str | Path,
    role: str,
    state: Mapping[str, torch.Tensor],
    dtype: torch.dtype | None = None,
) -> Path:
    """Write a LoRA role run in the released layout (``state`` named like ``model.state_dict()``)."""
    out = Path(out)
    out.mkdir(parents=True, exist_ok=True)
    _write_json(out / "config.json", legacy_config_dict(model.qwen_config, model.config))
    (model.base.generation_config or GenerationConfig()).save_pretrained(str(out))
    processor.save_pretrained(out)
    folder = out / role
    folder.mkdir(exist_ok=True)
    tensors = {k: _plain(v, dtype) for k, v in role_state(state, role).items()}
    if not tensors:
        raise CheckpointError(f"no {role!r} adapter tensors to save")
    save_file(tensors, str(folder / ADAPTER_WEIGHTS), metadata={"format": "pt"})
    _write_json(folder / ADAPTER_CONFIG, official_adapter_config(model, role, model.config.base_model_path))
    if model.grounding_head is not None and role == "grounder":
        save_file({k: _plain(v, dtype) for k, v in head_state(state).items()}, str(out / HEAD_FILE))
    return out


def save_base_run(model: VideoMindModel, processor, out: str | Path, state: Mapping[str, torch.Tensor] | None = None,
                  dtype: torch.dtype | None = None) -> Path:  # fmt: skip
    """Write the whole Qwen2-VL as a plain model folder (role ``base``)."""
    out = Path(out)
    out.mkdir(parents=True, exist_ok=True)
    if state is None:
        state = model.state_dict()
    weights = {n[len(LM_PREFIX) :]: _plain(t, dtype) for n, t in state.items() if n.startswith(LM_PREFIX)}
    model.base.save_pretrained(str(out), state_dict=weights)
    processor.save_pretrained(out)
    return out


def _write_json(path: Path, data: dict) -> None:
    path.write_text(json.dumps(data, indent=2, sort_keys=True) + "\n")


def load_trainable(model: VideoMindModel, folder: str | Path, role: str) -> None:
    """Load a run folder written by ``save_role_run`` / ``save_base_run`` into the live model (resume)."""
    folder = Path(folder)
    params = dict(model.named_parameters())
    if role == "base":
        # transformers 5 writes a model it read from disk under the names it read (the official ``model.layers.N``
        # of a base saved by save_base_run), one built in memory under its own: both load back into its own names
        state = {LM_PREFIX + to_internal_name(k): v for k, v in _read_base(folder).items()}
        wanted = {n for n in params if n.startswith(LM_PREFIX)}
    else:
        saved = tuple(model.lm.peft_config[role].modules_to_save or ())
        raw = load_file(str(folder / role / ADAPTER_WEIGHTS))
        state = {LM_PREFIX + adapter_key_to_param(k, role, saved): v for k, v in raw.items()}
        if (folder / HEAD_FILE).is_file() and model.grounding_head is not None:
            head = load_file(str(folder / HEAD_FILE))
            state.update({HEAD_PREFIX + k[len(PEFT_PREFIX) :]: v for k, v in head.items()})
        wanted = {n for n, p in params.items() if p.requires_grad}
    missing = sorted(wanted - set(state))
    unknown = sorted(set(state) - set(params) - set(dict(model.named_buffers())))
    if missing or unknown:
        raise CheckpointError(f"{folder} does not match the model being trained: missing {missing[:5]}, "
                              f"unknown {unknown[:5]}")  # fmt: skip
    buffers = dict(model.named_buffers())
    with torch.no_grad():
        for name, tensor in state.items():
            target = params.get(name, buffers.get(name))
            target.copy_(tensor.to(target.dtype))


def _read_base(folder: Path) -> dict[str, torch.Tensor]:
    files = sorted(folder.glob("model*.safetensors"))
    if not files:
        raise CheckpointError(f"{folder} has no model*.safetensors to resume a base run from")
    out: dict[str, torch.Tensor] = {}
    for file in files:
        out.update(load_file(str(file)))
    return out
