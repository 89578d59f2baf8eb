"""Base-model families VideoMind runs on, and everything that differs between them (issue 17).

One small object per family, chosen from the base config's ``model_type`` (``family_of``). ``modeling.py`` asks it
for the M-RoPE positions, the vision call, the extra decoder inputs and where the video's frame tokens are; the
processor asks it how a video is written into the prompt; checkpoints ask it for the transformers classes and the
config layout. Nothing outside ``videomind.model`` knows which family it runs on.

- ``qwen2_vl`` (the released VideoMind base): positions with the transformers-4.45.2 *slot* semantics the released
  weights were trained with (``official_rope_index``); the frame tokens are contiguous between
  ``<|vision_start|>`` and ``<|vision_end|>``.
- ``qwen2_5_vl``: windowed vision attention (inside the tower) and absolute-time M-RoPE: frame step ``t`` sits at
  ``long(t * tokens_per_second * second_per_grid_ts)``, so the frame rate enters the positions.
- ``qwen3_vl``: patch 16, DeepStack (vision features of intermediate tower layers added to the first decoder layers'
  states at the frame tokens), interleaved M-RoPE (inside the text model) and the time written as text before every
  frame step: ``<1.5 seconds><|vision_start|>`` pads ``<|vision_end|>``, one block per step.

M-RoPE positions and the token ids they depend on are in ``videomind.model.rope_index``.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import torch
from transformers import (
    PretrainedConfig,
    Qwen2_5_VLConfig,
    Qwen2_5_VLForConditionalGeneration,
    Qwen2VLConfig,
    Qwen2VLForConditionalGeneration,
    Qwen3VLConfig,
    Qwen3VLForConditionalGeneration,
)

from videomind.errors import CheckpointError
from videomind.model.rope_index import TokenIds, block_rope_index, official_rope_index

CLIP_MEAN = (0.48145466, 0.4578275, 0.40821073)
CLIP_STD = (0.26862954, 0.26130258, 0.27577711)
HALF = (0.5, 0.5, 0.5)  # transformers' IMAGENET_STANDARD_MEAN / _STD, Qwen3-VL's normalisation
DEFAULT_FPS = 2.0  # frames without timestamps are taken as sampled at Qwen's default 2 fps, from 0 s
VIDEO_PAD = "<|video_pad|>"
VISION_START, VISION_END = "<|vision_start|>", "<|vision_end|>"


def step_times(times: Sequence[float] | None, num_frames: int, temporal_patch: int = 2) -> list[float]:
    """Seconds of each temporal step: the mean of its frames' times (Qwen3-VL's ``_calculate_timestamps``); an odd
    frame count repeats the last frame as the patchifier does. No ``times``: frames at ``DEFAULT_FPS`` from 0 s."""
    times = list(times) if times is not None else [i / DEFAULT_FPS for i in range(num_frames)]
    if len(times) != num_frames:
        raise ValueError(f"{len(times)} frame times for {num_frames} frames")
    times += [times[-1]] * (-len(times) % temporal_patch)
    return [sum(times[i : i + temporal_patch]) / temporal_patch for i in range(0, len(times), temporal_patch)]


def seconds_per_step(times: Sequence[float] | None, temporal_patch: int = 2) -> float:
    """Qwen2.5-VL's ``second_per_grid_ts``: ``temporal_patch / sampled fps``, the fps measured on the frame times."""
    if times is None or len(times) < 2 or times[-1] <= times[0]:
        return temporal_patch / DEFAULT_FPS
    return temporal_patch * (times[-1] - times[0]) / (len(times) - 1)


