"""Resizing like torchvision's uint8 tensor resize: antialiased bicubic in float32, clamp, round half to even."""

from __future__ import annotations

import pytest
import torch
import torch.nn.functional as F

from videomind.video.resize import RESIZE_CHUNK, resize_frames


def test_hand_computed_bicubic_antialias_upscale():
    # Row [0, 255] widened to 4 (height 1 -> 1 keeps rows). PyTorch's antialiased bicubic (PIL's kernel, a = -0.5)
    # with weights renormalised at the border. Output x=1: centre 0.5 * 1.5 = 0.75, taps at 0 and 1 with
    # distances 0.25 and 0.75 -> w = 0.8671875 and 0.2265625, value = 255 * 0.2265625 / 1.09375 = 52.82 -> 53.
    # Output x=0: taps 0.25 and 1.25 -> 0.8671875 and -0.0703125 -> 255 * -0.0703125 / 0.796875 = -22.5 -> 0
    # (clamped). x=2 and x=3 mirror them: 202.18 -> 202 and 277.5 -> 255.
    row = torch.tensor([[[[0, 255]]]], dtype=torch.uint8).expand(1, 3, 1, 2)
    out = resize_frames(row, (1, 4))
    assert out.dtype == torch.uint8
    assert out[0, 0, 0].tolist() == [0, 53, 202, 255]


def test_same_size_is_returned_untouched():
    frames = torch.randint(0, 256, (2, 3, 28, 56), dtype=torch.uint8)
    assert resize_frames(frames, (28, 56)) is frames


def test_constant_frames_stay_constant_and_single_frames_work():
    frames = torch.full((3, 3, 37, 53), 77, dtype=torch.uint8)
    assert torch.equal(resize_frames(frames, (56, 28)), torch.full((3, 3, 56, 28), 77, dtype=torch.uint8))
    assert resize_frames(frames[0], (28, 28)).shape == (3, 28, 28)


def test_rounds_half_to_even_and_clamps_like_torchvision():
    torch.manual_seed(0)
    frames = torch.randint(0, 256, (2, 3, 31, 45), dtype=torch.uint8)
    raw = F.interpolate(frames.float(), size=(56, 84), mode="bicubic", align_corners=False, antialias=True)
    expected = raw.clamp(0, 255).round().to(torch.uint8)
    out = resize_frames(frames, (56, 84))
    assert torch.equal(out, expected)
    # the input overshoots (so the clamp matters) and truncating instead of rounding would differ
    assert raw.max() > 255 and raw.min() < 0
    assert not torch.equal(out, raw.clamp(0, 255).to(torch.uint8))


def test_chunked_resize_equals_one_batch():
    torch.manual_seed(1)
    frames = torch.randint(0, 256, (RESIZE_CHUNK * 2 + 3, 3, 40, 30), dtype=torch.uint8)
    one = F.interpolate(frames.float(), size=(28, 28), mode="bicubic", align_corners=False, antialias=True)
    assert torch.equal(resize_frames(frames, (28, 28)), one.clamp(0, 255).round().to(torch.uint8))


def test_rejects_float_input():
    with pytest.raises(TypeError, match="uint8"):
        resize_frames(torch.zeros(1, 3, 4, 4), (8, 8))
