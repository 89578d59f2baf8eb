"""Evaluation: the benchmark table, the prediction-line schema and scoring of prediction folders.

``benchmarks`` (``BENCHMARKS``, ``get_benchmark``), ``records`` (``PredictionRecord``), ``score``
(``score_folder``, ``read_shards``). Names are imported lazily so that ``import videomind.eval`` stays cheap.
"""

from __future__ import annotations

import importlib
from typing import Any

_LAZY = {
    "BENCHMARKS": "videomind.eval.benchmarks",
    "Benchmark": "videomind.eval.benchmarks",
    "get_benchmark": "videomind.eval.benchmarks",
    "list_benchmarks": "videomind.eval.benchmarks",
    "PredictionRecord": "videomind.eval.records",
    "PredictionLine": "videomind.eval.records",
    "read_shards": "videomind.eval.score",
    "score_folder": "videomind.eval.score",
}

__all__ = sorted(_LAZY)


def __getattr__(name: str) -> Any:
    if name in _LAZY:
        return getattr(importlib.import_module(_LAZY[name]), name)
    raise AttributeError(f"module 'videomind.eval' has no attribute {name!r}")
