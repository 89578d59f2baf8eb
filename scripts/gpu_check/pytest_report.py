"""GPU check, part ``pytest``: the oracle's fidelity tests and the device tests with ``VIDEOMIND_TEST_DEVICE`` set
to the device (the driver sets it), read back from pytest's JUnit XML."""

from __future__ import annotations

import xml.etree.ElementTree as ET
from pathlib import Path
from typing import Any


def pytest_figures(junit: Path, code: int) -> dict[str, Any]:
    """Counts and failing test names; passes when pytest exited 0 having run at least one test."""
    if not junit.is_file():
        return {"passed": False, "error": f"pytest wrote no report (exit {code})"}
    root = ET.parse(junit).getroot()
    suite = root if root.tag == "testsuite" else root.find("testsuite")
    counts = {k: int(suite.get(k, 0)) for k in ("tests", "failures", "errors", "skipped")}
    failed = [f"{case.get('classname')}::{case.get('name')}" for case in suite.iter("testcase")
              if case.find("failure") is not None or case.find("error") is not None]  # fmt: skip
    ran = counts["tests"] - counts["skipped"]
    return {**counts, "ran": ran, "failed": failed[:20], "passed": code == 0 and ran > 0 and not failed}
