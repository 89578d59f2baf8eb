"""Checkpoint I/O in the OFFICIAL released layout (REFERENCE.md s.1.4), read and written.

```
<ckpt>/config.json                 flat Qwen2-VL config + model_type agent_qwen2_vl, role, base_model_path, token ids
                                   (newer bases: nested config, model_type agent_qwen2_5_vl / agent_qwen3_vl)
<ckpt>/generation_config.json
<ckpt>/pytorch_model.safetensors   the grounder's timestamp decoder (keys "base_model.model.<name>")
<ckpt>/<role>/adapter_config.json  PEFT LoRA config (target modules by legacy full names)
<ckpt>/<role>/adapter_model.safetensors
<ckpt>/tokenizer*, chat_template.json, preprocessor_config.json
```

The released files use the transformers 4.45 module hierarchy (``model.layers.N``, ``model.embed_tokens``,
``visual.*``); transformers 5 nests the text model as ``model.language_model`` and the vision tower as
``model.visual``. ``LEGACY_PREFIXES`` (``checkpoint_names``) is the one table that maps between them, both ways. Loading refuses
to continue on any missing or unexpected key and names them. Only safetensors are read (no pickle).
"""

from __future__ import annotations

import contextlib
import json
import logging
from pathlib import Path

import torch
from peft import LoraConfig, PeftModel
from safetensors.torch import load_file, save_file
from transformers import GenerationConfig

from videomind.errors import CheckpointError
from videomind.model.adapters import ROLE_ORDER, add_role, lora_layer_count, roles_of, shared_matrix_copies
from videomind.model.bases import family_of
from videomind.model.checkpoint_names import (
    PEFT_PREFIX,
    adapter_key_to_param,
    param_to_adapter_key,
    to_internal_name,
    to_official_name,
)
from videomind.model.config import (
    VideoMindConfig,
    legacy_config_dict,
    read_config_file,
    split_config,
)
from videomind.model.devices import resolve_device, resolve_dtype
from videomind.model.grounding_head import TimestampDecoder
from videomind.model.hub import resolve_base_model, resolve_checkpoint
from videomind.model.modeling import TokenIds, VideoMindModel
from videomind.model.processor import VideoMindProcessor
from videomind.model.safetensors_io import read_tensors_into, safetensors_header

log = logging.getLogger(__name__)

HEAD_FILE = "pytorch_model.safetensors"
ADAPTER_CONFIG = "adapter_config.json"
ADAPTER_WEIGHTS = "adapter_model.safetensors"
HEAD_ATTRIBUTE = "grounding_head."

# The fields PEFT 0.14 (the official pin) writes and reads; we write exactly these so official code loads our files.
_OFFICIAL_ADAPTER_FIELDS = (
    "alpha_pattern", "auto_mapping", "base_model_name_or_path", "bias", "eva_config", "exclude_modules",
    "fan_in_fan_out", "inference_mode", "init_lora_weights", "layer_replication", "layers_pattern",
    "layers_to_transform", "loftq_config", "lora_alpha", "lora_bias", "lora_dropout", "megatron_config",
    "megatron_core", "modules_to_save", "peft_type", "r", "rank_pattern", "revision", "target_modules", "task_type",
    "use_dora", "use_rslora",
)  # fmt: skip


