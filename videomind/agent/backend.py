"""What the agent needs from a model, one method per role call, and its implementation on ``VideoMindModel``.

The agent's control flow (routing, fallbacks, rounding, zoom-in, re-ranking) lives in ``agent.py`` and talks only
to a ``Backend``; tests drive it with a scripted fake backend, and ``ModelBackend`` runs the real model.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Protocol

import torch

from videomind import prompts
from videomind.agent.options import GenerationSettings
from videomind.model.roles import roles_of, use_role
from videomind.model.segments import insert_segment_tokens
from videomind.records import Role

if TYPE_CHECKING:  # pragma: no cover
    from videomind.model.modeling import VideoMindModel
    from videomind.model.processor import VideoMindProcessor


@dataclass(frozen=True)
class ClipInput:
    """Frames of one role's view of the video: uint8 ``(N, 3, H, W)`` and a key naming exactly these frames
    (same key = same frames at the same size, so vision features can be shared)."""

    frames: torch.Tensor
    key: tuple


@dataclass(frozen=True)
class GroundOutput:
    response: str
    rows_norm: (
        list[list[float]] | None
    )  # [start, end, score] normalised to the video, best first; None = no <|reg|>


class Backend(Protocol):
    def has_role(self, role: str) -> bool: ...

    def generate(
        self, role: str, clip: ClipInput, text: str, prefix: str, settings: GenerationSettings
    ) -> str: ...

    def ground(self, clip: ClipInput, text: str, settings: GenerationSettings) -> GroundOutput: ...

    def verify(
        self, clips: Sequence[ClipInput], text: str, bounds: Sequence[tuple[float, float]]
    ) -> list[float]: ...

    def reset(self) -> None: ...

    def set_mode(self, fast: bool) -> None: ...


class ModelBackend:
    """Runs the roles on a ``VideoMindModel``.

    ``share_features`` keeps vision-tower outputs per frame key for the current query (the vision tower carries no
    LoRA, so every role may reuse them); ``batch_verifier`` scores all candidates in one left-padded forward.
    """

    def __init__(self, model: VideoMindModel, processor: VideoMindProcessor, share_features: bool = True,
                 batch_verifier: bool = True) -> None:  # fmt: skip
        self.model = model
        self.processor = processor
        self.share_features = share_features
        self.batch_verifier = batch_verifier
        self.yes_id = processor.token_id("Yes")
        self.no_id = processor.token_id("No")
        self._features: dict[tuple, torch.Tensor] = {}
        self.vision_calls = 0  # how many times the vision tower ran (for tests and benchmarks)

    def has_role(self, role: str) -> bool:
        if role == Role.ANSWERER.value:
            return True
        if role == Role.GROUNDER.value and self.model.grounding_head is None:
            return False
        return role in roles_of(self.model)

    def reset(self) -> None:
        self._features.clear()

    def set_mode(self, fast: bool) -> None:
        """``fast``: share vision features across roles and batch the verifier; else the plain official order."""
        self.share_features = self.batch_verifier = fast

    # ------------------------------------------------------------------ pieces
    def _batch(self, text: str, clip: ClipInput, prefix: str = "") -> dict[str, torch.Tensor]:
        rendered = self.processor.render(prompts.video_message(text)) + prefix
        return self.processor([rendered], [clip.frames])

    def _video_features(self, clips: Sequence[ClipInput], batch: dict[str, torch.Tensor]) -> torch.Tensor:
        keys = [c.key for c in clips]
        if self.share_features and all(k in self._features for k in keys):
            return torch.cat([self._features[k] for k in keys])
        self.vision_calls += 1
        features = self.model.encode_video(batch["pixel_values_videos"], batch["video_grid_thw"])
        if self.share_features:
            sizes = [self.processor.tokens_per_video(g) for g in batch["video_grid_thw"]]
            for key, part in zip(keys, features.split(sizes)):
                self._features[key] = part
        return features

    def _decode(self, ids: list[int]) -> str:
        if ids and ids[-1] in self.model.token_ids.eos:
            ids = ids[:-1]
        return self.processor.decode(ids)

    # ------------------------------------------------------------------ roles
    def generate(
        self, role: str, clip: ClipInput, text: str, prefix: str, settings: GenerationSettings
    ) -> str:
        batch = self._batch(text, clip, prefix)
        features = self._video_features([clip], batch)
        with use_role(self.model, role):
            out = self.model.generate(batch, video_embeds=features, **_decoding(settings))
        return self._decode(out.token_ids)

    def ground(self, clip: ClipInput, text: str, settings: GenerationSettings) -> GroundOutput:
        batch = self._batch(text, clip)
        features = self._video_features([clip], batch)
        with use_role(self.model, Role.GROUNDER):
            out = self.model.generate(batch, video_embeds=features, capture_reg=True, **_decoding(settings))
            results = self.model.ground_from_states(
                batch["input_ids"], batch["video_grid_thw"], out.prefill_prenorm, out.query_states[:1]
            )
        rows = results[0].spans_norm.float().tolist() if results else None
        return GroundOutput(self._decode(out.token_ids), rows)

    def verify(
        self, clips: Sequence[ClipInput], text: str, bounds: Sequence[tuple[float, float]]
    ) -> list[float]:
        if not clips:
            return []
        groups = [list(range(len(clips)))] if self.batch_verifier else [[i] for i in range(len(clips))]
        scores: list[float] = [0.0] * len(clips)
        for group in groups:
            for index, score in zip(
                group, self._verify_batch([clips[i] for i in group], text, [bounds[i] for i in group])
            ):
                scores[index] = score
        return scores

    def _verify_batch(self, clips, text, bounds) -> list[float]:
        ids = self.model.token_ids
        rendered = self.processor.render(prompts.video_message(text))
        batch = self.processor([rendered] * len(clips), [c.frames for c in clips], padding_side="left")
        merge = self.processor.vision.merge_size**2
        rows = []
        for row, mask, grid, bound in zip(
            batch["input_ids"], batch["attention_mask"], batch["video_grid_thw"], bounds
        ):
            t, h, w = (int(x) for x in grid)
            tokens = row[mask.bool()].tolist()
            rows.append(
                insert_segment_tokens(
                    tokens, ids.vision_start, t, h * w // merge, bound, ids.seg_start, ids.seg_end
                )
            )
        padded = self.processor.pad(rows, padding_side="left")
        padded.update(
            pixel_values_videos=batch["pixel_values_videos"], video_grid_thw=batch["video_grid_thw"]
        )
        features = self._video_features(clips, padded)
        with use_role(self.model, Role.VERIFIER):
            logits, _ = self.model.last_logits(padded, video_embeds=features)
        probs = logits.softmax(dim=-1)
        return torch.sigmoid(probs[:, self.yes_id] - probs[:, self.no_id]).tolist()


def _decoding(settings: GenerationSettings) -> dict:
    generator = torch.Generator().manual_seed(settings.seed) if settings.seed is not None else None
    return dict(max_new_tokens=settings.max_new_tokens, temperature=settings.temperature, top_p=settings.top_p,
                generator=generator)  # fmt: skip
