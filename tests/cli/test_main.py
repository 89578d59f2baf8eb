"""The entry point: a subcommand whose module does not import is listed and explained, not silently dropped;
argparse errors are one line; run faults are one line with exit 3."""

import sys
import types

import pytest

from videomind.cli import main as main_module
from videomind.cli.main import build_parser, main


def test_a_command_whose_module_fails_to_import_says_so(monkeypatch, capsys, caplog):
    broken = types.ModuleType("videomind.cli.broken")
    monkeypatch.setitem(sys.modules, "videomind.cli.broken", None)  # importing it raises ImportError
    monkeypatch.setattr(main_module, "SUBCOMMANDS", {**main_module.SUBCOMMANDS, "broken": broken.__name__})
    with pytest.raises(SystemExit):
        build_parser().parse_args(["--help"])
    listing = capsys.readouterr().out
    assert "broken" in listing and "(unavailable: videomind.cli.broken failed to import)" in listing
    assert main(["broken", "--anything"]) == 2 and main(["broken", "--help"]) == 2
    assert "the `broken` command is unavailable: videomind.cli.broken failed to import" in caplog.text
    assert main(["data", "list", "--json"]) == 0  # the others still work


def test_argparse_errors_are_one_line(capsys):
    with pytest.raises(SystemExit) as info:
        main(["ground", "v.mp4", "q", "--top-k", "zero"])
    err = capsys.readouterr().err.strip().splitlines()
    assert info.value.code == 2 and len(err) == 1
    assert (
        "argument --top-k: must be a whole number of at least 1, got 'zero'" in err[0] and "--help" in err[0]
    )


def test_a_run_fault_outside_eval_is_one_line_and_exit_3(monkeypatch, caplog):
    import torch

    def out_of_memory(args):
        raise torch.OutOfMemoryError("CUDA out of memory. Tried to allocate 20.00 GiB\nmore details")

    parser = build_parser()
    monkeypatch.setattr(main_module, "build_parser", lambda: parser)
    args = parser.parse_args(["data", "list"])
    args.func = out_of_memory
    monkeypatch.setattr(parser, "parse_args", lambda argv=None: args)
    assert main(["data", "list"]) == 3
    errors = [r.getMessage() for r in caplog.records if r.levelname == "ERROR"]
    assert (
        len(errors) == 1 and "OutOfMemoryError: CUDA out of memory. Tried to allocate 20.00 GiB" in errors[0]
    )
    assert "more details" not in errors[0]
