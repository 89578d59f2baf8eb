"""Exceptions raised by videomind. Each message says what went wrong and what to do about it.

Exit codes of the command line (docs/FAILURES.md): 0 done; 1 done, but the command found problems it reports
(``data check``, ``video compress``, ``eval score --strict``); 2 a ``VideoMindError`` (bad input: one line saying what
to do); 3 a ``RunFaultError`` (a fault of the machine, not of the input: the run stopped cleanly and resumes when run
again); 130 interrupted.
"""

from __future__ import annotations

EXIT_BAD_INPUT = 2
EXIT_RUN_FAULT = 3

# Faults of the run rather than of one input: retrying later (or elsewhere) may succeed, so they must never be
# recorded as a sample's permanent failure. Matched by exception type name and message, so that no torch import
# is needed here (torch.OutOfMemoryError, torch.cuda.OutOfMemoryError, CUDA / cuDNN / cuBLAS / NCCL runtime errors,
# accelerator errors of MPS and Ascend NPUs, a worker pool whose process died, the host out of memory).
RUN_FAULT_TYPES = frozenset(
    {"OutOfMemoryError", "MemoryError", "BrokenProcessPool", "BrokenExecutor", "AcceleratorError"}
)
RUN_FAULT_MARKERS = (
    "out of memory",
    "cannot allocate memory",
    "cuda error",
    "cuda kernel errors",
    "device-side assert",
    "cudnn_status",
    "cublas_status",
    "cusolver_status",
    "nccl error",
    "mps backend out of memory",
    "npu error",
    "acl error",
)


class VideoMindError(Exception):
    """Base class: the command line turns these into a one-line message and exit code 2."""

    exit_code = EXIT_BAD_INPUT


class UserInputError(VideoMindError, ValueError):
    """An argument the caller gave cannot be used (empty question, options of the wrong type, ...)."""


class CheckpointError(VideoMindError):
    """A checkpoint folder is missing, incomplete or has keys that do not match the model."""


class DataError(VideoMindError):
    """An annotation file is missing or malformed; the message names the file, the record and the field."""


class RunFaultError(VideoMindError):
    """A run stopped on a fault of the machine (out of memory, a CUDA error, a dead worker, a full disk) or on
    too many failures in a row; nothing wrong was written, and running the same command again resumes."""

    exit_code = EXIT_RUN_FAULT


def is_run_fault(exc: BaseException) -> bool:
    """True when ``exc`` is a fault of the run (memory, accelerator, dead worker), not of one input."""
    if isinstance(exc, VideoMindError):
        return isinstance(exc, RunFaultError)
    if any(cls.__name__ in RUN_FAULT_TYPES for cls in type(exc).__mro__):
        return True
    if not isinstance(exc, (RuntimeError, OSError)):
        return False
    text = str(exc).lower()
    return any(marker in text for marker in RUN_FAULT_MARKERS)
