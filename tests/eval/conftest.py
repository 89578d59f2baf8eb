"""Shared fixtures of the evaluation tests."""

import pytest


@pytest.fixture(scope="session")
def world(tmp_path_factory):
    """A small synthetic test set and a saved tiny checkpoint."""
    from videomind.data.synthetic import make_dataset
    from videomind.model import build_tiny_model, save_checkpoint

    root = tmp_path_factory.mktemp("predict")
    data = make_dataset(root / "synthetic", n_videos=3, seed=5, preset="easy", splits=("test",),
                        size=(56, 56), fps=2.0, duration=(8, 12))  # fmt: skip
    model, processor = build_tiny_model(seed=0)
    build_tiny_model(seed=0, roles=())[0].base.save_pretrained(root / "base")
    ckpt = save_checkpoint(model, processor, root / "ckpt", base_model_path="../base")
    return data, ckpt, root
