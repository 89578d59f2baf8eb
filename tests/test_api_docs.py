"""The public entry points are documented: Google-style docstrings (Args / Returns) and a row in docs/API.md."""

import importlib
import inspect
from pathlib import Path

import pytest

API_PAGE = Path(__file__).resolve().parents[1] / "docs" / "API.md"
ENTRY_POINTS = [
    ("videomind.agent.agent", "VideoMindAgent.from_pretrained"),
    ("videomind.agent.agent", "VideoMindAgent.run"),
    ("videomind.agent.agent", "VideoMindAgent.ground"),
    ("videomind.agent.agent", "VideoMindAgent.verify"),
    ("videomind.model.checkpoint", "load_model"),
    ("videomind.model.checkpoint", "save_checkpoint"),
    ("videomind.eval.predict", "predict"),
    ("videomind.eval.score", "score_folder"),
    ("videomind.data.registry", "get_source"),
]


def resolve(module: str, name: str):
    obj = importlib.import_module(module)
    for part in name.split("."):
        obj = getattr(obj, part)
    return obj


@pytest.mark.parametrize(("module", "name"), ENTRY_POINTS)
def test_entry_point_has_a_google_style_docstring_naming_its_arguments(module, name):
    func = resolve(module, name)
    doc = inspect.getdoc(func) or ""
    assert "Args:" in doc and "Returns:" in doc, name
    args_section = doc.split("Args:")[1].split("Returns:")[0]
    params = [p for p in inspect.signature(func).parameters if p not in ("self", "cls")]
    for param in params:
        documented = param.lstrip("*") if param.startswith("**") else param
        assert f"{documented}:" in args_section or f"**{documented}:" in args_section, f"{name}: {param}"


@pytest.mark.parametrize(("module", "name"), ENTRY_POINTS)
def test_entry_point_is_on_the_api_page(module, name):
    assert f"`{name.split('.')[-1]}(" in API_PAGE.read_text() or f"`{name}(" in API_PAGE.read_text(), name