class Qwen2VLFamily:
    """Qwen2-VL: the released VideoMind base (its behaviour is pinned by the oracle tests)."""

    name = "qwen2_vl"
    model_class: type = Qwen2VLForConditionalGeneration
    config_class: type = Qwen2VLConfig
    image_mean, image_std, patch_size = CLIP_MEAN, CLIP_STD, 14
    processor_class = "Qwen2VLProcessor"
    liger_patch = "apply_liger_kernel_to_qwen2_vl"
    placeholder = VIDEO_PAD  # what the chat template writes for a video (inside vision_start / vision_end)
    legacy_layout = True  # config.json in the flat transformers-4.45 layout of the released checkpoints

    @property
    def agent_model_type(self) -> str:
        return f"agent_{self.name}"

    # ------------------------------------------------------------------ positions
    def rope_index(
        self, config, input_ids, attention_mask, video_grid_thw, ids: TokenIds, second_per_grid_ts=None
    ):
        merge = config.vision_config.spatial_merge_size
        return official_rope_index(input_ids, attention_mask, video_grid_thw, ids, merge)

    # ------------------------------------------------------------------ vision
    def encode_video(self, base, pixel_values: torch.Tensor, grid_thw: torch.Tensor) -> torch.Tensor:
        """Features of every video token ``(N, H)`` (DeepStack families: ``(N, 1 + levels, H)``)."""
        return torch.cat(list(base.model.get_video_features(pixel_values, grid_thw).pooler_output), dim=0)

    def split_features(self, features: torch.Tensor) -> tuple[torch.Tensor, list[torch.Tensor]]:
        """The features scattered into the embeddings, and those injected into decoder layers (none here)."""
        return features, []

    def decoder_inputs(self, input_ids: torch.Tensor, features: torch.Tensor | None, ids: TokenIds) -> dict:
        """Extra keyword arguments of the text model for a prompt holding the video (none here)."""
        return {}

    # ------------------------------------------------------------------ frame tokens
    def frame_positions(self, input_ids: torch.Tensor, grid_thw, ids: TokenIds, merge: int) -> torch.Tensor:
        """Indices ``(T, h*w/merge**2)`` of the first video's frame tokens in a 1-D row, step by step: everything
        strictly between the first ``<|vision_start|>`` and the next ``<|vision_end|>``."""
        row = input_ids.tolist()
        start = row.index(ids.vision_start) + 1
        end = row.index(ids.vision_end, start)
        t, h, w = (int(x) for x in grid_thw)
        per_step = h * w // merge**2
        if end - start != t * per_step:
            raise ValueError(f"{end - start} visual states between vision tokens, expected {t} x {per_step}")
        return torch.arange(start, end).view(t, per_step)

    # ------------------------------------------------------------------ prompt layout
    def video_text(
        self, tokens_per_step: int, steps: int, times: list[float], segment: tuple[int, int] | None
    ) -> str:
        """What replaces the template's placeholder: the frame tokens, with the verifier's segment tokens before
        step ``segment[0]`` and after step ``segment[1] - 1`` (the official rule)."""
        pads = [VIDEO_PAD * tokens_per_step] * steps
        if segment is None:
            return "".join(pads)
        s, e = segment
        return "".join(pads[:s]) + "<|seg_start|>" + "".join(pads[s:e]) + "<|seg_end|>" + "".join(pads[e:])

    def video_inputs(
        self, times: Sequence[Sequence[float] | None], temporal_patch: int
    ) -> dict[str, torch.Tensor]:
        """Extra model inputs of a batch's videos, one entry per video (none here)."""
        return {}

    # ------------------------------------------------------------------ configs
    def tiny_config(self, text: dict, vision: dict, token_ids: dict, tie: bool) -> PretrainedConfig:
        """A tiny random base's config (``tiny.py``) from generic sizes: ``text`` as Qwen2 names its keys,
        ``vision`` with ``depth``, ``width``, ``heads``; the family adds its own vision keys."""
        v = dict(depth=vision["depth"], embed_dim=vision["width"], num_heads=vision["heads"],
                 hidden_size=text["hidden_size"], mlp_ratio=4, patch_size=self.patch_size,
                 temporal_patch_size=2, spatial_merge_size=2)  # fmt: skip
        return self.config_class(text_config=text, vision_config=v, tie_word_embeddings=tie, **token_ids)

    def _tiny_vision(self, text: dict, vision: dict, **extra) -> dict:
        return dict(depth=vision["depth"], hidden_size=vision["width"], intermediate_size=4 * vision["width"],
                    num_heads=vision["heads"], out_hidden_size=text["hidden_size"], patch_size=self.patch_size,
                    temporal_patch_size=2, spatial_merge_size=2, **extra)  # fmt: skip

    def config_from_dict(self, data: dict[str, Any]) -> PretrainedConfig:
        return self.config_class(**data)


class Qwen25VLFamily(Qwen2VLFamily):
    """Qwen2.5-VL: absolute-time positions (``second_per_grid_ts``), windowed vision attention, block positions."""

    name = "qwen2_5_vl"
    model_class = Qwen2_5_VLForConditionalGeneration
    config_class = Qwen2_5_VLConfig
    processor_class = "Qwen2_5_VLProcessor"
    liger_patch = "apply_liger_kernel_to_qwen2_5_vl"
    legacy_layout = False

    def rope_index(
        self, config, input_ids, attention_mask, video_grid_thw, ids: TokenIds, second_per_grid_ts=None
    ):
        grids = video_grid_thw.tolist() if video_grid_thw is not None else []
        if second_per_grid_ts is None:
            second_per_grid_ts = [2 / DEFAULT_FPS] * len(grids)
        rate = config.vision_config.tokens_per_second
        intervals = [rate * float(s) for s in second_per_grid_ts]
        return block_rope_index(
            input_ids, attention_mask, grids, intervals, ids, config.vision_config.spatial_merge_size
        )

    def frame_positions(self, input_ids: torch.Tensor, grid_thw, ids: TokenIds, merge: int) -> torch.Tensor:
        """The first video's ``<|video_pad|>`` positions, ``(T, h*w/merge**2)`` (text in between is skipped)."""
        t, h, w = (int(x) for x in grid_thw)
        per_step = h * w // merge**2
        pads = (input_ids == ids.video_pad).nonzero().flatten()
        if pads.numel() < t * per_step:
            raise ValueError(f"{pads.numel()} frame tokens in the prompt, expected {t} x {per_step}")
        return pads[: t * per_step].view(t, per_step).to(torch.long)

    def video_inputs(self, times, temporal_patch: int) -> dict[str, torch.Tensor]:
        spg = [seconds_per_step(ts, temporal_patch) for ts in times]
        return {"second_per_grid_ts": torch.tensor(spg, dtype=torch.float32)} if spg else {}

    def tiny_config(self, text, vision, token_ids, tie) -> PretrainedConfig:
        # windows of 2x2 merged tokens (56 px), so tiny frames of 2x2 to 4x4 tokens really use windowed attention
        v = self._tiny_vision(text, vision, window_size=56, fullatt_block_indexes=[vision["depth"] - 1],
                              tokens_per_second=2)  # fmt: skip
        return self.config_class(text_config=text, vision_config=v, tie_word_embeddings=tie, **token_ids)


