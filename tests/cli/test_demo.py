"""``videomind demo``: flags, the message when gradio is missing, and no gradio import at ``videomind --help``."""

import os
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


def test_a_busy_port_is_refused_before_the_model_loads(monkeypatch, caplog):
    import socket

    monkeypatch.setattr("videomind.cli.ask.build_agent", lambda args: pytest.fail("loaded a model first"))
    with socket.socket() as busy:
        busy.bind(("127.0.0.1", 0))
        busy.listen()
        assert main(["demo", "--port", str(busy.getsockname()[1])]) == 2
    assert "is in use" in caplog.text
    assert main(["demo", "--host", "no-such-host.invalid"]) == 2
    assert main(["demo", "--device", "banana"]) == 2


def test_the_page_says_when_it_runs_the_embedded_shapes_model():
    pytest.importorskip("gradio")
    from videomind.demo.app import _intro

    config = demo_cli.config_from_args(build_parser().parse_args(["demo"]))
    assert config.model_note == demo_cli.EMBEDDED_NOTE and "synthetic" in config.model_note
    assert config.model_note in _intro(config)
    assert (
        demo_cli.config_from_args(build_parser().parse_args(["demo", "--model", "ckpt"])).model_note is None
    )


def test_the_demo_removes_its_temporary_folder(tmp_path):
    pytest.importorskip("gradio")
    code = (
        "import tempfile, pathlib\n"
        "made = []\n"
        "mkdtemp = tempfile.mkdtemp\n"
        "tempfile.mkdtemp = lambda *a, **k: made.append(mkdtemp(*a, **k)) or made[-1]\n"
        "from videomind.demo.app import build_demo\n"
        "demo = build_demo(object())\n"
        "(pathlib.Path(made[0]) / 'clips' / 'cut.mp4').write_bytes(b'x')\n"
        "print(made[0])\n"
    )
    done = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, timeout=600, check=True
    )
    folder = done.stdout.strip().splitlines()[-1]
    assert "videomind-demo-" in folder and not os.path.exists(folder)
