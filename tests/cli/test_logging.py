"""Logging of the command line: multi-process runs log information once (rank 0); every rank logs warnings."""

import os
import subprocess
import sys

import pytest

SCRIPT = (
    "import logging; from videomind.cli.main import configure_logging; configure_logging(0, False); "
    "log = logging.getLogger('videomind.x'); log.info('information'); log.warning('a warning')"
)


@pytest.mark.parametrize(
    ("rank", "info", "prefix"), [("0", True, "WARNING videomind"), ("3", False, "WARNING [rank 3]")]
)
def test_only_rank_zero_logs_information(rank, info, prefix):
    env = os.environ | {"RANK": rank, "WORLD_SIZE": "4"}
    err = subprocess.run(
        [sys.executable, "-c", SCRIPT], env=env, capture_output=True, text=True, check=True
    ).stderr
    assert ("information" in err) is info
    assert prefix in err and "a warning" in err
