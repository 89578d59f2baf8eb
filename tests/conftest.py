"""Shared fixtures. Everything runs offline; models, videos and annotations are built in-process.

Tests run on the CPU unless ``VIDEOMIND_TEST_DEVICE`` names another device (``cuda``, ``cuda:1``): then the tests
where the device matters (the oracle's fidelity tests, the agent end to end, training steps) run there through the
``device`` fixture. Tests marked ``gpu`` need CUDA and are skipped without it (like transformers'
``require_torch_gpu`` and torchtune's ``gpu_test``).
"""

from __future__ import annotations

import json
import os
from pathlib import Path

import pytest
import torch

FIXTURES = Path(__file__).parent / "fixtures"
ORACLE = FIXTURES / "oracle"
DEVICE_ENV = "VIDEOMIND_TEST_DEVICE"


def device_under_test() -> torch.device:
    """The device named by ``VIDEOMIND_TEST_DEVICE`` (default cpu)."""
    return torch.device(os.environ.get(DEVICE_ENV) or "cpu")


def pytest_configure(config) -> None:
    device = device_under_test()
    if device.type == "cuda" and not torch.cuda.is_available():
        raise pytest.UsageError(
            f"{DEVICE_ENV}={device} but torch sees no CUDA device; unset it to test on the CPU"
        )


def pytest_collection_modifyitems(config, items) -> None:
    if torch.cuda.is_available():
        return
    skip = pytest.mark.skip(reason="needs a CUDA GPU (torch.cuda.is_available() is False)")
    for item in items:
        if "gpu" in item.keywords:
            item.add_marker(skip)


def exact_float32() -> None:
    """float32 as written on CUDA: no TF32 in matmuls or convolutions (cuDNN allows it by default), so the oracle's
    float32 tolerances apply."""
    torch.backends.cuda.matmul.allow_tf32 = False
    torch.backends.cudnn.allow_tf32 = False


def load_expected(case: str) -> dict:
    """Recorded JSON of an oracle case (NaN stored as the string "NaN")."""

    def fix(x):
        if x == "NaN":
            return float("nan")
        if isinstance(x, list):
            return [fix(v) for v in x]
        if isinstance(x, dict):
            return {k: fix(v) for k, v in x.items()}
        return x

    return fix(json.loads((ORACLE / "expected" / f"{case}.json").read_text()))


@pytest.fixture(scope="session")
def oracle_dir() -> Path:
    return ORACLE


@pytest.fixture(scope="session")
def device() -> torch.device:
    """Where device-dependent tests run (``VIDEOMIND_TEST_DEVICE``, default cpu)."""
    device = device_under_test()
    if device.type == "cuda":
        exact_float32()
    return device


@pytest.fixture(scope="session")
def oracle_model(device):
    """The oracle's tiny VideoMind checkpoint loaded by our code (float32, on the test device), with its processor."""
    from videomind.model import load_model

    return load_model(ORACLE / "tiny-videomind", device=device, dtype=torch.float32)


@pytest.fixture(scope="session")
def tiny():
    """A tiny random VideoMind (planner, grounder, verifier) built in-process."""
    from videomind.model import build_tiny_model

    return build_tiny_model(seed=0)
