"""Building blocks of the timestamp decoder (``grounding_head.py``): the fusion transformer's layers, the temporal
conv pyramid and heads. Attribute names are the official checkpoint's parameter names; do not rename them."""

from __future__ import annotations

import math
from typing import TYPE_CHECKING

import torch
from torch import nn

if TYPE_CHECKING:  # pragma: no cover
    from videomind.model.grounding_head import TimestampDecoderConfig

ACTIVATIONS: dict[str, type[nn.Module]] = {"silu": nn.SiLU, "gelu": nn.GELU, "relu": nn.ReLU}


class Transpose(nn.Module):
    """Swap the time and channel axes (conv layers want channels first)."""

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return x.transpose(-1, -2)


class Embedding(nn.Module):
    """A learnable vector added to every token (modality embedding); parameter name ``weights``."""

    def __init__(self, dims: int) -> None:
        super().__init__()
        self.weights = nn.Parameter(torch.empty(1, 1, dims))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return x + self.weights


class DropPath(nn.Module):
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


class Attention(nn.Module):
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


class FeedForward(nn.Module):
    def __init__(self, dims: int, ratio: int, act: type[nn.Module]) -> None:
        super().__init__()
        self.mapping = nn.Sequential(nn.Linear(dims, dims * ratio), act(), nn.Linear(dims * ratio, dims))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.mapping(x)


class FusionLayer(nn.Module):
    """Pre-norm transformer encoder layer: x + DropPath(MHA(LN(x))), then x + DropPath(FFN(LN(x)))."""

    def __init__(self, config: TimestampDecoderConfig) -> None:
        super().__init__()
        act = ACTIVATIONS[config.activation]
        self.self_att = Attention(config.dims, config.num_heads)
        self.self_att_norm = nn.LayerNorm(config.dims, eps=config.layer_norm_eps)
        self.ffn = FeedForward(config.dims, config.ffn_ratio, act)
        self.ffn_norm = nn.LayerNorm(config.dims, eps=config.layer_norm_eps)
        self.drop_path = DropPath(config.drop_path)

    def forward(self, x: torch.Tensor, key_valid: torch.Tensor | None) -> torch.Tensor:
        x = x + self.drop_path(self.self_att(self.self_att_norm(x), key_valid))
        return x + self.drop_path(self.ffn(self.ffn_norm(x)))


class ConvPyramid(nn.Module):
    """Level with stride 2**p = p x [Conv1d(k=2, s=2) -> LayerNorm -> act] applied to the video tokens."""

    def __init__(self, config: TimestampDecoderConfig) -> None:
        super().__init__()
        act, d = ACTIVATIONS[config.activation], config.dims
        self.blocks = nn.ModuleList()
        for stride in config.strides:
            if stride == 1:
                self.blocks.append(act())
                continue
            layers: list[nn.Module] = []
            for _ in range(int(math.log2(stride))):
                layers += [
                    Transpose(),
                    nn.Conv1d(d, d, 2, stride=2),
                    Transpose(),
                    nn.LayerNorm(d, config.layer_norm_eps),
                    act(),
                ]
            self.blocks.append(nn.Sequential(*layers))


class ConvHead(nn.Module):
    """Conv1d(k=3) -> act -> Conv1d(k=3) over time, shared by all levels; ``(B, L, D) -> (B, L, out)``."""

    def __init__(self, dims: int, out_dims: int, act: type[nn.Module], kernel: int = 3) -> None:
        super().__init__()
        pad = kernel // 2
        self.module = nn.Sequential(
            Transpose(), nn.Conv1d(dims, dims, kernel, padding=pad), act(),
            nn.Conv1d(dims, out_dims, kernel, padding=pad), Transpose(),
        )  # fmt: skip

    def forward(self, x: torch.Tensor, inside: torch.Tensor | None = None) -> torch.Tensor:
        """``inside`` ``(B, L)`` marks each row's real positions; the hidden activations outside are zeroed so
        the second convolution sees the same zero padding as for the row alone."""
        hidden = self.module[2](self.module[1](self.module[0](x)))
        if inside is not None:
            hidden = hidden * inside[:, None, :].to(hidden.dtype)
        return self.module[4](self.module[3](hidden))


class Scale(nn.Module):
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
