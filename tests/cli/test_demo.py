"""``videomind demo``: flags, the message when gradio is missing, and no gradio import at ``videomind --help``."""

import subprocess
import sys

import pytest

from videomind.cli import demo as demo_cli
from videomind.cli.main import build_parser, main


def test_flags_have_safe_defaults():
    args = build_parser().parse_args(["demo"])
    config = demo_cli.config_from_args(args)
    assert (config.host, config.port, args.model) == ("127.0.0.1", 7860, None)
    args = build_parser().parse_args(
        ["demo", "--host", "0.0.0.0", "--port", "8000", "--max-upload-mb", "5", "--max-duration", "90",
         "--queue-size", "3", "--model", "ckpt"]
    )  # fmt: skip
    config = demo_cli.config_from_args(args)
    assert (config.host, config.port, config.queue_size, args.model) == ("0.0.0.0", 8000, 3, "ckpt")
    assert (config.limits.max_upload_mb, config.limits.max_duration) == (5.0, 90.0)


def test_without_gradio_the_command_says_how_to_install_it(monkeypatch, caplog):
    monkeypatch.setitem(sys.modules, "gradio", None)  # as if not installed
    monkeypatch.setattr("videomind.cli.ask.build_agent", lambda args: pytest.fail("loaded a model first"))
    assert main(["demo"]) == 2
    assert 'pip install "videomind[demo]"' in caplog.text


def test_bad_flags_are_refused_before_anything_loads(caplog):
    assert main(["demo", "--max-upload-mb", "0"]) == 2
    assert "--max-upload-mb must be positive" in caplog.text


def test_the_command_line_does_not_import_gradio():
    code = (
        "import sys, contextlib, io\n"
        "from videomind.cli.main import main\n"
        "with contextlib.redirect_stdout(io.StringIO()):\n"
        "    try: main(['--help'])\n"
        "    except SystemExit: pass\n"
        "import videomind, videomind.demo\n"
        "assert 'gradio' not in sys.modules, 'gradio imported'\n"
    )
    subprocess.run([sys.executable, "-c", code], check=True, timeout=600)
