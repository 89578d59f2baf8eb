import pytest
import torch

from tests.conftest import ORACLE


@pytest.fixture(scope="session")
def oracle_model():
    """The oracle's tiny VideoMind checkpoint loaded by our code (float32, CPU), with its processor."""
    from videomind.model import load_model

    return load_model(ORACLE / "tiny-videomind", device="cpu", dtype=torch.float32)


@pytest.fixture(scope="session")
def tiny():
    """A tiny random VideoMind (planner, grounder, verifier) built in-process."""
    from videomind.model import build_tiny_model

    return build_tiny_model(seed=0)
