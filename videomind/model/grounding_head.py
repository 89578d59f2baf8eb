"""The grounder's timestamp decoder: pooled frame states + a ``<|reg|>`` query state -> ranked moments.

What it computes (REFERENCE.md s.3; docs/GROUNDING_HEAD.md has the long version):

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
from videomind.model.grounding_targets import POINT_POSITION, POINT_STRIDE, assign_targets, point_table
from videomind.spans import NMS_IOU_THRESHOLD, NMS_TOP_K, temporal_nms

FRAME_POOLING_MODES = ("mean", "mean_max")
_ACTIVATIONS: dict[str, type[nn.Module]] = {"silu": nn.SiLU, "gelu": nn.GELU, "relu": nn.ReLU}


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
        if self.activation not in _ACTIVATIONS:
            raise ValueError(f"activation must be one of {sorted(_ACTIVATIONS)}, got {self.activation!r}")
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


# ------------------------------------------------------------------------------------------- building blocks
class _Transpose(nn.Module):
    """Swap the time and channel axes (conv layers want channels first)."""

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return x.transpose(-1, -2)


class _Embedding(nn.Module):
    """A learnable vector added to every token (modality embedding); parameter name ``weights``."""

    def __init__(self, dims: int) -> None:
        super().__init__()
        self.weights = nn.Parameter(torch.empty(1, 1, dims))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return x + self.weights


class _DropPath(nn.Module):
    """Drop a whole residual branch per sample with probability ``p`` (training only), rescaling the rest."""

    def __init__(self, p: float) -> None:
        super().__init__()
        self.p = p

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        if not self.training or self.p <= 0:
            return x
        keep = 1.0 - self.p
        mask = x.new_empty((x.shape[0],) + (1,) * (x.dim() - 1)).bernoulli_(keep)
        return x * mask / keep


class _Attention(nn.Module):
    """Multi-head self-attention: separate q / k / v / output (``m``) projections, key-padding mask."""

    def __init__(self, dims: int, heads: int) -> None:
        super().__init__()
        self.heads = heads
        self.q, self.k, self.v, self.m = (nn.Linear(dims, dims) for _ in range(4))

    def forward(self, x: torch.Tensor, key_valid: torch.Tensor | None) -> torch.Tensor:
        b, n, d = x.shape
        q, k, v = (
            proj(x).view(b, n, self.heads, d // self.heads).transpose(1, 2)
            for proj in (self.q, self.k, self.v)
        )
        scores = q @ k.transpose(-1, -2) / math.sqrt(d // self.heads)
        if key_valid is not None:
            scores = scores + torch.where(key_valid, 0.0, -math.inf).to(scores.dtype)[:, None, None, :]
        out = scores.softmax(dim=-1) @ v
        return self.m(out.transpose(1, 2).reshape(b, n, d))


class _FeedForward(nn.Module):
    def __init__(self, dims: int, ratio: int, act: type[nn.Module]) -> None:
        super().__init__()
        self.mapping = nn.Sequential(nn.Linear(dims, dims * ratio), act(), nn.Linear(dims * ratio, dims))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.mapping(x)


class _FusionLayer(nn.Module):
    """Pre-norm transformer encoder layer: x + DropPath(MHA(LN(x))), then x + DropPath(FFN(LN(x)))."""

    def __init__(self, config: TimestampDecoderConfig) -> None:
        super().__init__()
        act = _ACTIVATIONS[config.activation]
        self.self_att = _Attention(config.dims, config.num_heads)
        self.self_att_norm = nn.LayerNorm(config.dims, eps=config.layer_norm_eps)
        self.ffn = _FeedForward(config.dims, config.ffn_ratio, act)
        self.ffn_norm = nn.LayerNorm(config.dims, eps=config.layer_norm_eps)
        self.drop_path = _DropPath(config.drop_path)

    def forward(self, x: torch.Tensor, key_valid: torch.Tensor | None) -> torch.Tensor:
        x = x + self.drop_path(self.self_att(self.self_att_norm(x), key_valid))
        return x + self.drop_path(self.ffn(self.ffn_norm(x)))


class _ConvPyramid(nn.Module):
    """Level with stride 2**p = p x [Conv1d(k=2, s=2) -> LayerNorm -> act] applied to the video tokens."""

    def __init__(self, config: TimestampDecoderConfig) -> None:
        super().__init__()
        act, d = _ACTIVATIONS[config.activation], config.dims
        self.blocks = nn.ModuleList()
        for stride in config.strides:
            if stride == 1:
                self.blocks.append(act())
                continue
            layers: list[nn.Module] = []
            for _ in range(int(math.log2(stride))):
                layers += [
                    _Transpose(),
                    nn.Conv1d(d, d, 2, stride=2),
                    _Transpose(),
                    nn.LayerNorm(d, config.layer_norm_eps),
                    act(),
                ]
            self.blocks.append(nn.Sequential(*layers))


class _ConvHead(nn.Module):
    """Conv1d(k=3) -> act -> Conv1d(k=3) over time, shared by all levels; ``(B, L, D) -> (B, L, out)``."""

    def __init__(self, dims: int, out_dims: int, act: type[nn.Module], kernel: int = 3) -> None:
        super().__init__()
        pad = kernel // 2
        self.module = nn.Sequential(
            _Transpose(), nn.Conv1d(dims, dims, kernel, padding=pad), act(),
            nn.Conv1d(dims, out_dims, kernel, padding=pad), _Transpose(),
        )  # fmt: skip

    def forward(self, x: torch.Tensor, inside: torch.Tensor | None = None) -> torch.Tensor:
        """``inside`` ``(B, L)`` marks each row's real positions; the hidden activations outside are zeroed so
        the second convolution sees the same zero padding as for the row alone."""
        hidden = self.module[2](self.module[1](self.module[0](x)))
        if inside is not None:
            hidden = hidden * inside[:, None, :].to(hidden.dtype)
        return self.module[4](self.module[3](hidden))


class _Scale(nn.Module):
    """One learnable multiplier per pyramid level (``coef.scale``)."""

    def __init__(self, levels: int) -> None:
        super().__init__()
        self.scale = nn.Parameter(torch.ones(levels))


def positional_encoding(lengths: torch.Tensor, max_len: int, config: TimestampDecoderConfig) -> torch.Tensor:
    """Normalised interleaved sin/cos code ``(B, max_len, D)`` float32; positions 1..T scaled to (0, 2*pi].

    Channel 2k is ``sin(p_hat / f)``, channel 2k+1 ``cos(p_hat / f)`` with ``f = temperature ** (2k / D)`` and
    ``p_hat = p / (T + eps) * scale``. Rows past a sample's length are zero.
    """
    device = lengths.device
    position = torch.arange(1, max_len + 1, device=device)[None].float()
    normed = position / (lengths[:, None].float() + config.pe_eps) * config.pe_scale  # (B, L)
    channel = torch.arange(config.dims, device=device)
    freq = config.pe_temperature ** (channel // 2 * 2 / config.dims)
    angle = normed[..., None] / freq  # (B, L, D)
    pe = torch.stack((angle[..., 0::2].sin(), angle[..., 1::2].cos()), dim=-1).flatten(start_dim=2)
    return pe * (position <= lengths[:, None]).unsqueeze(-1)


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
        d, act = config.dims, _ACTIVATIONS[config.activation]
        self.vis_proj = nn.Sequential(
            nn.LayerNorm(hidden_size, eps=config.layer_norm_eps), nn.Linear(hidden_size, d)
        )
        self.reg_proj = nn.Sequential(
            nn.LayerNorm(hidden_size, eps=config.layer_norm_eps), nn.Linear(hidden_size, d)
        )
        self.vis_norm = nn.LayerNorm(d, eps=config.layer_norm_eps)
        self.vis_fuse = nn.ModuleList(_FusionLayer(config) for _ in range(config.num_fusion_layers))
        self.vis_emb = _Embedding(d)
        self.reg_emb = _Embedding(d)
        self.pyramid = _ConvPyramid(config)
        self.class_head = _ConvHead(d, 1, act)
        self.coord_head = _ConvHead(d, 2, act)
        self.coef = _Scale(len(config.strides))
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
                "build targets with grounding_targets(), which widens them"
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
