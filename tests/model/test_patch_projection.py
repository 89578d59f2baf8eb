"""The patch embedding evaluated as a matrix product: same outputs, gradients, parameters and state dict."""

from __future__ import annotations

import copy
import pickle

import pytest
import torch
from torch import nn

from videomind.model import build_tiny_model
from videomind.model.patch_projection import PatchProjection, is_patch_projection, use_matmul_patch_projection


def pair(bias: bool) -> tuple[nn.Conv3d, nn.Conv3d]:
    torch.manual_seed(0)
    conv = nn.Conv3d(3, 16, (2, 14, 14), stride=(2, 14, 14), bias=bias)
    turned = copy.deepcopy(conv)
    turned.__class__ = PatchProjection
    return conv, turned


@pytest.mark.parametrize("bias", [False, True])
def test_outputs_and_gradients_equal_the_convolution(bias):
    conv, turned = pair(bias)
    x = torch.randn(37, 3, 2, 14, 14)
    out_conv, out_turned = conv(x), turned(x)
    assert out_turned.shape == out_conv.shape == (37, 16, 1, 1, 1)
    torch.testing.assert_close(out_turned, out_conv, rtol=1e-5, atol=1e-5)
    weights = torch.randn_like(out_conv)
    (out_conv * weights).sum().backward()
    (out_turned * weights).sum().backward()
    torch.testing.assert_close(turned.weight.grad, conv.weight.grad, rtol=1e-4, atol=1e-4)
    if bias:
        torch.testing.assert_close(turned.bias.grad, conv.bias.grad, rtol=1e-4, atol=1e-4)


def test_an_input_larger_than_one_kernel_goes_through_the_convolution():
    conv, turned = pair(bias=True)
    x = torch.randn(2, 3, 4, 28, 42)  # 2 x 2 x 3 patches each
    torch.testing.assert_close(turned(x), conv(x), rtol=0, atol=0)


def test_only_non_overlapping_full_convolutions_qualify():
    assert is_patch_projection(nn.Conv3d(3, 8, (2, 14, 14), stride=(2, 14, 14)))
    assert not is_patch_projection(nn.Conv3d(3, 8, (2, 14, 14), stride=(1, 14, 14)))  # overlapping in time
    assert not is_patch_projection(nn.Conv3d(4, 8, (2, 14, 14), stride=(2, 14, 14), groups=2))
    assert not is_patch_projection(nn.Conv3d(3, 8, (2, 14, 14), stride=(2, 14, 14), padding=1))
    assert not is_patch_projection(nn.Linear(3, 8))


@pytest.mark.parametrize("base", ["qwen2_vl", "qwen2_5_vl", "qwen3_vl"])
def test_every_base_embeds_patches_as_a_product_with_its_released_state_dict(base):
    model, _ = build_tiny_model(seed=1, roles=(), base=base)
    proj = model.visual.patch_embed.proj
    assert type(proj) is PatchProjection  # turned when the VideoMindModel was built
    stock = nn.Conv3d(proj.in_channels, proj.out_channels, proj.kernel_size, stride=proj.stride,
                      bias=proj.bias is not None)  # fmt: skip
    state = model.base.state_dict()
    names = [k for k in state if k.endswith("patch_embed.proj.weight")]
    assert len(names) == 1 and state[names[0]].shape == stock.weight.shape  # 5-D, the released name
    assert use_matmul_patch_projection(model.base) == 0  # already turned: nothing left to turn


def test_a_turned_model_survives_deepcopy_and_pickle():
    model, _ = build_tiny_model(seed=1, roles=())
    for copied in (copy.deepcopy(model), pickle.loads(pickle.dumps(model))):
        proj = copied.visual.patch_embed.proj
        assert type(proj) is PatchProjection
        assert proj.weight is not model.visual.patch_embed.proj.weight
        torch.testing.assert_close(proj.weight, model.visual.patch_embed.proj.weight)
