"""The model a training run starts from, per role (REFERENCE.md s.1.7, s.2, s.3.8, s.9.2).

- From a plain Qwen2-VL, Qwen2.5-VL or Qwen3-VL (folder, hub id, or ``tiny``; the folder's ``model_type`` picks the
  family, ``videomind.model.bases``): add the three special tokens (resizing the embeddings, with
  the new rows set to the mean of the old ones, only if the tokenizer outgrows the vocabulary, as officially),
  create the timestamp decoder for the grounder (Xavier-uniform convolutions), freeze everything, add the role's
  LoRA (r64 / alpha64 / dropout 0.1 on the text model's q/k/v/o; ``modules_to_save`` embed_tokens + lm_head for
  grounder and verifier) and make only it (and the head) trainable.
- From a VideoMind checkpoint (the official QVHighlights fine-tune): load it and continue the role's adapter and
  head; a role the checkpoint lacks gets a fresh adapter.
- Role ``base``: no LoRA and no head; every parameter is trained (the vision tower unless ``freeze_vision``; none
  that ``frozen`` names).
"""

from __future__ import annotations

import functools
import inspect
import logging
import os
import re
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import torch

from videomind.errors import CheckpointError, UserInputError
from videomind.model.adapters import activate_role, add_role, role_lora_config, roles_of
from videomind.model.bases import family_of
from videomind.model.checkpoint import token_ids_from
from videomind.model.config import VideoMindConfig, read_config_file, split_config
from videomind.model.devices import resolve_dtype
from videomind.model.grounding_head import TimestampDecoder
from videomind.model.hub import resolve_checkpoint
from videomind.model.modeling import VideoMindModel
from videomind.model.processor import VideoMindProcessor
from videomind.train.config import TINY_BASE, ModelConfig

log = logging.getLogger(__name__)

TINY_BASE_FOLDER = "base"  # a tiny run saves its random base here, and config.json points to it
PROJECTOR = "visual.merger"
TUNING_MODULES = {"projector": PROJECTOR}


@dataclass
class PreparedModel:
    """A model ready to train and what saving needs to know about it."""

    model: VideoMindModel
    processor: VideoMindProcessor
    role: str
    base_model_path: str
    base_state: dict[str, torch.Tensor] | None = (
        None  # tiny: the in-memory base weights, to save beside the run
    )

    @property
    def save_base(self) -> bool:
        return self.base_state is not None


def prepare_model(cfg: ModelConfig) -> PreparedModel:
    """Build the model of ``cfg`` with exactly the role's parameters trainable."""
    if cfg.role != "base" and (cfg.frozen or cfg.freeze_vision):
        raise UserInputError(f"model.frozen and model.freeze_vision apply to role 'base' only, not {cfg.role!r}: "
                             "a role trains its adapter alone already")  # fmt: skip
    dtype = resolve_dtype(cfg.dtype)
    base_state = None
    if cfg.base == TINY_BASE:
        model, processor = _tiny(cfg, dtype)
        recorded = cfg.base_model_path or TINY_BASE_FOLDER
        if cfg.role != "base":
            base_state = {f"lm.{k}": v.detach().clone() for k, v in model.lm.state_dict().items()}
    else:
        folder = resolve_checkpoint(cfg.base)
        _, agent = split_config(read_config_file(folder))
        if agent is not None:
            model, processor = _videomind(folder, cfg, dtype)
            recorded = cfg.base_model_path or portable_base_path(folder, model.config.base_model_path)
        else:
            model, processor = _qwen(folder, cfg, dtype)
            recorded = cfg.base_model_path or cfg.base
    model.config.base_model_path = recorded
    model.config.conv_type = cfg.conv_type
    processor.use_conversation(cfg.conv_type)
    model.config.model_name_or_path = cfg.base
    if cfg.role == "base":
        _train_everything(model, cfg.freeze_vision, cfg.frozen)
    else:
        _attach_role(model, cfg)
    log.info("trainable parameters: %s", trainable_summary(model))
    return PreparedModel(model, processor, cfg.role, recorded, base_state)


