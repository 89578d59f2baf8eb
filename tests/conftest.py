"""Shared fixtures. Everything runs offline on the CPU; models, videos and annotations are built in-process."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
import torch

FIXTURES = Path(__file__).parent / "fixtures"
ORACLE = FIXTURES / "oracle"


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
def oracle_model():
    """The oracle's tiny VideoMind checkpoint loaded by our code (float32, CPU), with its processor."""
    from videomind.model import load_model

    return load_model(ORACLE / "tiny-videomind", device="cpu", dtype=torch.float32)


@pytest.fixture(scope="session")
def tiny():
    """A tiny random VideoMind (planner, grounder, verifier) built in-process."""
    from videomind.model import build_tiny_model

    return build_tiny_model(seed=0)
