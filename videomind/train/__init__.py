"""Training every role (and base models) with our own loop on accelerate, saved in the released layout
(docs/TRAINING.md).

``load_config(preset, overrides)`` -> ``RunConfig``; ``run_training(config)`` -> ``RunResult``;
``combine_runs(out, runs)`` merges role runs into one multi-role checkpoint.
"""

from __future__ import annotations

from videomind.lazy import lazy_exports

_LAZY = {
    "RunConfig": "videomind.train.config",
    "load_config": "videomind.train.config",
    "run_training": "videomind.train.run",
    "RunResult": "videomind.train.run",
    "combine_runs": "videomind.train.combine",
}
__all__ = sorted(_LAZY)


__getattr__, __dir__ = lazy_exports(__name__, _LAZY)
