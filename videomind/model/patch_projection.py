"""The vision tower's patch embedding as one matrix product instead of a 3-D convolution.

Every supported base (Qwen2-VL, Qwen2.5-VL, Qwen3-VL) embeds a patch with an ``nn.Conv3d`` whose kernel equals its
stride and its whole input ``(C, T, P, P)``: one output per patch, i.e. a linear map of the flattened patch. On a
CPU, torch runs it through oneDNN's convolution, whose backward pass took 10-15 % of a tiny training step (84-170
ms a batch against a few ms as a matrix product; docs/PERFORMANCE.md); on some GPU and dtype combinations cuDNN's
kernel for this shape is far slower still (huggingface/transformers#45750). transformers 5.x can replace the module
by an ``nn.Linear`` (``from_pretrained(fusion_config={"patch_embeddings": True})``, huggingface/transformers#45041),
but that renames and reshapes the weight (``patch_embed.linear_proj.weight``), which the released layout, our
checkpoint writer and LoRA targets name ``patch_embed.proj.weight`` in 5-D; so instead the ``Conv3d`` keeps its
parameters, names and shapes, and only its class changes to one whose ``forward`` is the matrix product.
"""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import nn


class PatchProjection(nn.Conv3d):
    """A non-overlapping ``nn.Conv3d`` evaluated as ``F.linear`` on inputs exactly one kernel in size (the patch
    embedding's only use); any other input goes through the convolution. Same parameters and state dict."""

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        if x.dim() != 5 or tuple(x.shape[2:]) != tuple(self.kernel_size):
            return super().forward(x)
        flat = F.linear(x.reshape(x.shape[0], -1), self.weight.reshape(self.out_channels, -1), self.bias)
        return flat.view(x.shape[0], self.out_channels, 1, 1, 1)


def is_patch_projection(module: nn.Module) -> bool:
    """A plain ``nn.Conv3d`` whose patches do not overlap and that mixes all channels (what can be a product)."""
    return (
        type(module) is nn.Conv3d
        and module.stride == module.kernel_size
        and module.padding == (0, 0, 0)
        and module.dilation == (1, 1, 1)
        and module.groups == 1
        and module.padding_mode == "zeros"
    )


def use_matmul_patch_projection(model: nn.Module) -> int:
    """Turn every ``patch_embed.proj`` of ``model`` that qualifies into a ``PatchProjection`` in place; returns how
    many were turned."""
    turned = 0
    for name, module in model.named_modules():
        if name.endswith("patch_embed.proj") and is_patch_projection(module):
            module.__class__ = PatchProjection
            turned += 1
    return turned
