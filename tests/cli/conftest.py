"""Fixtures of the command-line tests: a tiny random checkpoint saved in the released layout and a real video."""

import pytest

from videomind.video.testing import make_test_video


@pytest.fixture(scope="module")
def video(tmp_path_factory):
    return make_test_video(
        tmp_path_factory.mktemp("video") / "clip.mp4", seconds=12.0, fps=4.0, size=(112, 112)
    )


@pytest.fixture(scope="module")
def checkpoint(tiny, tmp_path_factory):
    from videomind.model import build_tiny_model, save_checkpoint

    model, processor = tiny
    root = tmp_path_factory.mktemp("ckpt")
    build_tiny_model(seed=0, roles=())[0].base.save_pretrained(root / "base")
    return save_checkpoint(model, processor, root / "tiny-videomind", base_model_path="../base")
