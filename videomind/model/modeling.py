"""VideoMind on a Qwen-VL base: with ``bases.py`` beside it, the only code that knows the base's internals.

``VideoMindModel`` holds one (optionally PEFT-wrapped) base (``Qwen2VLForConditionalGeneration``, or a Qwen2.5-VL /
Qwen3-VL one: its ``bases`` family says what differs) and the grounder's timestamp decoder. Rather than relying on ``generate`` and on hooks that store per-call state on the model (as the
official code does), it drives the pieces directly:

- ``encode_video``: the vision tower (no LoRA there, so its output can be shared by every role);
- ``rope_index``: M-RoPE positions; for Qwen2-VL ``official_rope_index``, the transformers 4.45.2 slot semantics the
  released weights were trained with (REFERENCE.md s.4.3 and oracle README s.7 item 1);
- ``run_text``: the decoder, returning the final-norm output and the pre-final-norm states the head needs;
- ``generate``: a greedy / sampling loop with a KV cache that records the grounder's query states when the argmax
  of a decode step is ``<|reg|>`` (never at the prefill, as in the official code);
- ``ground_from_states`` / ``ground_teacher_forced``: timestamp decoding from captured states;
- ``forward``: the training loss (LM cross-entropy + timestamp-decoder losses).

Everything computed for one call is returned, never stored on the module, so one model serves several agents.
"""

from __future__ import annotations

import contextlib
import functools
import inspect
import logging
import threading
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field

import torch
import torch.nn.functional as F
from torch import nn
from transformers import DynamicCache

from videomind.model.bases import family_of
from videomind.model.config import VideoMindConfig
from videomind.model.grounding_head import TimestampDecoder
from videomind.model.patch_projection import use_matmul_patch_projection
from videomind.model.rope_index import TokenIds

log = logging.getLogger(__name__)

IGNORE_INDEX = -100
DEFAULT_MAX_NEW_TOKENS = 256


@dataclass
class TextOutput:
    hidden: torch.Tensor  # after the final norm, (B, L, H)
    prenorm: torch.Tensor  # input of the final norm, (B, L, H)
    cache: DynamicCache | None


@dataclass
class Generation:
    """Result of ``VideoMindModel.generate`` for one prompt."""

    token_ids: list[int]
    stopped_on_eos: bool
    query_states: list[torch.Tensor] = field(
        default_factory=list
    )  # (H,) pre-norm states that predicted <|reg|>
    prefill_prenorm: torch.Tensor | None = None  # (L, H)
    step_logits: list[torch.Tensor] | None = None  # raw last-position logits per step (step 0 = prefill)


@dataclass
class GroundingResult:
    """Decoded moments of one ``<|reg|>`` query: normalised rows [start, end, score] after NMS."""

    spans_norm: torch.Tensor  # (K, 3), best first; suppressed rows have score 0
    saliency: torch.Tensor  # (num_points,) sigmoid class scores, levels concatenated
    num_steps: int  # T, temporal tokens of the video


@functools.cache
def _cache_argument_of(forward) -> str:
    parameters = inspect.signature(forward).parameters  # follows the deprecation decorators' __wrapped__
    return "cache" if "cache" in parameters else "past_key_values"


def cache_argument(text_model: nn.Module) -> str:
    """The decoder's name for the KV cache argument: ``cache`` since transformers renamed it (5.x deprecates
    ``past_key_values`` for removal in 5.40.0, ``deprecate_kwarg`` on ``Qwen2VLTextModel.forward``), else the
    older ``past_key_values``. Passing the current name keeps the FutureWarning off users' terminals and keeps us
    working after the removal."""
    return _cache_argument_of(type(text_model).forward)


@contextlib.contextmanager
def capture_prenorm(norm: nn.Module) -> Iterator[list[torch.Tensor]]:
    """Record the inputs of the decoder's final norm during the ``with`` block (hook removed afterwards)."""
    captured: list[torch.Tensor] = []
    handle = norm.register_forward_pre_hook(lambda _module, args: captured.append(args[0]))
    try:
        yield captured
    finally:
        handle.remove()


