"""A Qwen2-VL / Qwen2.5-VL / Qwen3-VL processor that needs no torchvision.

Frames arrive already sampled and resized (videomind.video); this module rescales, normalises (CLIP mean/std, 0.5
for Qwen3-VL) and patchifies them exactly as the stock processors do (bit-identical for Qwen2-VL: checked against
the oracle's recorded ``pixel_values_videos``), renders the chat template, writes each video into the prompt as its
base family lays it out (``bases``: one ``<|video_pad|>`` per merged patch; Qwen3-VL: one block per step after its
time as text), with the verifier's segment tokens when asked, and returns ``mm_token_type_ids`` with the ids (and
``second_per_grid_ts`` for Qwen2.5-VL).

Why not ``transformers.Qwen2VLProcessor``: in transformers 5.x its video processor imports torchvision, which does
not install beside the CPU torch build we pin (see DESIGN.md).
"""

from __future__ import annotations

import json
import logging
from collections.abc import Sequence
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

import torch
from transformers import AutoTokenizer, PretrainedConfig, PreTrainedTokenizerBase

from videomind.errors import CheckpointError
from videomind.model.bases import CLIP_MEAN, CLIP_STD, FAMILIES, Qwen2VLFamily, family_of, step_times
from videomind.model.templates import ConversationTemplate, get_template
from videomind.prompts import SPECIAL_TOKENS, segment_steps

log = logging.getLogger(__name__)

IGNORE_INDEX = -100
TOKEN_TYPE_TEXT, TOKEN_TYPE_IMAGE, TOKEN_TYPE_VIDEO = 0, 1, 2
_PLACEHOLDER = "\x00VIDEO\x00"


@dataclass(frozen=True)
class VisionSettings:
    """The fields of ``preprocessor_config.json`` we use (Qwen2-VL defaults)."""

    patch_size: int = 14
    temporal_patch_size: int = 2
    merge_size: int = 2
    image_mean: tuple[float, float, float] = CLIP_MEAN
    image_std: tuple[float, float, float] = CLIP_STD
    rescale_factor: float = 1 / 255

    @property
    def factor(self) -> int:
        """Frame sides must be multiples of this (28 for Qwen2-VL)."""
        return self.patch_size * self.merge_size

    @classmethod
    def from_file(cls, path: Path, family: Qwen2VLFamily | None = None) -> VisionSettings:
        """The settings in ``preprocessor_config.json``; missing ones (or a missing file) are the family's."""
        defaults = asdict(cls.of_family(family or FAMILIES["qwen2_vl"]))
        raw = json.loads(path.read_text()) if path.is_file() else {}
        kwargs = {k: (tuple(v) if isinstance(v, list) else v) for k, v in raw.items() if k in defaults}
        return cls(**{**defaults, **kwargs})

    @classmethod
    def of_family(cls, family: Qwen2VLFamily) -> VisionSettings:
        return cls(patch_size=family.patch_size, image_mean=family.image_mean, image_std=family.image_std)

    def to_preprocessor_config(self, processor_class: str = "Qwen2VLProcessor") -> dict[str, Any]:
        """The stock ``preprocessor_config.json`` (with ``do_resize`` off, as the official builder saves it)."""
        out = asdict(self)
        out.update(
            image_mean=list(self.image_mean),
            image_std=list(self.image_std),
            do_convert_rgb=True,
            do_normalize=True,
            do_rescale=True,
            do_resize=False,
            image_processor_type="Qwen2VLImageProcessor",
            processor_class=processor_class,
            resample=3,
            min_pixels=3136,
            max_pixels=12845056,
            size={"min_pixels": 3136, "max_pixels": 12845056},
        )
        return out