# ---------------------------------------------------------------------------------------------- loading
def load_model(
    path_or_hub_id: str | Path | None = None,
    *,
    device: str | torch.device = "auto",
    dtype: str | torch.dtype = "auto",
    base_model: str | Path | None = None,
    roles: list[str] | None = None,
    attn_implementation: str = "sdpa",
    device_map: str | dict | None = None,
) -> tuple[VideoMindModel, VideoMindProcessor]:
    """Load a VideoMind checkpoint in the released layout, or a plain Qwen2-VL / Qwen2.5-VL / Qwen3-VL folder.

    Every tensor must match: a missing or unexpected weight is an error naming it (never silently random).

    Args:
        path_or_hub_id: a checkpoint folder, a hub id (``"yeliudev/VideoMind-2B"``), or None for the embedded
            tiny model.
        device: ``"auto"`` (CUDA when available, else CPU), ``"cpu"``, ``"cuda"``, ``"cuda:1"``, ...
        dtype: ``"auto"`` (the device's default), ``"float32"``, ``"bfloat16"``, ``"float16"`` or a torch dtype.
        base_model: overrides the config's (relative) ``base_model_path``.
        roles: which adapter folders to load (default: every role folder present).
        attn_implementation: the base model's attention (``"sdpa"`` as officially, or ``"eager"``).
        device_map: ``"auto"`` spreads a large model over several devices (instead of ``device``).

    Returns:
        ``(model, processor)``: the :class:`VideoMindModel` in eval mode and its :class:`VideoMindProcessor`.

    Raises:
        CheckpointError: the folder is not a checkpoint, the base model cannot be found, or weights do not match.
    """
    ckpt = resolve_checkpoint(path_or_hub_id)
    qwen_config, agent = split_config(read_config_file(ckpt))
    dtype = resolve_dtype(dtype, resolve_device(device) if device_map is None else torch.device("cuda"))
    base_path = ckpt if agent is None else resolve_base_model(ckpt, agent.base_model_path, base_model)
    with _no_weight_loading_bar():
        base = _load_base(base_path, qwen_config, dtype, attn_implementation, device_map)
    processor = VideoMindProcessor.from_pretrained(ckpt)
    agent = agent or VideoMindConfig(role=None, base_model_path=str(base_path))
    token_ids = token_ids_from(processor, agent, base.generation_config)
    head = None
    if (ckpt / HEAD_FILE).is_file():
        head = TimestampDecoder(qwen_config.text_config.hidden_size, agent.head).to(dtype)
    model = VideoMindModel(base, agent, token_ids, head)
    for role in _roles_to_load(ckpt, agent.role, roles):
        load_adapter(model, ckpt / role, role)
    if head is not None:
        load_head(model, ckpt / HEAD_FILE)
    if device_map is None:
        model.to(resolve_device(device))
    elif head is not None:
        head.to(model.text_model.norm.weight.device)
    model.eval()
    log.info(
        "loaded %s (roles: %s) on %s as %s", ckpt, ", ".join(roles_of(model)) or "none", model.device, dtype
    )
    return model, processor


def token_ids_from(processor: VideoMindProcessor, agent: VideoMindConfig, generation_config) -> TokenIds:
    eos = getattr(generation_config, "eos_token_id", None) if generation_config is not None else None
    eos = [eos] if isinstance(eos, int) else list(eos or [])
    for extra in (processor.im_end_id, processor.pad_token_id):
        if extra not in eos:
            eos.append(extra)
    special = processor.special_token_ids() if agent.reg_token_id is None else agent.token_ids
    return TokenIds(
        vision_start=processor.vision_start_id,
        vision_end=processor.vision_end_id,
        video_pad=processor.video_token_id,
        image_pad=processor.image_token_id,
        pad=processor.pad_token_id,
        eos=tuple(eos),
        reg=special["reg_token_id"],
        seg_start=special["seg_s_token_id"],
        seg_end=special["seg_e_token_id"],
    )


def _roles_to_load(ckpt: Path, primary: str | None, wanted: list[str] | None) -> list[str]:
    present = [r for r in ROLE_ORDER if (ckpt / r / ADAPTER_CONFIG).is_file()]
    if wanted is not None:
        missing = [r for r in wanted if r not in present]
        if missing:
            raise CheckpointError(f"{ckpt} has no adapter folder for {missing}; it has {present or 'none'}")
        present = [r for r in present if r in wanted]
    # the config's role is the primary adapter (loaded first, as the official builder does)
    return sorted(present, key=lambda r: (r != primary, ROLE_ORDER.index(r)))


@contextlib.contextmanager
def _no_weight_loading_bar():
    """transformers 5 draws a "Loading weights" progress bar on every load (a second for our models); it is not a
    download bar (hub downloads happen before and keep theirs), so it is turned off while the base loads, unless
    transformers' own logging asks for detail (``-vv``)."""
    from transformers.utils import logging as hf_logging

    was_on = hf_logging.is_progress_bar_enabled()
    if was_on and hf_logging.get_verbosity() > logging.INFO:
        hf_logging.disable_progress_bar()
    try:
        yield
    finally:
        if was_on:
            hf_logging.enable_progress_bar()