class VideoMindModel(nn.Module):
    """One Qwen2-VL base (with the roles' LoRA adapters when PEFT-wrapped) plus the grounder's timestamp decoder."""

    def __init__(
        self,
        lm: nn.Module,
        config: VideoMindConfig,
        token_ids: TokenIds,
        grounding_head: TimestampDecoder | None = None,
    ) -> None:
        super().__init__()
        self.lm = lm
        self.config = config
        self.token_ids = token_ids
        self.grounding_head = grounding_head
        self.lock = threading.RLock()  # one call at a time per model object (role switching is model state)
        use_matmul_patch_projection(lm)  # same weights and state dict, a matrix product instead of a Conv3d

    # A lock cannot be copied or pickled: copies and unpickled models get a fresh one (copy.deepcopy and pickle
    # both go through __getstate__ / __setstate__ of nn.Module).
    def __getstate__(self) -> dict:
        state = super().__getstate__()
        state.pop("lock", None)
        return state

    def __setstate__(self, state: dict) -> None:
        super().__setstate__(state)
        self.lock = threading.RLock()

    # ------------------------------------------------------------------ structure
    @property
    def base(self) -> nn.Module:
        """The underlying transformers model (unwrapped from PEFT)."""
        lm = self.lm
        return lm.get_base_model() if hasattr(lm, "get_base_model") else lm

    @property
    def qwen_config(self):
        return self.base.config

    @property
    def family(self):
        """What differs between base families (``videomind.model.bases``), chosen from the config's model_type."""
        return family_of(self.qwen_config.model_type)

    @property
    def text_model(self) -> nn.Module:
        return self.base.model.language_model

    @property
    def visual(self) -> nn.Module:
        return self.base.model.visual

    @property
    def device(self) -> torch.device:
        return self.base.get_input_embeddings().weight.device

    @property
    def dtype(self) -> torch.dtype:
        return self.visual.patch_embed.proj.weight.dtype

    @property
    def spatial_merge_size(self) -> int:
        return self.qwen_config.vision_config.spatial_merge_size

    # ------------------------------------------------------------------ pieces
    def encode_video(self, pixel_values_videos: torch.Tensor, video_grid_thw: torch.Tensor) -> torch.Tensor:
        """Vision-tower features of all videos of a batch (no LoRA is involved): ``(num_video_tokens, H)``, or
        ``(num_video_tokens, 1 + levels, H)`` when the base also feeds DeepStack levels to the decoder (Qwen3-VL)."""
        pixel_values_videos = pixel_values_videos.to(self.visual.device, self.dtype)
        return self.family.encode_video(self.base, pixel_values_videos, video_grid_thw.to(self.visual.device))

    def embed(self, input_ids: torch.Tensor, video_embeds: torch.Tensor | None = None) -> torch.Tensor:
        """Token embeddings of the active role (its own ``embed_tokens`` copy if it has one) with video features."""
        embeds = self.base.get_input_embeddings()(input_ids.to(self.device))
        if video_embeds is not None:
            video_embeds = self.family.split_features(video_embeds)[0]
            mask = (input_ids == self.token_ids.video_pad).to(embeds.device)
            if int(mask.sum()) != video_embeds.shape[0]:
                raise ValueError(
                    f"{int(mask.sum())} <|video_pad|> tokens but {video_embeds.shape[0]} video features were given"
                )
            embeds = embeds.masked_scatter(mask.unsqueeze(-1), video_embeds.to(embeds.device, embeds.dtype))
        return embeds

    def rope_index(
        self,
        input_ids: torch.Tensor,
        attention_mask: torch.Tensor | None,
        video_grid_thw: torch.Tensor | None,
        second_per_grid_ts: torch.Tensor | None = None,
    ) -> tuple[torch.Tensor, torch.Tensor]:
        """M-RoPE positions ``(3, B, L)`` and deltas ``(B, 1)`` of the base's family; ``second_per_grid_ts``
        (seconds per temporal step of each video, from the processor) matters for Qwen2.5-VL only."""
        return self.family.rope_index(
            self.qwen_config, input_ids, attention_mask, video_grid_thw, self.token_ids, second_per_grid_ts
        )

    def video_inputs(self, input_ids: torch.Tensor, video_embeds: torch.Tensor | None) -> dict:
        """Extra decoder inputs of a prompt holding videos (Qwen3-VL's DeepStack features and their positions)."""
        return self.family.decoder_inputs(input_ids.to(self.device), video_embeds, self.token_ids)

    def run_text(
        self,
        inputs_embeds: torch.Tensor,
        position_ids: torch.Tensor,
        attention_mask: torch.Tensor | None = None,
        cache: DynamicCache | None = None,
        **video_inputs,
    ) -> TextOutput:
        """Run the decoder; returns normed hidden states, pre-norm states and the (updated) KV cache.
        ``video_inputs``: what ``video_inputs`` returns for the prompt (prefill only)."""
        text = self.text_model
        with capture_prenorm(text.norm) as captured:
            out = text(
                inputs_embeds=inputs_embeds,
                position_ids=position_ids.to(inputs_embeds.device),
                attention_mask=None if attention_mask is None else attention_mask.to(inputs_embeds.device),
                use_cache=cache is not None,
                **{cache_argument(text): cache},
                **video_inputs,
            )
        return TextOutput(out.last_hidden_state, captured[-1], cache)

    def logits(self, hidden: torch.Tensor) -> torch.Tensor:
        """Output projection of the active role (its own ``lm_head`` copy if it has one)."""
        head = self.base.get_output_embeddings()
        return head(hidden.to(head.weight.device))

    def text_pass(
        self,
        input_ids: torch.Tensor,
        attention_mask: torch.Tensor | None = None,
        pixel_values_videos: torch.Tensor | None = None,
        video_grid_thw: torch.Tensor | None = None,
        second_per_grid_ts: torch.Tensor | None = None,
        video_embeds: torch.Tensor | None = None,
    ) -> TextOutput:
        """One pass of a batch's text with its videos (encoded here unless ``video_embeds`` is given): token and
        video embeddings, M-RoPE positions, the language model. Training, scoring and inference share it."""
        if video_embeds is None and pixel_values_videos is not None:
            video_embeds = self.encode_video(pixel_values_videos, video_grid_thw)
        embeds = self.embed(input_ids, video_embeds)
        if self.training and not embeds.requires_grad:
            embeds.requires_grad_(True)  # lets gradient checkpointing work with frozen embeddings
        position_ids, _ = self.rope_index(input_ids, attention_mask, video_grid_thw, second_per_grid_ts)
        return self.run_text(
            embeds, position_ids, attention_mask, **self.video_inputs(input_ids, video_embeds)
        )

    # ------------------------------------------------------------------ inference
    @torch.no_grad()
    def last_logits(
        self, batch: dict[str, torch.Tensor], video_embeds: torch.Tensor | None = None
    ) -> tuple[torch.Tensor, TextOutput]:
        """One plain forward; the raw logits of the last position of every (left-padded) row, ``(B, V)``."""
        out = self.text_pass(
            batch["input_ids"],
            batch.get("attention_mask"),
            batch.get("pixel_values_videos"),
            batch.get("video_grid_thw"),
            batch.get("second_per_grid_ts"),
            video_embeds,
        )
        return self.logits(out.hidden[:, -1]).float(), out

    @torch.no_grad()
    def generate(
        self,
        batch: dict[str, torch.Tensor],
        video_embeds: torch.Tensor | None = None,
        max_new_tokens: int = DEFAULT_MAX_NEW_TOKENS,
        stop_ids: Sequence[int] | None = None,
        record_logits: bool = False,
        capture_reg: bool = False,
        temperature: float = 0.0,
        top_p: float = 1.0,
        generator: torch.Generator | None = None,
        forced_ids: Sequence[int] | None = None,
    ) -> Generation:
        """Decode one prompt (batch of 1). Greedy unless ``temperature > 0`` (then top-p sampling).

        ``forced_ids`` scripts the emitted tokens (step k emits ``forced_ids[k]``) while logits and triggers are still
        computed from the model: the oracle's way of making a random model produce a grounder answer.

        With ``capture_reg`` the pre-norm state of every decode step whose argmax is ``<|reg|>`` is kept as a
        grounding query (the official trigger: argmax even when sampling, never on the prefill step).
        """
        input_ids = batch["input_ids"]
        if input_ids.shape[0] != 1:
            raise ValueError("generate() decodes one prompt at a time")
        stop = set(self.token_ids.eos if stop_ids is None else stop_ids)
        if video_embeds is None and batch.get("pixel_values_videos") is not None:
            video_embeds = self.encode_video(batch["pixel_values_videos"], batch["video_grid_thw"])
        position_ids, deltas = self.rope_index(
            input_ids,
            batch.get("attention_mask"),
            batch.get("video_grid_thw"),
            batch.get("second_per_grid_ts"),
        )
        cache = DynamicCache(config=self.text_model.config)
        out = self.run_text(
            self.embed(input_ids, video_embeds),
            position_ids,
            batch.get("attention_mask"),
            cache,
            **self.video_inputs(input_ids, video_embeds),
        )
        result = Generation(
            [], False, prefill_prenorm=out.prenorm[0], step_logits=[] if record_logits else None
        )
        length = input_ids.shape[1]
        for step in range(max_new_tokens):
            logits = self.logits(out.hidden[:, -1]).float()[0]
            if record_logits:
                result.step_logits.append(logits)
            greedy = int(logits.argmax())
            forced = forced_ids is not None and step < len(forced_ids)
            if forced:  # as if the logits were forced: the scripted token is also the argmax
                greedy = token = int(forced_ids[step])
            else:
                token = greedy if temperature <= 0 else _sample(logits, temperature, top_p, generator)
            if capture_reg and step > 0 and greedy == self.token_ids.reg:
                result.query_states.append(out.prenorm[0, -1])
            result.token_ids.append(token)
            if token in stop:
                result.stopped_on_eos = True
                break
            if step + 1 == max_new_tokens:
                break
            step_ids = torch.tensor([[token]], device=self.device)
            pos = (torch.tensor([[length]], device=self.device) + deltas.to(self.device)).expand(3, 1, 1)
            length += 1
            out = self.run_text(
                self.embed(step_ids), pos, torch.ones(1, length, dtype=torch.long, device=self.device), cache
            )
        return result

    @torch.no_grad()
    def ground_from_states(
        self,
        input_ids: torch.Tensor,
        video_grid_thw: torch.Tensor,
        prefill_prenorm: torch.Tensor,
        query_states: Sequence[torch.Tensor],
    ) -> list[GroundingResult]:
        """Timestamp decoding for one prompt: its visual pre-norm states + one query state per ``<|reg|>``."""
        if self.grounding_head is None:
            raise RuntimeError("this model has no grounding head (the checkpoint has no grounder)")
        if not query_states:
            return []
        frames, num_steps = self._frame_states(input_ids[0], video_grid_thw[0], prefill_prenorm)
        head = self.grounding_head
        queries = torch.stack(list(query_states)).to(frames.device, frames.dtype)
        outputs = head(frames.unsqueeze(0).expand(len(queries), -1, -1), queries)
        return [GroundingResult(d.spans, d.saliency, num_steps) for d in head.decode(outputs)]

    def _frame_states(
        self, input_ids: torch.Tensor, grid_thw: torch.Tensor, prenorm: torch.Tensor
    ) -> tuple[torch.Tensor, int]:
        """The head's input: the states of the video's frame tokens only (``frame_positions``), pooled per step."""
        positions = self.frame_positions(input_ids, grid_thw)
        visual = prenorm[positions.flatten().to(prenorm.device)]
        return self.grounding_head.pool_frames(visual, positions.shape[1]), positions.shape[0]

    def frame_positions(self, input_ids: torch.Tensor, grid_thw: torch.Tensor) -> torch.Tensor:
        """Indices ``(T, tokens per step)`` of the first video's frame tokens in a 1-D row of ids: what "the video's
        states" are for the grounding head (Qwen3-VL's timestamp text between the steps is not part of them)."""
        return self.family.frame_positions(input_ids, grid_thw, self.token_ids, self.spatial_merge_size)

    @torch.no_grad()
    def ground_teacher_forced(
        self,
        batch: dict[str, torch.Tensor],
        response_ids: Sequence[int],
        video_embeds: torch.Tensor | None = None,
    ) -> list[GroundingResult]:
        """Ground with the response given instead of generated: ``response_ids`` are the answer tokens up to (not
        including) ``<|reg|>``; the query state is the pre-norm state of the last of them. One forward over
        prompt + response computes the same states generation computes when it emits ``<|reg|>``.
        """
        if not response_ids:
            raise ValueError("response_ids must hold the tokens before <|reg|> (at least one)")
        extra = torch.tensor([list(response_ids)], dtype=batch["input_ids"].dtype)
        input_ids = torch.cat([batch["input_ids"], extra], dim=1)
        full = dict(batch, input_ids=input_ids, attention_mask=torch.ones_like(input_ids))
        _, out = self.last_logits(full, video_embeds)
        return self.ground_from_states(
            input_ids, batch["video_grid_thw"], out.prenorm[0], [out.prenorm[0, -1]]
        )

    # ------------------------------------------------------------------ training
    def forward(
        self,
        input_ids: torch.Tensor,
        attention_mask: torch.Tensor | None = None,
        labels: torch.Tensor | None = None,
        pixel_values_videos: torch.Tensor | None = None,
        video_grid_thw: torch.Tensor | None = None,
        timestamps: list | None = None,
        saliency: list | None = None,
        pos_clip: list | None = None,
        second_per_grid_ts: torch.Tensor | None = None,
        label_weights: torch.Tensor | None = None,
        **_unused,
    ) -> dict[str, torch.Tensor]:
        """Training / scoring forward. Returns ``loss`` (LM + head), ``loss_lm`` and the head's weighted losses.

        Logits are computed only at supervised positions (the loss is identical to the full-vocabulary
        cross-entropy over all positions, for a fraction of the memory). ``label_weights`` (same shape as
        ``labels``): the LM loss is then the weighted mean over the supervised tokens.
        """
        out = self.text_pass(
            input_ids, attention_mask, pixel_values_videos, video_grid_thw, second_per_grid_ts
        )
        losses: dict[str, torch.Tensor] = {}
        if labels is not None:
            losses["loss_lm"] = self._lm_loss(out.hidden, labels.to(out.hidden.device), label_weights)
        if timestamps is not None and self.grounding_head is not None and labels is not None:
            losses.update(
                self._head_loss(
                    input_ids, labels, video_grid_thw, out.prenorm, timestamps, saliency, pos_clip
                )
            )
        if losses:
            losses["loss"] = sum(losses.values())
        return losses

    def _lm_loss(
        self, hidden: torch.Tensor, labels: torch.Tensor, weights: torch.Tensor | None = None
    ) -> torch.Tensor:
        targets = labels[:, 1:]
        keep = targets != IGNORE_INDEX
        if not bool(keep.any()):
            return hidden.sum() * 0.0
        logits = self.logits(hidden[:, :-1][keep]).float()
        if weights is None:
            return F.cross_entropy(logits, targets[keep].to(logits.device))
        kept = weights[:, 1:].to(logits.device)[keep].float()
        losses = F.cross_entropy(logits, targets[keep].to(logits.device), reduction="none")
        return (losses * kept).sum() / kept.sum()

    def _head_loss(self, input_ids, labels, video_grid_thw, prenorm, timestamps, saliency, pos_clip):
        head = self.grounding_head
        frames, queries, owners, lengths = [], [], [], []
        grid_rows = first_grid_rows(
            input_ids, video_grid_thw, self.token_ids.video_pad, self.spatial_merge_size
        )
        for b in range(input_ids.shape[0]):
            reg_positions = (labels[b, 1:] == self.token_ids.reg).nonzero().flatten().tolist()
            if not reg_positions:
                continue
            if grid_rows[b] is None:
                raise ValueError(f"batch row {b} has a <|reg|> target but no video")
            states, num_steps = self._frame_states(input_ids[b], video_grid_thw[grid_rows[b]], prenorm[b])
            for position in reg_positions:
                frames.append(states)
                queries.append(prenorm[b, position])
                owners.append(b)
                lengths.append(num_steps)
        if not queries:
            return {}
        outputs = head(frames, torch.stack(queries))
        rows = list(range(len(owners)))
        per_query = [timestamps[owners[i]][_nth_reg(owners, i)] for i in rows]
        return head.loss(
            outputs,
            per_query,
            [saliency[owners[i]] for i in rows],
            [pos_clip[owners[i]] for i in rows],
            group=owners,
        )


