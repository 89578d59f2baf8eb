"""The grounder's timestamp decoder: pooled frame states + a ``<|reg|>`` query state -> ranked moments.

What it computes (REFERENCE.md s.3; docs/GROUNDING_HEAD.md has the long version; layers in ``head_layers.py``):

1. ``pool_frames``: the LLM's pre-final-norm states of the T*W visual tokens -> one vector per temporal token.
2. ``fuse``: LayerNorm+Linear projections to D=256, modality embeddings, a normalised sine position code on
   the video tokens, three pre-norm transformer layers over [video tokens; query token], a shared final
   LayerNorm. Training mode keeps every layer's output (deep supervision, K=3 rows), eval mode the last (K=1).
3. ``predict``: a temporal conv pyramid (strides 1/2/4/8, each level computed from the video tokens), shared
   class / boundary conv heads, per-level scales; points ``[position, reg_lo, reg_hi, stride]``.
4. ``decode``: rows ``[start_norm, end_norm, score]`` sorted, NMS 0.75, top 100; ``loss``: focal + L1 + NCE.

Batches: ``forward`` takes several queries at once (each with its own video length) and keeps no per-call
state, so several callers can share one head. Padded positions are masked in attention and zeroed afterwards,
and every sample's pyramid is cut at its own length, so each sample gets the result it would get alone.
Parameter names match the official checkpoint's (``vis_proj.0.weight``, ..., ``coef.scale``); nothing else is
in the state dict.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass

import torch
import torch.nn.functional as F
from torch import nn

from videomind.errors import UserInputError
from videomind.model import losses
from videomind.model.head_layers import (
    ACTIVATIONS,
    ConvHead,
    ConvPyramid,
    Embedding,
    FusionLayer,
    Scale,
    positional_encoding,
)
from videomind.model.point_targets import POINT_POSITION, POINT_STRIDE, assign_targets, point_table
from videomind.spans import NMS_IOU_THRESHOLD, NMS_TOP_K, temporal_nms

FRAME_POOLING_MODES = ("mean", "mean_max")


@dataclass(frozen=True)
class TimestampDecoderConfig:
    """Every number of the head. Defaults are the official values (REFERENCE.md s.3)."""

    dims: int = 256  # D, width of the fusion transformer and the pyramid
    num_fusion_layers: int = 3
    num_heads: int = 8  # attention heads (head dim 32)
    ffn_ratio: int = 4  # FFN hidden width = 4 * D
    drop_path: float = 0.1  # per-sample residual-branch drop in training
    layer_norm_eps: float = 1e-5
    activation: str = "silu"  # the LLM's hidden_act (SiLU for Qwen2-VL)
    strides: tuple[int, ...] = (1, 2, 4, 8)  # pyramid levels, in temporal tokens
    regression_ranges: tuple[tuple[float, float], ...] = ((0.0, 2.0), (2.0, 4.0), (4.0, 8.0), (8.0, math.inf))
    point_buffer: int = 1024  # the official point generator holds positions < 1024: T must not exceed it
    sample_radius: float = 1.5  # centre sampling radius, in strides
    tie_tolerance: float = 1e-3  # spans this close (tokens) to the shortest one are positives too
    nms_threshold: float = NMS_IOU_THRESHOLD  # 0.75
    top_k: int = NMS_TOP_K  # 100
    loss_cls_weight: float = 5.0
    loss_reg_weight: float = 1.0
    loss_sal_weight: float = 0.05
    focal_gamma: float = 2.0
    focal_alpha: float | None = None  # None = no alpha balancing (nncore alpha = -1)
    nce_temperature: float = 0.07
    nce_max_scale: float = 100.0
    spatial_merge_size: int = 2  # visual tokens per temporal token = grid_h * grid_w / 2**2
    min_padded_length: int = 8  # training pads the fused video tokens to this length (all levels exist)
    pe_temperature: float = 10000.0
    pe_scale: float = 2 * math.pi  # positions are normalised to (0, 2*pi]
    pe_eps: float = 1e-6
    init_std: float = 0.02  # Linear init (the Qwen2-VL initializer_range)
    frame_pooling: str = "mean"  # "mean" (official) or "mean_max" (mean + element-wise max; same shapes)

    def __post_init__(self) -> None:
        # JSON round trips turn tuples into lists and inf into "inf": normalise
        object.__setattr__(self, "strides", tuple(int(s) for s in self.strides))
        ranges = tuple((float(lo), float(hi)) for lo, hi in self.regression_ranges)
        object.__setattr__(self, "regression_ranges", ranges)
        if self.frame_pooling not in FRAME_POOLING_MODES:
            raise ValueError(
                f"frame_pooling must be one of {FRAME_POOLING_MODES}, got {self.frame_pooling!r}"
            )
        if self.activation not in ACTIVATIONS:
            raise ValueError(f"activation must be one of {sorted(ACTIVATIONS)}, got {self.activation!r}")
        if self.dims % self.num_heads:
            raise ValueError(f"dims ({self.dims}) must be divisible by num_heads ({self.num_heads})")
        if len(self.regression_ranges) != len(self.strides):
            raise ValueError("regression_ranges needs one (lo, hi) pair per stride")
        if self.strides[0] != 1 or any(s & (s - 1) or s < 1 for s in self.strides):
            raise ValueError(f"strides must be powers of two starting at 1, got {self.strides}")


@dataclass(frozen=True)
class HeadOutput:
    """Everything one forward produces. K = deep-supervision rows (3 in training, 1 in eval), B = queries."""

    class_logits: torch.Tensor  # (K, B, N) before the sigmoid, levels concatenated
    coords: torch.Tensor  # (K, B, N, 2) distances to start / end in strides (exp * level scale)
    points: torch.Tensor  # (N, 4) float32 rows [position, reg_lo, reg_hi, stride] of the batch's pyramid
    level_masks: tuple[torch.Tensor, ...]  # per level (B, L_l) bool: point sees at least one real token
    point_mask: torch.Tensor  # (B, N) bool: point belongs to this sample's own pyramid (as if run alone)
    video_emb: torch.Tensor  # (K, B, T_max, D) fused video tokens after the final norm; zero past each length
    query_emb: torch.Tensor  # (K, B, D)
    lengths: torch.Tensor  # (B,) long: T of each sample

    @property
    def valid_mask(self) -> torch.Tensor:
        """(B, N) validity of every point (the official ``pymid_msk``), levels concatenated."""
        return torch.cat(self.level_masks, dim=1)

    @property
    def level_lengths(self) -> tuple[int, ...]:
        return tuple(m.shape[1] for m in self.level_masks)


@dataclass(frozen=True)
class DecodedSpans:
    """Decoded moments of one query."""

    spans: torch.Tensor  # (min(N, top_k), 3) float32 [start_norm, end_norm, score], best first
    saliency: torch.Tensor  # (N,) float32 sigmoid class scores of all points, levels concatenated
    num_steps: int  # T, temporal tokens of the video (spans are fractions of it; may fall outside [0, 1])
    # suppressed rows stay in place with score 0, as in the official decoder


def candidate_rows(
    points: torch.Tensor, logits: torch.Tensor, coords: torch.Tensor, num_steps: int
) -> torch.Tensor:
    """Rows ``[start_norm, end_norm, score]`` of every point, in point order (before sorting and NMS)."""
    stride, position = points[:, POINT_STRIDE], points[:, POINT_POSITION]
    coords = coords.float()
    start = (-coords[:, 0] * stride + position) / num_steps
    end = (coords[:, 1] * stride + position) / num_steps
    return torch.stack((start, end, logits.float().sigmoid()), dim=1)


# ------------------------------------------------------------------------------------------------- the head
class TimestampDecoder(nn.Module):
    """The grounding head; ``hidden_size`` is the LLM's (64 for the tiny model, 1536 for 2B, 3584 for 7B)."""

    def __init__(self, hidden_size: int, config: TimestampDecoderConfig | None = None) -> None:
        super().__init__()
        self.config = config = config or TimestampDecoderConfig()
        self.hidden_size = hidden_size
        d, act = config.dims, ACTIVATIONS[config.activation]
        self.vis_proj = nn.Sequential(
            nn.LayerNorm(hidden_size, eps=config.layer_norm_eps), nn.Linear(hidden_size, d)
        )
        self.reg_proj = nn.Sequential(
            nn.LayerNorm(hidden_size, eps=config.layer_norm_eps), nn.Linear(hidden_size, d)
        )
        self.vis_norm = nn.LayerNorm(d, eps=config.layer_norm_eps)
        self.vis_fuse = nn.ModuleList(FusionLayer(config) for _ in range(config.num_fusion_layers))
        self.vis_emb = Embedding(d)
        self.reg_emb = Embedding(d)
        self.pyramid = ConvPyramid(config)
        self.class_head = ConvHead(d, 1, act)
        self.coord_head = ConvHead(d, 2, act)
        self.coef = Scale(len(config.strides))
        self.reset_parameters()

    def reset_parameters(self) -> None:
        """Fresh-training init (REFERENCE.md s.3.8): Linear N(0, 0.02) / zero bias, LayerNorm 1 / 0,
        embeddings randn / sqrt(D), level scales 1, convolutions Xavier-uniform / zero bias."""
        for module in self.modules():
            if isinstance(module, nn.Linear):
                nn.init.normal_(module.weight, std=self.config.init_std)
                nn.init.zeros_(module.bias)
            elif isinstance(module, nn.LayerNorm):
                nn.init.ones_(module.weight)
                nn.init.zeros_(module.bias)
            elif isinstance(module, nn.Conv1d):
                nn.init.xavier_uniform_(module.weight)
                nn.init.zeros_(module.bias)
        with torch.no_grad():
            for emb in (self.vis_emb, self.reg_emb):
                emb.weights.copy_(torch.randn_like(emb.weights) / math.sqrt(self.config.dims))
            self.coef.scale.fill_(1.0)

    def set_drop_path(self, p: float) -> None:
        """Change the fusion layers' DropPath probability (e.g. 0 for deterministic training-mode checks)."""
        for layer in self.vis_fuse:
            layer.drop_path.p = p

    def tokens_per_step(self, grid_h: int, grid_w: int) -> int:
        """Visual tokens per temporal token, W = grid_h * grid_w / merge**2."""
        return grid_h * grid_w // self.config.spatial_merge_size**2

    # ------------------------------------------------------------------------------------------------ stages
    def pool_frames(self, visual_states: torch.Tensor, tokens_per_step: int) -> torch.Tensor:
        """``(..., T*W, H) -> (..., T, H)``: average (float32, cast back) of each temporal step's W visual
        tokens; with ``frame_pooling="mean_max"`` the element-wise max is added to the average."""
        n = visual_states.shape[-2]
        if tokens_per_step <= 0 or n % tokens_per_step:
            raise ValueError(f"{n} visual states do not split into steps of {tokens_per_step} tokens")
        steps = visual_states.float().unflatten(-2, (n // tokens_per_step, tokens_per_step))
        pooled = steps.mean(dim=-2)
        if self.config.frame_pooling == "mean_max":
            pooled = pooled + steps.amax(dim=-2)
        return pooled.to(visual_states.dtype)

    def fuse(
        self, frames: torch.Tensor, query_states: torch.Tensor, lengths: torch.Tensor
    ) -> tuple[torch.Tensor, torch.Tensor]:
        """``(B, T, H)`` frames + ``(B, H)`` queries -> video_emb ``(K, B, T, D)`` (zero past each length) and
        query_emb ``(K, B, D)``; K = every fusion layer in training (deep supervision), the last in eval."""
        b, t, _ = frames.shape
        frame_valid = torch.arange(t, device=frames.device)[None] < lengths[:, None]  # (B, T)
        frames = torch.where(
            frame_valid[..., None], frames, torch.zeros((), dtype=frames.dtype, device=frames.device)
        )
        vis = self.vis_emb(self.vis_proj(frames))
        vis = vis + positional_encoding(lengths, t, self.config).to(vis.dtype)
        x = torch.cat((vis, self.reg_emb(self.reg_proj(query_states[:, None]))), dim=1)
        key_valid = None if bool(frame_valid.all()) else F.pad(frame_valid, (0, 1), value=True)
        collected = []
        for layer in self.vis_fuse:
            x = layer(x, key_valid)
            collected.append(x)
        joint = self.vis_norm(torch.stack(collected if self.training else collected[-1:]))
        video_emb = torch.where(
            frame_valid[None, ..., None],
            joint[:, :, :-1],
            torch.zeros((), dtype=joint.dtype, device=joint.device),
        )
        return video_emb, joint[:, :, -1]

    def predict(self, video_emb: torch.Tensor, query_emb: torch.Tensor, lengths: torch.Tensor) -> HeadOutput:
        """Pyramid + heads on fused tokens ``(K, B, T, D)``. Training pads every sample to ``max(8, T_max)``
        (the official single-sample behaviour) and cuts each sample's levels at its own padded length."""
        k, b, t, d = video_emb.shape
        lengths = lengths.to(video_emb.device)
        padded = max(t, self.config.min_padded_length) if self.training else t
        if padded > self.config.point_buffer:
            raise UserInputError(
                f"{padded} temporal tokens exceed the head's point buffer ({self.config.point_buffer}); "
                "sample fewer frames"
            )
        own = lengths.clamp(min=self.config.min_padded_length) if self.training else lengths
        x = F.pad(video_emb, (0, 0, 0, padded - t)).flatten(0, 1)  # (K*B, padded, D)
        logits, coords, level_masks, exists, sizes = [], [], [], [], []
        for level, (stride, block) in enumerate(zip(self.config.strides, self.pyramid.blocks)):
            if padded < stride:
                continue
            feat = block(x)  # (K*B, L, D)
            index = torch.arange(feat.shape[1], device=feat.device)
            inside = index[None] < (own // stride)[:, None]  # (B, L): the sample's own pyramid
            rows_inside = inside.repeat(k, 1)
            feat = torch.where(
                rows_inside[..., None], feat, torch.zeros((), dtype=feat.dtype, device=feat.device)
            )
            logits.append(self.class_head(feat, rows_inside)[..., 0])
            coords.append(self.coord_head(feat, rows_inside).exp() * self.coef.scale[level])
            level_masks.append(inside & (index[None] * stride < lengths[:, None]))
            exists.append(inside)
            sizes.append(feat.shape[1])
        points = point_table(sizes, self.config.strides, self.config.regression_ranges, video_emb.device)
        return HeadOutput(
            class_logits=torch.cat(logits, dim=1).unflatten(0, (k, b)),
            coords=torch.cat(coords, dim=1).unflatten(0, (k, b)),
            points=points, level_masks=tuple(level_masks), point_mask=torch.cat(exists, dim=1),
            video_emb=video_emb, query_emb=query_emb, lengths=lengths,
        )  # fmt: skip

    def forward(
        self,
        frame_states: torch.Tensor | Sequence[torch.Tensor],
        query_states: torch.Tensor,
        lengths: torch.Tensor | Sequence[int] | None = None,
    ) -> HeadOutput:
        """``frame_states``: pooled states ``(B, T_max, H)`` (with ``lengths``, or all of length T_max) or a
        list of ``(T_i, H)``; ``query_states``: ``(B, H)``, one ``<|reg|>`` query per row."""
        frames, lengths = _batch_frames(frame_states, lengths)
        query_states = query_states.reshape(frames.shape[0], -1).to(frames.dtype)
        if bool((lengths < 1).any()) or int(lengths.max()) > frames.shape[1]:
            raise ValueError(f"lengths {lengths.tolist()} must lie in 1..{frames.shape[1]}")
        video_emb, query_emb = self.fuse(frames, query_states, lengths)
        return self.predict(video_emb, query_emb, lengths)

    # ------------------------------------------------------------------------------------------------ outputs
    @torch.no_grad()
    def decode(self, output: HeadOutput) -> list[DecodedSpans]:
        """Per query: rows ``[start_norm, end_norm, score]`` sorted by score, NMS, top-k; plus all point
        scores. Uses the last deep-supervision row (the only one in eval mode)."""
        results = []
        for i in range(output.lengths.shape[0]):
            keep = output.point_mask[i]
            num_steps = int(output.lengths[i])
            rows = candidate_rows(
                output.points[keep], output.class_logits[-1, i, keep], output.coords[-1, i, keep], num_steps
            )
            spans = temporal_nms(rows, self.config.nms_threshold, self.config.top_k)
            results.append(DecodedSpans(spans, rows[:, 2].clone(), num_steps))
        return results

    def targets(self, output: HeadOutput, timestamps: Sequence) -> tuple[torch.Tensor, torch.Tensor]:
        """Class ``(B, N)`` and regression ``(B, N, 2)`` targets; ``timestamps[i]`` = spans ``[[s, e], ...]``
        of query i as fractions of its video. Points outside a sample's own pyramid get class 0."""
        b, n = output.point_mask.shape
        cls = torch.zeros(b, n, device=output.points.device)
        reg = torch.zeros(b, n, 2, device=output.points.device)
        for i in range(b):
            keep = output.point_mask[i]
            spans = torch.as_tensor(timestamps[i], dtype=torch.float32)
            cls[i, keep], reg[i, keep] = assign_targets(
                output.points[keep],
                spans,
                int(output.lengths[i]),
                self.config.sample_radius,
                self.config.tie_tolerance,
            )
        return cls, reg

    def loss(
        self,
        output: HeadOutput,
        timestamps: Sequence,
        saliency: Sequence,
        pos_clip: Sequence,
        group: Sequence[int] | None = None,
    ) -> dict[str, torch.Tensor]:
        """Weighted ``loss_cls`` / ``loss_reg`` / ``loss_sal`` (REFERENCE.md s.3.7), one value each.

        Row i of the batch is one ``<|reg|>`` query: ``timestamps[i]`` its spans (fractions), ``saliency[i]``
        its T_i-long 0/1 vector, ``pos_clip[i]`` the sampled positive token. Each query's terms are summed
        over the deep-supervision rows, averaged over the queries of its sample (``group[i]`` = sample id;
        default: every query is its own sample), then averaged over samples.
        """
        cfg = self.config
        cls_target, reg_target = self.targets(output, timestamps)
        positive = cls_target > 0
        empty = (~positive.any(dim=1)).nonzero().flatten().tolist()
        if empty:
            raise UserInputError(
                f"queries {empty} have no positive point: their spans are shorter than one token; "
                "build targets with videomind.data.span_targets.grounding_targets(), which widens them"
            )
        sal, pos = self._saliency_batch(output, saliency, pos_clip)
        frame_valid = torch.arange(sal.shape[1], device=sal.device)[None] < output.lengths[:, None]
        per_query = {
            "loss_cls": cfg.loss_cls_weight * losses.classification_loss(
                output.class_logits, cls_target, output.valid_mask, cfg.focal_gamma, cfg.focal_alpha),
            "loss_reg": cfg.loss_reg_weight * losses.regression_loss(output.coords, reg_target, positive),
            "loss_sal": cfg.loss_sal_weight * losses.saliency_loss(
                output.video_emb, output.query_emb, frame_valid, sal, pos,
                losses.nce_scale(cfg.nce_temperature, cfg.nce_max_scale)),
        }  # fmt: skip
        return {name: losses.average_per_sample(value, group) for name, value in per_query.items()}

    @staticmethod
    def _saliency_batch(
        output: HeadOutput, saliency: Sequence, pos_clip: Sequence
    ) -> tuple[torch.Tensor, torch.Tensor]:
        device, t_max = output.video_emb.device, output.video_emb.shape[2]
        sal = torch.zeros(len(saliency), t_max, device=device)
        for i, values in enumerate(saliency):
            values = torch.as_tensor(values, dtype=torch.float32).flatten()
            if values.numel() != int(output.lengths[i]):
                raise UserInputError(
                    f"saliency of query {i} has {values.numel()} entries, expected {int(output.lengths[i])}"
                )
            sal[i, : values.numel()] = values.to(device)
        pos = torch.tensor([int(torch.as_tensor(p).flatten()[0]) for p in pos_clip], device=device)
        if bool((pos >= output.lengths.to(device)).any()) or bool((pos < 0).any()):
            raise UserInputError(
                f"pos_clip {pos.tolist()} out of range for lengths {output.lengths.tolist()}"
            )
        return sal, pos


def _batch_frames(
    frame_states: torch.Tensor | Sequence[torch.Tensor], lengths: torch.Tensor | Sequence[int] | None
) -> tuple[torch.Tensor, torch.Tensor]:
    """Pad a list of ``(T_i, H)`` into ``(B, T_max, H)``; return it with the lengths as a long tensor."""
    if isinstance(frame_states, torch.Tensor):
        if frame_states.dim() != 3:
            raise ValueError(f"frame_states must be (B, T, H), got shape {tuple(frame_states.shape)}")
        b, t, _ = frame_states.shape
        if lengths is None:
            return frame_states, torch.full((b,), t, dtype=torch.long, device=frame_states.device)
        return frame_states, torch.as_tensor(lengths, dtype=torch.long, device=frame_states.device).reshape(b)
    states = list(frame_states)
    if not states:
        raise ValueError("frame_states is empty")
    sizes = torch.tensor([s.shape[0] for s in states], dtype=torch.long, device=states[0].device)
    return torch.nn.utils.rnn.pad_sequence(states, batch_first=True), sizes