def _load_base(path: Path, config, dtype, attn_implementation: str, device_map):
    """The base model of ``config``'s family from ``path``, refusing missing or unexpected weights."""
    model, info = family_of(config.model_type).model_class.from_pretrained(
        str(path), config=config, dtype=dtype, attn_implementation=attn_implementation,
        device_map=device_map, output_loading_info=True,
    )  # fmt: skip
    missing = [k for k in info.get("missing_keys", []) if not (config.tie_word_embeddings and "lm_head" in k)]
    problems = {k: v for k, v in (("missing", missing), ("unexpected", info.get("unexpected_keys", []))) if v}
    if problems or info.get("mismatched_keys"):
        raise CheckpointError(
            f"base model {path} does not match its config: {problems or info['mismatched_keys']}"
        )
    return model


def read_adapter_config(folder: Path) -> LoraConfig:
    file = folder / ADAPTER_CONFIG
    if not file.is_file():
        raise CheckpointError(
            f"{file} is missing: every role folder needs adapter_config.json + {ADAPTER_WEIGHTS}"
        )
    raw = json.loads(file.read_text())
    if raw.get("peft_type", "LORA") != "LORA":
        raise CheckpointError(f"{file}: only LoRA adapters are supported, found {raw.get('peft_type')}")
    known = set(LoraConfig.__dataclass_fields__)
    # base_model_name_or_path is informational (we resolve the base from config.json); PEFT warns when it differs
    skip = ("peft_type", "auto_mapping", "revision", "base_model_name_or_path")
    kwargs = {k: v for k, v in raw.items() if k in known and k not in skip}
    targets = kwargs.get("target_modules")
    if isinstance(targets, list):
        kwargs["target_modules"] = sorted(to_internal_name(t) for t in targets)
    kwargs["inference_mode"] = False
    return LoraConfig(**kwargs)


def load_adapter(model: VideoMindModel, folder: str | Path, role: str) -> None:
    """Attach the adapter in ``folder`` as ``role`` and load its tensors, refusing any key mismatch."""
    folder = Path(folder)
    config = read_adapter_config(folder)
    # PEFT rewrites a list of >= 20 target modules into their common suffixes in place while attaching
    # (peft.tuners.tuners_utils, MIN_TARGET_MODULES_FOR_OPTIMIZATION): count the listed names before that.
    listed = config.target_modules
    targets = list(listed) if isinstance(listed, (list, set)) else None
    add_role(model, role, config)
    weights = folder / ADAPTER_WEIGHTS
    if not weights.is_file():
        raise CheckpointError(f"{weights} is missing (only safetensors adapters are read)")
    saved = tuple(config.modules_to_save or ())
    header, _ = safetensors_header(weights)
    names = {k: adapter_key_to_param(k, role, saved) for k in header}
    params = dict(model.lm.named_parameters())
    expected = {
        n
        for n in params
        if f".lora_A.{role}." in n or f".lora_B.{role}." in n or f".modules_to_save.{role}." in n
    }
    _require_same_keys(set(names.values()), expected, f"adapter {folder}")
    read_tensors_into(weights, {key: params[name] for key, name in names.items()})
    if targets is not None and lora_layer_count(model, role) != len(targets):
        raise CheckpointError(
            f"{folder}: {len(targets)} target modules listed but {lora_layer_count(model, role)} attached"
        )
    if sorted(saved) != shared_matrix_copies(model, role):
        raise CheckpointError(f"{folder}: modules_to_save {sorted(saved)} not all attached")


def load_head(model: VideoMindModel, file: str | Path) -> None:
    """Load the timestamp decoder from the official ``pytorch_model.safetensors`` (strict)."""
    raw = load_file(str(file))
    state = {}
    for key, tensor in raw.items():
        name = key[len(PEFT_PREFIX) :] if key.startswith(PEFT_PREFIX) else key
        state[name[len(HEAD_ATTRIBUTE) :] if name.startswith(HEAD_ATTRIBUTE) else name] = tensor
    head = model.grounding_head
    _require_same_keys(set(state), set(head.state_dict()), f"grounding head {file}")
    dtype = next(head.parameters()).dtype
    head.load_state_dict({k: v.to(dtype) for k, v in state.items()}, strict=True)


def _require_same_keys(found: set[str], expected: set[str], what: str) -> None:
    missing, unexpected = sorted(expected - found), sorted(found - expected)
    if missing or unexpected:
        raise CheckpointError(
            f"{what} does not match the model: missing {missing[:10]}{'...' if len(missing) > 10 else ''} "
            f"({len(missing)}), unexpected {unexpected[:10]}{'...' if len(unexpected) > 10 else ''} ({len(unexpected)})"
        )


