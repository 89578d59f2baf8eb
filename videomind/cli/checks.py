"""Checks the command line runs before any model loads: numbers in range, devices and dtypes that exist here,
output paths that can be written, videos that are videos. Each failure is a ``UserInputError`` (one line, exit 2)
that names the allowed values; argparse ``type=`` helpers raise ``argparse.ArgumentTypeError`` the same way.
"""

from __future__ import annotations

import argparse
import os
from pathlib import Path

from videomind.errors import UserInputError

DEVICE_KINDS = ("cpu", "cuda", "mps", "npu")
DEVICE_HELP = "auto, cpu, cuda, cuda:N, mps or npu"
DTYPE_CHOICES = ("auto", "float32", "bfloat16", "float16", "fp32", "bf16", "fp16")


def _int_at_least(text: str, lowest: int) -> int:
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(
            f"must be a whole number of at least {lowest}, got {text!r}"
        ) from None
    if value < lowest:
        raise argparse.ArgumentTypeError(f"must be at least {lowest}, got {value}")
    return value


def positive_int(text: str) -> int:
    """argparse type: a whole number of at least 1."""
    return _int_at_least(text, 1)


def non_negative_int(text: str) -> int:
    """argparse type: a whole number of at least 0."""
    return _int_at_least(text, 0)


def check_device(device: str) -> str:
    """``device`` if this machine has it (``auto`` always), else ``UserInputError`` with the allowed values."""
    if device == "auto":
        return device
    import torch

    try:
        parsed = torch.device(device)
    except (RuntimeError, ValueError):
        raise UserInputError(f"unknown --device {device!r}; use {DEVICE_HELP}") from None
    if parsed.type not in DEVICE_KINDS:
        raise UserInputError(f"--device {device!r} is not supported; use {DEVICE_HELP}")
    problem = _device_problem(parsed)
    if problem:
        raise UserInputError(f"--device {device}: {problem}; use --device cpu (or auto)")
    return device


def _device_problem(device) -> str | None:
    import torch

    if device.type == "cuda":
        if torch.version.cuda is None and torch.version.hip is None:
            return "this torch build has no CUDA (install a CUDA build of torch to use a GPU)"
        count = torch.cuda.device_count() if torch.cuda.is_available() else 0
        if count == 0:
            return "no CUDA GPU is visible (check the driver and CUDA_VISIBLE_DEVICES)"
        if device.index is not None and device.index >= count:
            return f"there are {count} CUDA device(s), numbered 0-{count - 1}"
    if device.type == "mps":
        mps = getattr(torch.backends, "mps", None)
        if mps is None or not mps.is_available():
            return "Apple MPS is not available on this machine"
    if device.type == "npu":
        import importlib.util

        if importlib.util.find_spec("torch_npu") is None:
            return "Ascend NPUs need the torch_npu package"
    return None


def check_dtype(dtype: str) -> str:
    if dtype not in DTYPE_CHOICES:
        raise UserInputError(f"unknown --dtype {dtype!r}; use one of {', '.join(DTYPE_CHOICES)}")
    return dtype


def check_model_arguments(args: argparse.Namespace) -> None:
    """--device and --dtype of a command that loads a model."""
    check_device(args.device)
    check_dtype(args.dtype)


def check_output_file(path: str | Path, flag: str, suffixes: tuple[str, ...] | None = None) -> Path:
    """A file the command will write: its folder exists and is writable, it is not a folder, and its suffix is one
    of ``suffixes`` (when given)."""
    out = Path(path)
    if out.is_dir():
        raise UserInputError(
            f"{flag} {path} is a folder; give a file name, e.g. {flag} {out / 'timeline.png'}"
        )
    folder = out.parent if str(out.parent) else Path(".")
    if not folder.is_dir():
        raise UserInputError(f"{flag} {path}: the folder {folder} does not exist; create it first")
    if not os.access(folder, os.W_OK):
        raise UserInputError(f"{flag} {path}: the folder {folder} is not writable")
    if suffixes is not None and out.suffix.lower().lstrip(".") not in suffixes:
        raise UserInputError(
            f"{flag} {path}: unsupported file type {out.suffix or '(none)'!r}; use one of "
            + ", ".join(f".{s}" for s in suffixes)
        )
    return out


def plot_formats() -> tuple[str, ...]:
    """The file types matplotlib can write (``UserInputError`` when matplotlib is missing)."""
    try:
        from matplotlib.backend_bases import FigureCanvasBase
    except ImportError:
        raise UserInputError("--plot needs matplotlib: pip install 'videomind[plot]'") from None
    return tuple(sorted(FigureCanvasBase.get_supported_filetypes()))


def check_plot(path: str | Path | None) -> None:
    if path is not None:
        check_output_file(path, "--plot", plot_formats())


def check_readable_file(path: str | Path | None, flag: str) -> None:
    if path is None:
        return
    p = Path(path)
    if not p.is_file():
        raise UserInputError(f"{flag} {path}: no such file")
    if not os.access(p, os.R_OK):
        raise UserInputError(f"{flag} {path}: the file is not readable")
