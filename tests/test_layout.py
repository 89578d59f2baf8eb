"""The architecture's arrows point one way (docs/ARCHITECTURE.md): a module may import only from its own layer or
below. Every import counts, including those inside functions (lazy imports are still dependencies)."""

from __future__ import annotations

import ast
import subprocess
import sys
from pathlib import Path

import pytest

from videomind.lazy import lazy_exports

PACKAGE = Path(__file__).resolve().parents[1] / "videomind"
CORE = {"records", "prompts", "spans", "errors", "lazy"}  # top-level modules every layer may use
# Per package: what it must never import (the layers above it).
APPLICATIONS = {"agent", "train", "eval", "demo", "bench", "cli"}
FORBIDDEN = {
    "data": APPLICATIONS | {"model"},
    "metrics": APPLICATIONS | {"model", "data", "video"},
    "video": APPLICATIONS | {"model", "data", "metrics"},
    "model": APPLICATIONS,
}


def imported_packages(path: Path) -> set[str]:
    """The first component below ``videomind`` of every module ``path`` imports."""
    out = set()
    for node in ast.walk(ast.parse(path.read_text(), str(path))):
        names = []
        if isinstance(node, ast.Import):
            names = [alias.name for alias in node.names]
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            names = [node.module] + [
                f"{node.module}.{a.name}" for a in node.names if node.module == "videomind"
            ]
        for name in names:
            parts = name.split(".")
            if parts[0] == "videomind" and len(parts) > 1:
                out.add(parts[1])
    return out


def violations(layer: str, forbidden: set[str]) -> list[str]:
    found = []
    for path in sorted((PACKAGE / layer).rglob("*.py")):
        bad = imported_packages(path) & forbidden
        found += [f"{path.relative_to(PACKAGE.parent)} imports videomind.{b}" for b in sorted(bad)]
    return found


@pytest.mark.parametrize("layer", sorted(FORBIDDEN))
def test_lower_layers_never_import_upper_ones(layer):
    assert violations(layer, FORBIDDEN[layer]) == []


def test_core_modules_import_no_package():
    packages = {p.name for p in PACKAGE.iterdir() if p.is_dir() and (p / "__init__.py").is_file()}
    for name in CORE:
        assert imported_packages(PACKAGE / f"{name}.py") & packages == set(), name


def test_the_check_would_catch_a_violation(tmp_path, monkeypatch):
    bad = tmp_path / "videomind" / "data"
    bad.mkdir(parents=True)
    (bad / "x.py").write_text("def f():\n    from videomind.model.checkpoint import load_model\n")
    monkeypatch.setattr(sys.modules[__name__], "PACKAGE", tmp_path / "videomind")
    assert violations("data", FORBIDDEN["data"]) == ["videomind/data/x.py imports videomind.model"]


def test_importing_the_packages_loads_neither_torch_nor_transformers():
    # (videomind.metrics is the exception: its IoU tables are torch ops from videomind.spans)
    code = (
        "import sys, videomind, videomind.model, videomind.data, videomind.eval, videomind.train, videomind.video, "
        "videomind.demo; print(sorted({'torch', 'transformers', 'gradio'} & set(sys.modules)))"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout
    assert out.strip() == "[]"


def test_lazy_exports_import_on_first_access_and_name_unknown_attributes():
    calls = []
    getattr_, dir_ = lazy_exports(__name__, {"sqrt": "math"}, before_import=lambda: calls.append(1))
    assert getattr_("sqrt")(9.0) == 3.0 and calls == [1]
    assert "sqrt" in dir_() and "violations" in dir_()
    with pytest.raises(AttributeError, match="no attribute 'nope'"):
        getattr_("nope")