# ---------------------------------------------------------------------------------------------- saving
def save_checkpoint(
    model: VideoMindModel,
    processor: VideoMindProcessor,
    out_dir: str | Path,
    roles: list[str] | None = None,
    base_model_path: str | None = None,
    save_dtype: torch.dtype | None = None,
) -> Path:
    """Write ``model`` in the released layout, loadable here (:func:`load_model`) and by the official code.

    Args:
        model: the model to save (its config, every role's adapter, the grounder's head when present).
        processor: its processor (tokenizer, chat template, preprocessor config).
        out_dir: the checkpoint folder to write (created if needed).
        roles: which adapters to write (default: every role the model has).
        base_model_path: recorded in ``config.json`` (default: the model's own; relative paths resolve from the
            checkpoint folder).
        save_dtype: dtype of the adapter and head files (default: as the weights are; the release used float16).

    Returns:
        The checkpoint folder.
    """
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    agent = model.config
    if base_model_path is not None:
        agent.base_model_path = base_model_path
    agent.reg_token_id, agent.seg_s_token_id, agent.seg_e_token_id = (
        model.token_ids.reg, model.token_ids.seg_start, model.token_ids.seg_end,
    )  # fmt: skip
    config = legacy_config_dict(model.qwen_config, agent)
    (out / "config.json").write_text(json.dumps(config, indent=2, sort_keys=True) + "\n")
    generation = model.base.generation_config or GenerationConfig()
    generation.save_pretrained(str(out))
    processor.save_pretrained(out)
    for role in roles if roles is not None else roles_of(model):
        save_adapter(model, role, out / role, agent.base_model_path, save_dtype)
    if model.grounding_head is not None:
        state = {
            PEFT_PREFIX + k: _contiguous(v, save_dtype) for k, v in model.grounding_head.state_dict().items()
        }
        save_file(state, str(out / HEAD_FILE))
    return out


def save_adapter(
    model: VideoMindModel, role: str, folder: Path, base_model_path: str | None, save_dtype=None
) -> None:
    if role not in roles_of(model):
        raise ValueError(f"no {role!r} adapter to save; available: {roles_of(model)}")
    folder.mkdir(parents=True, exist_ok=True)
    state = {}
    for name, param in model.lm.named_parameters():
        if f".lora_A.{role}." in name or f".lora_B.{role}." in name or f".modules_to_save.{role}." in name:
            state[param_to_adapter_key(name, role)] = _contiguous(param.detach(), save_dtype)
    save_file(state, str(folder / ADAPTER_WEIGHTS), metadata={"format": "pt"})
    (folder / ADAPTER_CONFIG).write_text(
        json.dumps(official_adapter_config(model, role, base_model_path), indent=2) + "\n"
    )


def official_adapter_config(model: VideoMindModel, role: str, base_model_path: str | None) -> dict:
    config = model.lm.peft_config[role]
    raw = config.to_dict()
    # the attached modules, not config.target_modules: PEFT shrinks long lists to suffixes ("q_proj", ...), and
    # the released files list every module by its full name
    raw["target_modules"] = sorted(to_official_name(t) for t in lora_module_names(model, role))
    raw["modules_to_save"] = list(config.modules_to_save) if config.modules_to_save else None
    raw["base_model_name_or_path"] = base_model_path
    raw["inference_mode"] = True
    raw["peft_type"] = "LORA"
    raw["task_type"] = "CAUSAL_LM"
    for key, value in raw.items():
        if isinstance(value, set):
            raw[key] = sorted(value)
    return {k: raw.get(k) for k in _OFFICIAL_ADAPTER_FIELDS}


def lora_module_names(model: VideoMindModel, role: str) -> list[str]:
    """Full names (inside ``Qwen2VLForConditionalGeneration``) of the modules carrying ``role``'s LoRA."""
    names = {n.split(".lora_A.")[0] for n, _ in model.lm.named_parameters() if f".lora_A.{role}." in n}
    return sorted(n[len(PEFT_PREFIX) :] if n.startswith(PEFT_PREFIX) else n for n in names)


def _contiguous(tensor: torch.Tensor, dtype: torch.dtype | None) -> torch.Tensor:
    tensor = tensor.detach().to("cpu")
    return (tensor.to(dtype) if dtype is not None else tensor).contiguous().clone()


def unwrap_peft(model: VideoMindModel) -> PeftModel | None:
    return model.lm if isinstance(model.lm, PeftModel) else None