class Qwen3VLFamily(Qwen25VLFamily):
    """Qwen3-VL: patch 16, DeepStack, interleaved M-RoPE, one vision block per step after its time as text."""

    name = "qwen3_vl"
    model_class = Qwen3VLForConditionalGeneration
    config_class = Qwen3VLConfig
    image_mean, image_std, patch_size = HALF, HALF, 16
    processor_class = "Qwen3VLProcessor"
    liger_patch = "apply_liger_kernel_to_qwen3_vl"
    placeholder = VISION_START + VIDEO_PAD + VISION_END  # the whole wrapper is replaced by per-step blocks

    def rope_index(
        self, config, input_ids, attention_mask, video_grid_thw, ids: TokenIds, second_per_grid_ts=None
    ):
        blocks = [(1, h, w) for t, h, w in (video_grid_thw.tolist() if video_grid_thw is not None else [])
                  for _ in range(t)]  # fmt: skip
        merge = config.vision_config.spatial_merge_size
        return block_rope_index(input_ids, attention_mask, blocks, [1.0] * len(blocks), ids, merge)

    def encode_video(self, base, pixel_values, grid_thw) -> torch.Tensor:
        out = base.model.get_video_features(pixel_values, grid_thw)
        levels = [torch.cat(list(out.pooler_output), dim=0)]
        levels += [torch.cat(list(level), dim=0) for level in out.deepstack_features]
        return torch.stack(levels, dim=1)

    def split_features(self, features):
        return features[:, 0], list(features[:, 1:].unbind(dim=1))

    def decoder_inputs(self, input_ids, features, ids: TokenIds) -> dict:
        if features is None:
            return {}
        return {
            "visual_pos_masks": input_ids == ids.video_pad,
            "deepstack_visual_embeds": self.split_features(features)[1],
        }

    def video_text(self, tokens_per_step, steps, times, segment) -> str:
        """``<t seconds><|vision_start|>`` pads ``<|vision_end|>`` per step; segment tokens go between the step
        blocks (``<|seg_start|>`` before step ``segment[0]``'s time, ``<|seg_end|>`` after step ``segment[1] - 1``)."""
        s, e = segment if segment is not None else (None, None)
        out = []
        for k in range(steps + 1):
            out += ["<|seg_start|>"] * (k == s) + ["<|seg_end|>"] * (k == e)
            if k < steps:
                out.append(f"<{times[k]:.1f} seconds>{VISION_START}{VIDEO_PAD * tokens_per_step}{VISION_END}")
        return "".join(out)

    def video_inputs(self, times, temporal_patch: int) -> dict[str, torch.Tensor]:
        return {}

    def tiny_config(self, text, vision, token_ids, tie) -> PretrainedConfig:
        text = dict(text, head_dim=text["hidden_size"] // text["num_attention_heads"])
        text["rope_parameters"] = dict(text["rope_parameters"], mrope_interleaved=True)
        # DeepStack from every tower layer; an 8x8 learned position table resampled to each frame's grid
        layers = list(range(vision["depth"]))
        v = self._tiny_vision(text, vision, deepstack_visual_indexes=layers, num_position_embeddings=64)
        return self.config_class(text_config=text, vision_config=v, tie_word_embeddings=tie, **token_ids)


FAMILIES: dict[str, Qwen2VLFamily] = {f.name: f for f in (Qwen2VLFamily(), Qwen25VLFamily(), Qwen3VLFamily())}


def family_of(model_type: str | None) -> Qwen2VLFamily:
    """The family of a base ``model_type`` (``qwen2_vl``, ...) or VideoMind agent type (``agent_qwen2_vl``, ...)."""
    name = (model_type or "").removeprefix("agent_")
    if name not in FAMILIES:
        raise CheckpointError(
            f"model_type {model_type!r} is not a supported base; supported: {', '.join(FAMILIES)} "
            f"(VideoMind checkpoints: {', '.join(f.agent_model_type for f in FAMILIES.values())})"
        )
    return FAMILIES[name]