class VideoMindProcessor:
    """Tokenizer + chat template + frame patchifier for one VideoMind checkpoint or base model folder."""

    def __init__(
        self,
        tokenizer: PreTrainedTokenizerBase,
        vision: VisionSettings | None = None,
        chat_template: str | None = None,
        conversation: ConversationTemplate | None = None,
        family: Qwen2VLFamily | str = "qwen2_vl",
    ) -> None:
        self.tokenizer = tokenizer
        self.family = family_of(family) if isinstance(family, str) else family
        # How training finds the replies in a rendered conversation (the released config's ``conv_type``).
        self.conversation = conversation or get_template("chatml")
        self.vision = vision or VisionSettings.of_family(self.family)
        self.chat_template = chat_template or tokenizer.chat_template
        if not self.chat_template:
            raise CheckpointError(
                "the tokenizer has no chat template; add chat_template.json to the checkpoint"
            )
        ids = tokenizer.convert_tokens_to_ids
        self.video_token_id = ids("<|video_pad|>")
        self.image_token_id = ids("<|image_pad|>")
        self.vision_start_id = ids("<|vision_start|>")
        self.vision_end_id = ids("<|vision_end|>")
        self.im_end_id = ids("<|im_end|>")
        self.pad_token_id = (
            tokenizer.pad_token_id if tokenizer.pad_token_id is not None else ids("<|endoftext|>")
        )

    # ------------------------------------------------------------------ loading / saving
    @classmethod
    def from_pretrained(cls, path: str | Path) -> VideoMindProcessor:
        path = Path(path)
        # Pass a config so AutoTokenizer does not parse config.json: a VideoMind config (model_type agent_qwen2_vl)
        # is unknown to transformers and makes it log misleading warnings about the model type and rope keys.
        tokenizer = AutoTokenizer.from_pretrained(str(path), config=PretrainedConfig())
        template_file = path / "chat_template.json"
        template = json.loads(template_file.read_text())["chat_template"] if template_file.is_file() else None
        config_file = path / "config.json"
        model_type = json.loads(config_file.read_text()).get("model_type") if config_file.is_file() else None
        family = family_of(model_type or "qwen2_vl")
        vision = VisionSettings.from_file(path / "preprocessor_config.json", family)
        return cls(tokenizer, vision, template, family=family)

    def save_pretrained(self, path: str | Path) -> None:
        path = Path(path)
        path.mkdir(parents=True, exist_ok=True)
        self.tokenizer.save_pretrained(str(path))
        (path / "chat_template.json").write_text(
            json.dumps({"chat_template": self.chat_template}, indent=2) + "\n"
        )
        config = self.vision.to_preprocessor_config(self.family.processor_class)
        (path / "preprocessor_config.json").write_text(json.dumps(config, indent=2, sort_keys=True) + "\n")

    def add_special_tokens(self) -> dict[str, int]:
        """Add ``<|reg|>``, ``<|seg_start|>``, ``<|seg_end|>`` (in that order) if missing; return their ids."""
        missing = [t for t in SPECIAL_TOKENS if t not in self.tokenizer.get_vocab()]
        if missing:
            self.tokenizer.add_special_tokens({"additional_special_tokens": list(SPECIAL_TOKENS)})
        return self.special_token_ids()

    def special_token_ids(self) -> dict[str, int]:
        names = ("reg_token_id", "seg_s_token_id", "seg_e_token_id")
        ids = self.tokenizer.convert_tokens_to_ids(list(SPECIAL_TOKENS))
        unk = self.tokenizer.unk_token_id
        if any(i is None or (unk is not None and i == unk) for i in ids):
            raise CheckpointError(f"the tokenizer lacks the VideoMind tokens {SPECIAL_TOKENS}")
        return dict(zip(names, ids))

    def token_id(self, text: str) -> int:
        """The id of a text that must be a single token (e.g. "Yes", "No"); raises if it is not."""
        ids = self.tokenizer.encode(text, add_special_tokens=False)
        if len(ids) != 1:
            raise CheckpointError(f"{text!r} is not a single token in this tokenizer ({ids})")
        return ids[0]

    # ------------------------------------------------------------------ text
    def render(self, messages: Sequence[dict[str, Any]], add_generation_prompt: bool = True) -> str:
        """Render a conversation with the checkpoint's chat template (no tokenisation)."""
        return self.tokenizer.apply_chat_template(
            list(messages),
            chat_template=self.chat_template,
            tokenize=False,
            add_generation_prompt=add_generation_prompt,
        )

    def use_conversation(self, conv_type: str) -> None:
        """Select the conversation template (``conv_type`` of the config) whose markers label masking uses."""
        self.conversation = get_template(conv_type)

    def assistant_header_ids(self) -> list[int]:
        """Token ids that open an assistant reply: training supervises what follows the last of them."""
        return self.tokenizer.encode(self.conversation.assistant_header, add_special_tokens=False)

    def decode(self, ids: Sequence[int], skip_special_tokens: bool = False) -> str:
        return self.tokenizer.decode(list(ids), skip_special_tokens=skip_special_tokens)

    # ------------------------------------------------------------------ vision
    def patchify(self, frames: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """Frames ``(N, 3, H, W)`` (uint8 or float in 0-255) -> ``(pixel_values, grid_thw)`` like the stock processor.

        An odd frame count is padded by repeating the last frame (temporal patch 2).
        """
        v = self.vision
        if frames.ndim != 4 or frames.shape[1] != 3:
            raise ValueError(f"frames must be (N, 3, H, W), got {tuple(frames.shape)}")
        n, c, h, w = frames.shape
        if h % v.factor or w % v.factor:
            raise ValueError(
                f"frame size {h}x{w} is not a multiple of {v.factor}; resize with videomind.video first"
            )
        x = frames.to(torch.float32) * v.rescale_factor
        mean = torch.tensor(v.image_mean, dtype=torch.float32).view(1, 3, 1, 1)
        std = torch.tensor(v.image_std, dtype=torch.float32).view(1, 3, 1, 1)
        x = (x - mean) / std
        if n % v.temporal_patch_size:
            pad = v.temporal_patch_size - n % v.temporal_patch_size
            x = torch.cat([x, x[-1:].expand(pad, -1, -1, -1)], dim=0)
        p, tp, m = v.patch_size, v.temporal_patch_size, v.merge_size
        grid = self.grid_of(n, h, w)
        gt, gh, gw = (int(g) for g in grid[0])
        x = x.reshape(gt, tp, c, gh // m, m, p, gw // m, m, p).permute(0, 3, 6, 4, 7, 2, 1, 5, 8)
        pixel_values = x.reshape(gt * gh * gw, c * tp * p * p)
        return pixel_values, grid

    def grid_of(self, num_frames: int, height: int, width: int) -> torch.Tensor:
        """``video_grid_thw`` (1, 3) of ``num_frames`` frames of ``height`` x ``width`` (odd counts are padded)."""
        v = self.vision
        gt = -(-num_frames // v.temporal_patch_size)
        return torch.tensor([[gt, height // v.patch_size, width // v.patch_size]], dtype=torch.long)

    def tokens_per_video(self, grid_thw: torch.Tensor) -> int:
        return int(grid_thw.prod()) // (self.vision.merge_size**2)

    # ------------------------------------------------------------------ full call
    def __call__(
        self,
        texts: str | Sequence[str],
        videos: Sequence[torch.Tensor] | None = None,
        padding_side: str = "right",
        grids: Sequence[torch.Tensor] | None = None,
        timestamps: Sequence[Sequence[float] | None] | None = None,
        segments: Sequence[tuple[float, float] | None] | None = None,
    ) -> dict[str, torch.Tensor]:
        """Tokenise rendered texts holding video placeholders (as the chat template writes them), one video
        (frames) per placeholder.

        Returns ``input_ids``, ``attention_mask``, ``mm_token_type_ids`` and, with videos, ``pixel_values_videos``
        and ``video_grid_thw`` (concatenated over all videos in order), plus what the base family needs
        (``second_per_grid_ts`` for Qwen2.5-VL). ``grids`` instead of ``videos`` (see ``grid_of``) gives the same
        tokens without pixel values, for callers that encode the frames themselves. ``timestamps``: per video, the
        seconds of its frames (Qwen2.5-VL: frame rate; Qwen3-VL: the times written before each step; without them
        frames are taken at 2 fps from 0 s). ``segments``: per video, the verifier's ``(start, end)`` fractions,
        written as ``<|seg_start|>`` / ``<|seg_end|>`` where the family lays them out.
        """
        if videos is not None and grids is not None:
            raise ValueError("give videos or grids, not both")
        texts = [texts] if isinstance(texts, str) else list(texts)
        pixel_values, grids = [], list(grids or [])
        for frames in videos or []:
            pv, grid = self.patchify(frames)
            pixel_values.append(pv)
            grids.append(grid)
        times = list(timestamps) if timestamps is not None else [None] * len(grids)
        segments = list(segments) if segments is not None else [None] * len(grids)
        if len(times) != len(grids) or len(segments) != len(grids):
            raise ValueError(f"{len(grids)} videos but {len(times)} timestamps and {len(segments)} segments")
        for frames, seconds in zip(videos or [], times):
            if seconds is not None and len(seconds) != len(frames):
                raise ValueError(f"{len(seconds)} frame times for a video of {len(frames)} frames")
        texts = self._expand_video_tokens(texts, grids, times, segments)
        rows = [self.tokenizer.encode(t, add_special_tokens=False) for t in texts]
        batch = self.pad(rows, padding_side=padding_side)
        if pixel_values:
            batch["pixel_values_videos"] = torch.cat(pixel_values)
        if grids:
            batch["video_grid_thw"] = torch.cat(grids)
            batch.update(self.family.video_inputs(times, self.vision.temporal_patch_size))
        return batch

    def _expand_video_tokens(self, texts, grids, times, segments) -> list[str]:
        token = self.family.placeholder
        count = sum(t.count(token) for t in texts)
        if count != len(grids):
            raise ValueError(f"the text holds {count} video placeholders but {len(grids)} videos were given")
        queue = iter(zip(grids, times, segments))
        out = []
        for text in texts:
            while token in text:
                text = text.replace(token, self._video_text(*next(queue)), 1)
            out.append(text.replace(_PLACEHOLDER, "<|video_pad|>"))
        return out

    def _video_text(self, grid: torch.Tensor, times, segment) -> str:
        steps = int(grid[0, 0])
        per_step = self.tokens_per_video(grid) // steps
        patch = self.vision.temporal_patch_size
        step_seconds = step_times(times, len(times) if times is not None else steps * patch, patch)
        if len(step_seconds) != steps:
            raise ValueError(f"{len(times)} frame times for a video of {steps} temporal steps")
        marks = segment_steps(segment, steps) if segment is not None else None
        # the placeholder keeps later replacements from matching the pads this one writes
        return self.family.video_text(per_step, steps, step_seconds, marks).replace(
            "<|video_pad|>", _PLACEHOLDER
        )

    def pad(self, rows: Sequence[Sequence[int]], padding_side: str = "right") -> dict[str, torch.Tensor]:
        """Pad token-id rows into ``input_ids`` / ``attention_mask`` / ``mm_token_type_ids``."""
        length = max(len(r) for r in rows)
        input_ids = torch.full((len(rows), length), self.pad_token_id, dtype=torch.long)
        attention_mask = torch.zeros((len(rows), length), dtype=torch.long)
        for i, row in enumerate(rows):
            sl = slice(length - len(row), length) if padding_side == "left" else slice(0, len(row))
            input_ids[i, sl] = torch.tensor(row, dtype=torch.long)
            attention_mask[i, sl] = 1
        return {
            "input_ids": input_ids,
            "attention_mask": attention_mask,
            "mm_token_type_ids": self.token_types(input_ids),
        }

    def token_types(self, input_ids: torch.Tensor) -> torch.Tensor:
        types = torch.zeros_like(input_ids, dtype=torch.int32)
        types[input_ids == self.image_token_id] = TOKEN_TYPE_IMAGE
        types[input_ids == self.video_token_id] = TOKEN_TYPE_VIDEO
        return types