def portable_base_path(ckpt: Path, declared: str | None) -> str | None:
    """The base path to record when continuing ``ckpt``: a path relative to that checkpoint folder (a tiny run's
    ``base``) becomes absolute, so the new run finds it too; anything else (hub id, absolute path) is kept."""
    if (
        declared
        and not Path(declared).is_absolute()
        and not Path(declared).is_dir()
        and (ckpt / declared).is_dir()
    ):
        return str((ckpt / declared).resolve())
    return declared


def _tiny(cfg: ModelConfig, dtype: torch.dtype) -> tuple[VideoMindModel, VideoMindProcessor]:
    from videomind.model.tiny import build_tiny_model

    model, processor = build_tiny_model(cfg.tiny.seed, roles=(), shape=cfg.tiny.shape(), dtype=dtype)
    model.config.role = None
    return model, processor


def _videomind(
    folder: Path, cfg: ModelConfig, dtype: torch.dtype
) -> tuple[VideoMindModel, VideoMindProcessor]:
    from videomind.model.checkpoint import load_model

    if cfg.role == "base":
        raise UserInputError(f"{folder} is a VideoMind checkpoint; role 'base' needs a plain Qwen2-VL model")
    present = [r for r in ("planner", "grounder", "verifier", "answerer") if (folder / r).is_dir()]
    roles = [cfg.role] if cfg.role in present else []
    log.info("continuing %s from %s", cfg.role if roles else f"a new {cfg.role} adapter", folder)
    return load_model(
        folder, device="cpu", dtype=dtype, roles=roles, attn_implementation=cfg.attn_implementation
    )


def _qwen(folder: Path, cfg: ModelConfig, dtype: torch.dtype) -> tuple[VideoMindModel, VideoMindProcessor]:
    qwen_config, _ = split_config(read_config_file(folder))
    family = family_of(qwen_config.model_type)
    base, info = family.model_class.from_pretrained(
        str(folder), config=qwen_config, dtype=dtype, attn_implementation=cfg.attn_implementation,
        output_loading_info=True,
    )  # fmt: skip
    missing = [
        k for k in info.get("missing_keys", []) if not (qwen_config.tie_word_embeddings and "lm_head" in k)
    ]
    if missing or info.get("unexpected_keys"):
        raise CheckpointError(f"{folder} does not match its config: missing {missing[:5]}, "
                              f"unexpected {info.get('unexpected_keys', [])[:5]}")  # fmt: skip
    processor = VideoMindProcessor.from_pretrained(folder)
    special = processor.add_special_tokens()
    resize_for_tokenizer(base, len(processor.tokenizer))
    agent = VideoMindConfig(
        role=None, base_model_path=cfg.base, base_model=family.name, conv_type=cfg.conv_type, **special
    )
    return VideoMindModel(base, agent, token_ids_from(processor, agent, base.generation_config)), processor


def resize_for_tokenizer(base, num_tokens: int) -> bool:
    """Grow embed_tokens / lm_head to ``num_tokens`` rows if needed, new rows = mean of the old rows (official).
    Returns whether a resize happened (never for Qwen2-VL, whose vocabulary has spare rows)."""
    old = base.get_input_embeddings().weight.shape[0]
    if num_tokens <= old:
        return False
    base.resize_token_embeddings(num_tokens, mean_resizing=False)
    with torch.no_grad():
        weight_in = base.get_input_embeddings().weight
        weight_in[old:] = weight_in[:old].mean(dim=0, keepdim=True)
        out = base.get_output_embeddings()
        if out is not None and out.weight is not weight_in:
            out.weight[old:] = out.weight[:old].mean(dim=0, keepdim=True)
    log.info("resized the embeddings from %d to %d rows (mean-initialised)", old, num_tokens)
    return True


def _train_everything(model: VideoMindModel, freeze_vision: bool, frozen: Sequence[str] = ()) -> None:
    if roles_of(model):
        raise UserInputError("role 'base' trains a plain Qwen2-VL; this model has adapters")
    model.grounding_head = None
    patterns = [_pattern(p) for p in frozen]
    names = [name for name, _ in model.lm.named_parameters()]
    for pattern in patterns:
        if not any(pattern.search(name) for name in names):
            raise UserInputError(
                f"model.frozen: {pattern.pattern!r} matches no parameter of this model (names look like {names[-1]!r})"
            )
    for name, param in model.lm.named_parameters():
        held = (freeze_vision and name.startswith("model.visual.")) or any(p.search(name) for p in patterns)
        param.requires_grad_(not held)