def first_grid_rows(
    input_ids: torch.Tensor, video_grid_thw: torch.Tensor | None, video_pad: int, merge: int
) -> list[int | None]:
    """Per batch row, the index of its first video's row in ``video_grid_thw`` (None for a row without a video).

    The collator concatenates the grids of the rows that have videos only, in batch order, so indexing the grids by
    batch row misaligns every row after a text-only one. A row's videos are found by their frame tokens: each grid
    row ``(t, h, w)`` holds ``t*h*w / merge**2`` of them, whatever the family writes around them."""
    sizes = [
        t * h * w // merge**2 for t, h, w in (video_grid_thw.tolist() if video_grid_thw is not None else [])
    ]
    rows: list[int | None] = []
    used = 0
    for b, count in enumerate((input_ids == video_pad).sum(dim=1).tolist()):
        rows.append(used if count else None)
        taken = 0
        while taken < count and used < len(sizes):
            taken, used = taken + sizes[used], used + 1
        if taken != count:
            raise ValueError(f"batch row {b} has {count} video tokens, which its grid rows do not add up to")
    return rows


def _nth_reg(owners: list[int], index: int) -> int:
    """Which ``<|reg|>`` of its sample the query at ``index`` is (samples may hold several)."""
    return owners[:index].count(owners[index])


def _sample(logits: torch.Tensor, temperature: float, top_p: float, generator: torch.Generator | None) -> int:
    probs = torch.softmax(logits / temperature, dim=-1)
    if top_p < 1.0:
        sorted_probs, order = probs.sort(descending=True)
        keep = sorted_probs.cumsum(0) - sorted_probs < top_p
        probs = torch.zeros_like(probs).scatter(0, order[keep], sorted_probs[keep])
    if generator is not None and generator.device != probs.device:
        # torch.multinomial refuses a generator of another device (a CPU one with CUDA probabilities): draw where
        # the generator lives, so a seed gives the same tokens whichever device holds the model
        probs = probs.to(generator.device)
    return int(torch.multinomial(probs / probs.sum(), 1, generator=generator))
