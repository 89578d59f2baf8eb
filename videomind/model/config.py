"""Checkpoint configuration: the Qwen2-VL config plus the VideoMind fields of the released ``config.json``.

The released file is a flat (transformers 4.45-style) Qwen2-VL config with ``model_type = "agent_qwen2_vl"`` and the
extra fields ``role``, ``base_model_path``, ``base_model``, ``conv_type``, ``model_name_or_path`` and the three
special-token ids (REFERENCE.md s.1.4). We read it into a ``Qwen2VLConfig`` plus a ``VideoMindConfig`` and write it
back in the same flat layout, so our checkpoints also load in the official code.

Newer bases (Qwen2.5-VL, Qwen3-VL; ``videomind.model.bases``) extend this layout rather than fork it: the same
VideoMind keys, ``model_type = "agent_<family>"`` and ``base_model = "<family>"`` name the base family, and the base
config is written in the nested transformers-5 layout (no official code reads those checkpoints).
"""

from __future__ import annotations

import json
import logging
from dataclasses import asdict, dataclass, field, fields
from pathlib import Path
from typing import Any

from transformers import PretrainedConfig, Qwen2VLConfig

from videomind.errors import CheckpointError
from videomind.model.bases import family_of
from videomind.model.grounding_head import TimestampDecoderConfig

log = logging.getLogger(__name__)

AGENT_MODEL_TYPE = "agent_qwen2_vl"
BASE_MODEL_TYPE = "qwen2_vl"
HEAD_CONFIG_KEY = "videomind_head"  # our addition: non-default head options (absent in official checkpoints)
EXTRA_CONFIG_KEY = "videomind"  # our addition: free-form settings of our own checkpoints (e.g. frame budgets)

# Fields of the text model that the flat layout keeps at the top level.
_TEXT_FIELDS = (
    "vocab_size", "hidden_size", "intermediate_size", "num_hidden_layers", "num_attention_heads",
    "num_key_value_heads", "hidden_act", "max_position_embeddings", "initializer_range", "rms_norm_eps",
    "use_cache", "use_sliding_window", "sliding_window", "max_window_layers", "attention_dropout",
    "bos_token_id", "eos_token_id",
)  # fmt: skip
_VISION_FIELDS = (
    "depth", "embed_dim", "hidden_size", "hidden_act", "mlp_ratio", "num_heads", "in_channels", "patch_size",
    "spatial_merge_size", "temporal_patch_size",
)  # fmt: skip
_TOP_FIELDS = (
    "image_token_id",
    "video_token_id",
    "vision_start_token_id",
    "vision_end_token_id",
    "tie_word_embeddings",
)
_DROPPED = ("_name_or_path", "architectures", "transformers_version", "torch_dtype", "dtype", "model_type")


@dataclass
class VideoMindConfig:
    """The VideoMind fields of a checkpoint's ``config.json``."""

    role: str = "grounder"
    base_model_path: str | None = None
    base_model: str = BASE_MODEL_TYPE
    conv_type: str = "chatml"
    model_name_or_path: str | None = None
    reg_token_id: int | None = None
    seg_s_token_id: int | None = None
    seg_e_token_id: int | None = None
    head: TimestampDecoderConfig = field(default_factory=TimestampDecoderConfig)
    extra: dict[str, Any] = field(default_factory=dict)

    _KEYS = ("role", "base_model_path", "base_model", "conv_type", "model_name_or_path",
             "reg_token_id", "seg_s_token_id", "seg_e_token_id")  # fmt: skip

    @property
    def token_ids(self) -> dict[str, int | None]:
        return {"reg_token_id": self.reg_token_id, "seg_s_token_id": self.seg_s_token_id,
                "seg_e_token_id": self.seg_e_token_id}  # fmt: skip

    def to_dict(self) -> dict[str, Any]:
        """Every field, JSON-safe. HF Trainer integrations (TensorBoard, W&B, ...) log ``model.config`` with
        ``to_dict`` / ``to_json_string``."""
        return _jsonable(asdict(self))

    def to_json_string(self) -> str:
        return json.dumps(self.to_dict(), indent=2, sort_keys=True)

    def to_json_fields(self) -> dict[str, Any]:
        out: dict[str, Any] = {k: getattr(self, k) for k in self._KEYS}
        head = {f.name: getattr(self.head, f.name) for f in fields(self.head)
                if getattr(self.head, f.name) != getattr(TimestampDecoderConfig(), f.name)}  # fmt: skip
        if head:
            out[HEAD_CONFIG_KEY] = _jsonable(head)
        if self.extra:
            out[EXTRA_CONFIG_KEY] = self.extra
        return out

    @classmethod
    def from_json_fields(cls, data: dict[str, Any]) -> VideoMindConfig:
        kwargs = {k: data[k] for k in cls._KEYS if k in data}
        head = data.get(HEAD_CONFIG_KEY) or {}
        known = {f.name for f in fields(TimestampDecoderConfig)}
        unknown = set(head) - known
        if unknown:
            raise CheckpointError(f"unknown grounding-head options {sorted(unknown)} in config.json")
        head_kwargs = {k: (tuple(map(_tuplify, v)) if isinstance(v, list) else v) for k, v in head.items()}
        return cls(
            head=TimestampDecoderConfig(**head_kwargs), extra=dict(data.get(EXTRA_CONFIG_KEY) or {}), **kwargs
        )


