"""The web demo (``videomind demo``): a thin Gradio layer over ``VideoMindAgent`` (docs/DEMO.md).

Importing this package does not import gradio; ``build_demo`` / ``launch_demo`` (videomind.demo.app) do. Validation
(limits.py), rendering (render.py), clip cutting (clip.py) and the step stream (runner.py) need no gradio and are
tested as plain functions.
"""

from __future__ import annotations

import importlib
import importlib.util
from typing import TYPE_CHECKING

from videomind.demo.config import DemoConfig, DemoLimits
from videomind.errors import UserInputError
from videomind.lazy import lazy_exports

INSTALL_HINT = 'pip install "videomind[demo]"'

_LAZY = {"build_demo": "videomind.demo.app", "launch_demo": "videomind.demo.app"}

if TYPE_CHECKING:  # pragma: no cover
    from videomind.demo.app import build_demo, launch_demo


def require_gradio() -> None:
    """Raise a ``UserInputError`` saying how to install the demo extra when gradio is not importable."""
    try:
        found = importlib.util.find_spec("gradio") is not None
    except (ImportError, ValueError):
        found = False
    if not found:
        raise UserInputError(f"the web demo needs gradio, which is not installed: {INSTALL_HINT}")


__getattr__, __dir__ = lazy_exports(__name__, _LAZY, before_import=require_gradio)


__all__ = ["DemoConfig", "DemoLimits", "INSTALL_HINT", "require_gradio", "build_demo", "launch_demo"]
