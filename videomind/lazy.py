"""Lazy package exports: ``import videomind`` (or a subpackage) stays cheap and imports nothing heavy.

Each package lists its public names and the module that defines them; :func:`lazy_exports` returns the module-level
``__getattr__`` / ``__dir__`` pair (PEP 562) that imports a name's module on first access. One helper instead of a
copy per package; scientific-python's ``lazy_loader`` does the same with stub files, not worth a dependency here.
"""

from __future__ import annotations

import importlib
import sys
from collections.abc import Callable, Mapping
from typing import Any


def lazy_exports(
    package: str, exports: Mapping[str, str], before_import: Callable[[], None] | None = None
) -> tuple[Callable[[str], Any], Callable[[], list[str]]]:
    """``(__getattr__, __dir__)`` for ``package`` whose names in ``exports`` (name -> defining module) load lazily.

    ``before_import`` runs before a lazy import (e.g. to say how to install an optional extra).
    """

    def __getattr__(name: str) -> Any:
        module = exports.get(name)
        if module is None:
            raise AttributeError(f"module {package!r} has no attribute {name!r}")
        if before_import is not None:
            before_import()
        return getattr(importlib.import_module(module), name)

    def __dir__() -> list[str]:
        return sorted(set(vars(sys.modules[package])) | set(exports))

    return __getattr__, __dir__
