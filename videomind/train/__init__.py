"""Training every role (and base models) with our own loop on accelerate, saved in the released layout
(docs/TRAINING.md).

``load_config(preset, overrides)`` -> ``RunConfig``; ``run_training(config, callbacks=...)`` -> ``RunResult``
(callbacks: plain objects with any of ``on_step_end(state)``, ``on_log(state, logs)``, ``on_save(state, folder)``,
... see ``Callback``); ``combine_runs(out, runs)`` merges role runs into one multi-role checkpoint.
"""

from __future__ import annotations

from videomind.lazy import lazy_exports

_LAZY = {
    "RunConfig": "videomind.train.config",
    "load_config": "videomind.train.config",
    "run_training": "videomind.train.run",
    "RunResult": "videomind.train.run",
    "combine_runs": "videomind.train.combine",
    "Callback": "videomind.train.loop",
    "TrainingLoop": "videomind.train.loop",
    "TrainState": "videomind.train.checkpoints",
}
__all__ = sorted(_LAZY)


__getattr__, __dir__ = lazy_exports(__name__, _LAZY)
