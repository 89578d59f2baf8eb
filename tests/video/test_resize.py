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


def test_chunks_are_bounded_in_bytes_as_well_as_frames():
    from videomind.video.resize import RESIZE_CHUNK_BYTES, chunk_frames

    assert chunk_frames(480, 640) == RESIZE_CHUNK  # small frames: the frame count bounds the chunk
    assert chunk_frames(2160, 3840) == RESIZE_CHUNK_BYTES // (2160 * 3840 * 3 * 4)  # 4K: 2 frames of 100 MB
    assert chunk_frames(4320, 7680) == 1 and chunk_frames(17280, 30720) == 1  # 8K and beyond: one at a time


def test_byte_bounded_chunks_give_the_same_frames(monkeypatch, tmp_path):
    from videomind.video import FrameBudget, open_video
    from videomind.video.testing import make_test_video

    video = make_test_video(tmp_path / "v.mp4", seconds=4.0, fps=8.0, size=(64, 96))
    budget = FrameBudget(fps=4.0, max_frames=32, min_pixels=28 * 28 * 4, max_pixels=28 * 28 * 16)
    with open_video(video) as reader:
        whole = reader.sample(budget).frames
    monkeypatch.setattr("videomind.video.resize.RESIZE_CHUNK_BYTES", 64 * 96 * 3 * 4 * 3)  # 3 frames a chunk
    with open_video(video) as reader:
        assert torch.equal(reader.sample(budget).frames, whole)
    frames = torch.randint(0, 256, (7, 3, 64, 96), dtype=torch.uint8)
    monkeypatch.setattr("videomind.video.resize.RESIZE_CHUNK_BYTES", 1)
    one = F.interpolate(frames.float(), size=(28, 56), mode="bicubic", align_corners=False, antialias=True)
    assert torch.equal(resize_frames(frames, (28, 56)), one.clamp(0, 255).round().to(torch.uint8))


@pytest.mark.slow
def test_a_4k_clip_is_sampled_in_bounded_memory(tmp_path):
    """Peak memory of sampling 16 frames of a 4K video grows by well under a gigabyte (it was 2.6 GB, and 9.9 GB
    for 30 frames of 8K, docs/VIDEO.md)."""
    import subprocess
    import sys

    from videomind.video.testing import make_test_video

    video = make_test_video(tmp_path / "uhd.mp4", seconds=16.0, fps=1.0, size=(2160, 3840))
    code = (
        "import resource, sys\n"
        "from videomind.video import GROUNDER_BUDGET, open_video\n"
        "with open_video(sys.argv[1]) as reader:\n"
        "    before = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss\n"
        "    clip = reader.sample(GROUNDER_BUDGET)\n"
        "print(len(clip), (resource.getrusage(resource.RUSAGE_SELF).ru_maxrss - before) // 1024)\n"
    )
    done = subprocess.run([sys.executable, "-c", code, str(video)], capture_output=True, text=True, check=True,
                          timeout=900, env={**__import__("os").environ, "OMP_NUM_THREADS": "1"})  # fmt: skip
    frames, grown_mb = (int(x) for x in done.stdout.split())
    assert frames == 16 and grown_mb < 900, f"peak memory grew by {grown_mb} MB"
