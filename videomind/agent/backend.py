"""What the agent needs from a model, one method per role call, and its implementation on ``VideoMindModel``.

The agent's control flow (routing, fallbacks, rounding, zoom-in, re-ranking) lives in ``agent.py`` and talks only
to a ``Backend``; tests drive it with a scripted fake backend, and ``ModelBackend`` runs the real model.

Thread safety: a query opens its own ``session`` (its mode and its vision-feature cache live there, never on the
shared backend), and every model call holds the model's lock (role switching, the tokenizer and the KV cache are
not safe to share), so threads running queries on one agent each get the result they would get alone.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Protocol

import torch

from videomind import prompts
from videomind.agent.options import GenerationSettings
from videomind.model.adapters import roles_of, use_role
from videomind.records import Role

if TYPE_CHECKING:  # pragma: no cover
    from videomind.model.modeling import VideoMindModel
    from videomind.model.processor import VideoMindProcessor


@dataclass(frozen=True)
class ClipInput:
    """One role's view of the video and a key naming exactly these frames (same key = same frames at the same
    size, so vision features can be shared).

    Either ``frames``, uint8 ``(N, 3, H, W)``, or (the fast agent) a ``stream`` of consecutive pieces of them,
    read once, with ``num_frames`` and ``size`` known in advance; see ``ClipInput.streamed``. ``timestamps``: the
    frames' seconds in the video (newer bases see the time: Qwen2.5-VL in its positions, Qwen3-VL as text).
    """

    frames: torch.Tensor | None
    key: tuple
    stream: Iterable[torch.Tensor] | None = None
    num_frames: int = 0
    size: tuple[int, int] = (0, 0)
    timestamps: tuple[float, ...] | None = None

    def __post_init__(self) -> None:
        if (self.frames is None) == (self.stream is None):
            raise ValueError("a ClipInput holds either frames or a stream of them")

    @classmethod
    def streamed(
        cls, stream: Iterable[torch.Tensor], key: tuple, num_frames: int, size: tuple[int, int],
        timestamps: tuple[float, ...] | None = None,
    ) -> ClipInput:  # fmt: skip
        return cls(None, key, stream, num_frames, size, timestamps)


@dataclass(frozen=True)
class GroundOutput:
    response: str
    rows_norm: (
        list[list[float]] | None
    )  # [start, end, score] normalised to the video, best first; None = no <|reg|>


# Patches per vision-tower call for streamed clips. Medium bench, 64 grounder frames (240 patches per frame pair) /
# 32 answerer frames (1,008 per pair), seconds by frames per call:
#   one CPU thread:  grounder 4-16 frames 2.63-2.69, 32 frames 3.00;  answerer 2 frames 6.82, 4 6.89, 32 7.73
#   two threads:     grounder 8 frames 1.42, 16 1.52, 32 1.71;        answerer 2 frames 3.60, 4 3.69, 32 4.06
# About 1,000 patches per call is at or near the best of every case.
VISION_PATCHES_PER_CALL = 1024


class Session(Protocol):
    """One query's access to the model: one method per role call."""

    def has_role(self, role: str) -> bool: ...

    def generate(
        self, role: str, clip: ClipInput, text: str, prefix: str, settings: GenerationSettings
    ) -> str: ...

    def ground(self, clip: ClipInput, text: str, settings: GenerationSettings) -> GroundOutput: ...

    def verify(
        self, clips: Sequence[ClipInput], text: str, bounds: Sequence[tuple[float, float]]
    ) -> list[float]: ...


class Backend(Protocol):
    def has_role(self, role: str) -> bool: ...

    def session(self, fast: bool) -> Session:
        """A new session for one query: ``fast`` shares vision features across its roles (and batches the
        verifier where that pays); whatever it keeps is dropped with it."""
        ...


@dataclass
class QueryState:
    """What one query keeps while it runs: its mode and the vision features of its clips by key."""

    share_features: bool
    batch_verifier: bool
    features: dict[tuple, torch.Tensor] = field(default_factory=dict)


class BackendSession:
    """``ModelBackend``'s role calls bound to one query's ``QueryState`` (see ``ModelBackend.session``)."""

    def __init__(self, backend: ModelBackend, state: QueryState) -> None:
        self.backend = backend
        self.state = state

    def has_role(self, role: str) -> bool:
        return self.backend.has_role(role)

    def generate(
        self, role: str, clip: ClipInput, text: str, prefix: str, settings: GenerationSettings
    ) -> str:
        return self.backend.generate(role, clip, text, prefix, settings, state=self.state)

    def ground(self, clip: ClipInput, text: str, settings: GenerationSettings) -> GroundOutput:
        return self.backend.ground(clip, text, settings, state=self.state)

    def verify(
        self, clips: Sequence[ClipInput], text: str, bounds: Sequence[tuple[float, float]]
    ) -> list[float]:
        return self.backend.verify(clips, text, bounds, state=self.state)


