"""Evaluation: the benchmark table, the prediction-line schema and scoring of prediction folders.

``benchmarks`` (``BENCHMARKS``, ``get_benchmark``), ``predictions`` (``PredictionRecord``), ``score``
(``score_folder``, ``read_shards``). Names are imported lazily so that ``import videomind.eval`` stays cheap.
"""

from __future__ import annotations

from videomind.lazy import lazy_exports

_LAZY = {
    "BENCHMARKS": "videomind.eval.benchmarks",
    "Benchmark": "videomind.eval.benchmarks",
    "get_benchmark": "videomind.eval.benchmarks",
    "list_benchmarks": "videomind.eval.benchmarks",
    "PredictionRecord": "videomind.eval.predictions",
    "PredictionLine": "videomind.eval.predictions",
    "read_shards": "videomind.eval.score",
    "score_folder": "videomind.eval.score",
}

__all__ = sorted(_LAZY)


__getattr__, __dir__ = lazy_exports(__name__, _LAZY)