def _pattern(text: str) -> re.Pattern:
    try:
        return re.compile(text)
    except re.error as err:
        raise UserInputError(f"model.frozen: {text!r} is not a regular expression ({err})") from None


def _attach_role(model: VideoMindModel, cfg: ModelConfig) -> None:
    role = cfg.role
    if role == "grounder" and model.grounding_head is None:
        hidden = model.qwen_config.text_config.hidden_size
        model.config.head = cfg.head
        model.grounding_head = TimestampDecoder(hidden, model.config.head).to(model.dtype)  # official init
    for param in model.parameters():
        param.requires_grad_(False)
    if role not in roles_of(model):
        layers = model.qwen_config.text_config.num_hidden_layers
        add_role(model, role, role_lora_config(role, layers, cfg.lora(), cfg.modules_to_save))
    activate_role(model, role, trainable=True)
    keys = (f".lora_A.{role}.", f".lora_B.{role}.", f".modules_to_save.{role}.")
    tuned = [TUNING_MODULES[m] for m in cfg.tuning_modules if _known_module(m)]
    for name, param in model.lm.named_parameters():
        param.requires_grad_(any(k in name for k in keys) or any(f"{t}." in name for t in tuned))
    if role == "grounder":
        for param in model.grounding_head.parameters():
            param.requires_grad_(True)
    model.config.role = role


def _known_module(name: str) -> bool:
    if name not in TUNING_MODULES:
        raise UserInputError(
            f"unknown model.tuning_modules entry {name!r}; known: {', '.join(TUNING_MODULES)}"
        )
    return True


def trainable_summary(model: torch.nn.Module) -> str:
    total = sum(p.numel() for p in model.parameters())
    trainable = sum(p.numel() for p in model.parameters() if p.requires_grad)
    return f"{trainable:,} of {total:,} ({100 * trainable / max(total, 1):.2f} %)"


def enable_gradient_checkpointing(model: VideoMindModel) -> None:
    """Activation checkpointing in the text decoder and the vision tower (non-reentrant: works with frozen inputs)."""
    kwargs = {"use_reentrant": False}
    base = model.base
    if hasattr(
        base, "activation_checkpointing_enable"
    ):  # transformers >= 5.x renamed gradient_checkpointing_*
        base.activation_checkpointing_enable(activation_checkpointing_kwargs=kwargs)
    else:
        base.gradient_checkpointing_enable(gradient_checkpointing_kwargs=kwargs)


def apply_liger(model: VideoMindModel) -> bool:
    """Liger kernels (RoPE, RMSNorm, SwiGLU, LayerNorm) on a GPU when ``liger-kernel`` is installed. Our loss
    computes logits only at supervised positions, so the fused cross-entropy is not needed. On a GPU without the
    package, a warning says so (once per process); on a CPU Liger does not apply and nothing is said."""
    if not torch.cuda.is_available():
        return False
    try:
        import liger_kernel.transformers as liger
    except ImportError:
        _warn_liger_missing()
        return False
    patch = getattr(liger, model.family.liger_patch, None)  # e.g. apply_liger_kernel_to_qwen3_vl
    if patch is None:
        log.warning("this liger-kernel has no %s; training without Liger kernels", model.family.liger_patch)
        return False
    wanted = dict(rope=True, rms_norm=True, swiglu=True, layer_norm=True, cross_entropy=False,
                  fused_linear_cross_entropy=False, model=model.base)  # fmt: skip
    accepted = inspect.signature(patch).parameters  # the families' patch functions take different switches
    patch(**{k: v for k, v in wanted.items() if k in accepted})
    log.info("Liger kernels applied")
    return True


@functools.cache
def _warn_liger_missing() -> None:
    if int(os.environ.get("RANK", "0")) == 0:  # a setting, the same on every rank: said by the first one
        log.warning("train.liger is true but liger-kernel is not installed: training without Liger kernels "
                    "(pip install liger-kernel, or set train.liger=false)")  # fmt: skip