class ModelBackend:
    """Runs the roles on a ``VideoMindModel``.

    ``share_features`` keeps vision-tower outputs per frame key for the current query (the vision tower carries no
    LoRA, so every role may reuse them); ``batch_verifier`` scores all candidates in one left-padded forward. The
    agent gives every query its own ``session``; calling the role methods here directly uses one shared state
    (these two settings and a feature cache that ``reset`` empties), for one caller at a time.
    Streamed clips go through the vision tower piece by piece as their frames arrive, ``vision_patches_per_call``
    patches at a time (at least one frame pair): the tower attends within each frame pair only, so the features
    are the same as in one call (bit-identical in our tests and benches), and on a CPU small calls are faster.
    """

    def __init__(self, model: VideoMindModel, processor: VideoMindProcessor, share_features: bool = True,
                 batch_verifier: bool = True, vision_patches_per_call: int = VISION_PATCHES_PER_CALL) -> None:  # fmt: skip
        self.model = model
        self.processor = processor
        self.vision_patches_per_call = vision_patches_per_call
        self.yes_id = processor.token_id("Yes")
        self.no_id = processor.token_id("No")
        self._direct = QueryState(share_features, batch_verifier)
        self.vision_calls = 0  # how many times the vision tower ran (for tests and benchmarks)

    def has_role(self, role: str) -> bool:
        if role == Role.ANSWERER.value:
            return True
        if role == Role.GROUNDER.value and self.model.grounding_head is None:
            return False
        return role in roles_of(self.model)

    @property
    def device(self) -> torch.device:
        return self.model.device

    @property
    def frame_factor(self) -> int:
        """Frame sides must be multiples of this for the model's processor (the agent sizes its frames so)."""
        return self.processor.vision.factor

    @property
    def share_features(self) -> bool:
        return self._direct.share_features

    @property
    def batch_verifier(self) -> bool:
        return self._direct.batch_verifier

    def query_state(self, fast: bool) -> QueryState:
        """``fast``: share vision features across roles and batch the verifier (on accelerators: on a CPU the
        batched pass is 10-20 % slower than one pass per candidate, docs/PERFORMANCE.md); else the plain
        official order."""
        return QueryState(share_features=fast, batch_verifier=fast and self.device.type != "cpu")

    def session(self, fast: bool) -> BackendSession:
        """A session for one query, with its own mode and feature cache (see the module docstring)."""
        return BackendSession(self, self.query_state(fast))

    def reset(self) -> None:
        """Forget the features kept by direct calls (sessions keep their own)."""
        self._direct.features.clear()

    def set_mode(self, fast: bool) -> None:
        """The mode of direct calls, as ``query_state``."""
        self._direct = self.query_state(fast)

    # ------------------------------------------------------------------ pieces
    def _batch(self, text: str, clip: ClipInput, prefix: str = "") -> dict[str, torch.Tensor]:
        rendered = self.processor.render(prompts.video_message(text)) + prefix
        return self.processor([rendered], **self._videos([clip]))

    def _videos(self, clips: Sequence[ClipInput]) -> dict[str, list]:
        """The processor's video arguments: frames, or the grids of streamed clips (encoded piece by piece), and
        the frames' times."""
        times = [c.timestamps for c in clips]
        if all(c.stream is None for c in clips):
            return {"videos": [c.frames for c in clips], "timestamps": times}
        if any(c.stream is None for c in clips):
            raise ValueError("a batch mixes streamed and whole clips")
        return {"grids": [self.processor.grid_of(c.num_frames, *c.size) for c in clips], "timestamps": times}

    def _video_features(
        self, state: QueryState, clips: Sequence[ClipInput], batch: dict[str, torch.Tensor]
    ) -> torch.Tensor:
        keys = [c.key for c in clips]
        if state.share_features and all(k in state.features for k in keys):
            return torch.cat([state.features[k] for k in keys])
        if clips[0].stream is not None:
            return torch.cat([self._streamed_features(state, c) for c in clips])
        self.vision_calls += 1
        features = self.model.encode_video(batch["pixel_values_videos"], batch["video_grid_thw"])
        if state.share_features:
            sizes = [self.processor.tokens_per_video(g) for g in batch["video_grid_thw"]]
            for key, part in zip(keys, features.split(sizes)):
                state.features[key] = part
        return features

    def _streamed_features(self, state: QueryState, clip: ClipInput) -> torch.Tensor:
        """Features of a streamed clip, one vision-tower call per piece; kept for the query (a stream is read
        once, so a second role with the same frames must find them here)."""
        cached = state.features.get(clip.key)
        if cached is not None:
            return cached
        self.vision_calls += 1
        per_call = self._frames_per_call(clip.size)
        parts = []
        for piece in clip.stream:
            for frames in piece.split(per_call):
                pixel_values, grid = self.processor.patchify(frames)
                parts.append(self.model.encode_video(pixel_values, grid))
        features = state.features[clip.key] = torch.cat(parts)
        return features

    def _frames_per_call(self, size: tuple[int, int]) -> int:
        """Whole frame pairs holding about ``vision_patches_per_call`` patches (at least one pair)."""
        vision = self.processor.vision
        per_pair = (size[0] // vision.patch_size) * (size[1] // vision.patch_size)
        return max(1, self.vision_patches_per_call // per_pair) * vision.temporal_patch_size

    def _decode(self, ids: list[int]) -> str:
        if ids and ids[-1] in self.model.token_ids.eos:
            ids = ids[:-1]
        return self.processor.decode(ids)

    # ------------------------------------------------------------------ roles
    # Each role call holds the model's lock from the prompt to the decoded text: the tokenizer, the active role and
    # the vision tower are used by one caller at a time; frames keep decoding in the feeders meanwhile.
    def generate(
        self, role: str, clip: ClipInput, text: str, prefix: str, settings: GenerationSettings,
        state: QueryState | None = None,
    ) -> str:  # fmt: skip
        with self.model.lock:
            batch = self._batch(text, clip, prefix)
            features = self._video_features(state or self._direct, [clip], batch)
            with use_role(self.model, role):
                out = self.model.generate(batch, video_embeds=features, **_decoding(settings, self.device))
            return self._decode(out.token_ids)

    def ground(
        self, clip: ClipInput, text: str, settings: GenerationSettings, state: QueryState | None = None
    ) -> GroundOutput:
        with self.model.lock:
            batch = self._batch(text, clip)
            features = self._video_features(state or self._direct, [clip], batch)
            with use_role(self.model, Role.GROUNDER):
                out = self.model.generate(
                    batch, video_embeds=features, capture_reg=True, **_decoding(settings, self.device)
                )
                results = self.model.ground_from_states(
                    batch["input_ids"], batch["video_grid_thw"], out.prefill_prenorm, out.query_states[:1]
                )
            rows = results[0].spans_norm.float().tolist() if results else None
            return GroundOutput(self._decode(out.token_ids), rows)

    def verify(
        self, clips: Sequence[ClipInput], text: str, bounds: Sequence[tuple[float, float]],
        state: QueryState | None = None,
    ) -> list[float]:  # fmt: skip
        state = state or self._direct
        if not clips:
            return []
        groups = [list(range(len(clips)))] if state.batch_verifier else [[i] for i in range(len(clips))]
        scores: list[float] = [0.0] * len(clips)
        for group in groups:
            with self.model.lock:
                batch = self._verify_batch(state, [clips[i] for i in group], text, [bounds[i] for i in group])
            for index, score in zip(group, batch):
                scores[index] = score
        return scores

    def _verify_batch(self, state: QueryState, clips, text, bounds) -> list[float]:
        rendered = self.processor.render(prompts.video_message(text))
        batch = self.processor(
            [rendered] * len(clips), padding_side="left", segments=list(bounds), **self._videos(clips)
        )
        features = self._video_features(state, clips, batch)
        with use_role(self.model, Role.VERIFIER):
            logits, _ = self.model.last_logits(batch, video_embeds=features)
        probs = logits.softmax(dim=-1)
        return torch.sigmoid(probs[:, self.yes_id] - probs[:, self.no_id]).tolist()


def _decoding(settings: GenerationSettings, device: torch.device) -> dict:
    """Keyword arguments of ``VideoMindModel.generate``; a seed gives a generator on the model's device (where the
    sampling probabilities are)."""
    generator = None
    if settings.seed is not None:
        generator = torch.Generator(device=device).manual_seed(settings.seed)
    return dict(max_new_tokens=settings.max_new_tokens, temperature=settings.temperature, top_p=settings.top_p,
                generator=generator)  # fmt: skip