def _tuplify(v: Any) -> Any:
    return tuple(v) if isinstance(v, list) else v


def _jsonable(value: Any) -> Any:
    if isinstance(value, dict):
        return {k: _jsonable(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [_jsonable(v) for v in value]
    if value == float("inf"):
        return "inf"
    return value


def read_config_file(path: str | Path) -> dict[str, Any]:
    path = Path(path)
    file = path / "config.json" if path.is_dir() else path
    if not file.is_file():
        raise CheckpointError(f"no config.json in {path}: is this a VideoMind or Qwen2-VL checkpoint folder?")
    return json.loads(file.read_text())


def is_agent_config(raw: dict[str, Any]) -> bool:
    """Whether a ``config.json`` dict is a VideoMind checkpoint's (``agent_<family>``) rather than a base model's."""
    return str(raw.get("model_type", "")).startswith("agent_")


def split_config(raw: dict[str, Any]) -> tuple[PretrainedConfig, VideoMindConfig | None]:
    """Split a ``config.json`` dict into the base config and (for agent checkpoints) the VideoMind fields."""
    model_type = raw.get("model_type")
    family = family_of(model_type)  # a clear error for unsupported bases
    agent = VideoMindConfig.from_json_fields(raw) if is_agent_config(raw) else None
    if agent is not None and agent.base_model != family.name:
        raise CheckpointError(
            f"config.json says model_type {model_type!r} but base_model {agent.base_model!r}; they must agree"
        )
    skip = set(VideoMindConfig._KEYS) | {HEAD_CONFIG_KEY, EXTRA_CONFIG_KEY} | set(_DROPPED)
    kwargs = {k: v for k, v in raw.items() if k not in skip}
    config = qwen_config_from_dict(kwargs) if family.legacy_layout else family.config_from_dict(kwargs)
    return config, agent


def qwen_config_from_dict(data: dict[str, Any]) -> Qwen2VLConfig:
    """Build a ``Qwen2VLConfig`` from a flat (4.45-style) or nested (5.x-style) dict.

    The released VideoMind config says ``rope_scaling = {"type": "default", "mrope_section": [...]}`` (4.45.2
    rewrote "mrope" to "default", oracle README s.7 item 2); transformers 5 reads ``mrope_section`` from
    ``rope_parameters`` whatever the type, so both spellings load the same M-RoPE.
    """
    data = dict(data)
    rope = data.pop("rope_scaling", None)
    if rope is not None and "text_config" not in data:
        rope = {k: v for k, v in rope.items() if k != "type"}
        rope.setdefault("rope_type", "default")
        if "rope_theta" in data:
            rope["rope_theta"] = data.pop("rope_theta")
        data["rope_parameters"] = rope
    return Qwen2VLConfig(**data)


def legacy_config_dict(config: PretrainedConfig, agent: VideoMindConfig | None) -> dict[str, Any]:
    """The ``config.json`` of a checkpoint: for Qwen2-VL the flat layout of the released checkpoints (readable by
    transformers 4.45 and 5.x); for the newer families the nested transformers-5 one, with the same VideoMind keys."""
    family = family_of(config.model_type)
    if not family.legacy_layout:
        out = {k: v for k, v in config.to_diff_dict().items() if k not in _DROPPED}
        out["architectures"] = [family.model_class.__name__]
        out["model_type"] = family.agent_model_type if agent is not None else family.name
        if agent is not None:
            out.update(agent.to_json_fields(), base_model=family.name)
        return out
    text, vision = config.text_config, config.vision_config
    out: dict[str, Any] = {"architectures": ["Qwen2VLForConditionalGeneration"]}
    out.update({k: getattr(text, k) for k in _TEXT_FIELDS if hasattr(text, k)})
    out.update({k: getattr(config, k) for k in _TOP_FIELDS})
    rope = dict(text.rope_parameters)
    out["rope_theta"] = rope.pop("rope_theta", 1_000_000.0)
    out["rope_scaling"] = {"type": "mrope", "mrope_section": list(rope["mrope_section"])}
    out["vision_config"] = {k: getattr(vision, k) for k in _VISION_FIELDS}
    out["vision_config"]["in_chans"] = vision.in_channels  # the published Qwen2-VL spelling
    out["vision_config"]["spatial_patch_size"] = vision.patch_size
    out["vision_config"]["model_type"] = BASE_MODEL_TYPE
    out["model_type"] = AGENT_MODEL_TYPE if agent is not None else BASE_MODEL_TYPE
    if agent is not None:
        out.update(agent.to_json_fields())
    return out


def head_config_as_dict(config: TimestampDecoderConfig) -> dict[str, Any]:
    return _jsonable(asdict(config))
