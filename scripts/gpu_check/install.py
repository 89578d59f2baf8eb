"""``make gpu-wheels`` / ``make gpu-check`` helpers: unpack the carried wheels, and check what travels to the GPU
machine fits its 64 MiB (the working tree's files git does not ignore, plus the carried wheels).

The wheels go into ``.gpu-site/`` (``pip install --no-deps --no-index --target``; beside the machine's own Python,
never into it: a PEP 668 "externally managed" Python refuses installs into its site-packages, and ``--target``
needs neither that nor the network). Without pip, the wheels are unzipped there (a wheel is a zip of its
installed files). The project itself is imported from the working tree (the check puts it on ``PYTHONPATH``),
without its dependencies.
"""

from __future__ import annotations

import importlib.metadata
import importlib.util
import subprocess
import sys
import zipfile
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
WHEELS, SITE = ROOT / ".gpu-wheels", ROOT / ".gpu-site"
TRAVEL_LIMIT = 64 * 2**20


def install() -> int:
    """Install the wheels whose distribution this Python lacks (on a developer's or CI's machine: none)."""
    wheels = [w for w in sorted(WHEELS.glob("*.whl")) if not _installed(w.name.split("-")[0])]
    if not wheels:
        print("gpu-check: every carried wheel is installed already (or none is carried: make gpu-wheels)")
        return 0
    if importlib.util.find_spec("pip") is None:
        print(f"gpu-check: no pip here; unzipping the wheels into {SITE.name}/")
        for wheel in wheels:
            with zipfile.ZipFile(wheel) as archive:
                archive.extractall(SITE)
    else:
        command = [sys.executable, "-m", "pip", "install", "--quiet", "--no-deps", "--no-index", "--upgrade",
                   "--find-links", str(WHEELS), "--target", str(SITE), *map(str, wheels)]  # fmt: skip
        subprocess.run(command, check=True)
    print(f"gpu-check: {', '.join(w.name for w in wheels)} -> {SITE.name}/")
    return 0


def _installed(distribution: str) -> bool:
    """Installed in this Python or already unpacked into ``.gpu-site/`` by an earlier run."""
    try:
        importlib.metadata.distribution(distribution)
        return True
    except importlib.metadata.PackageNotFoundError:
        return any(SITE.glob(f"{distribution}-*.dist-info"))


def travel_size() -> int:
    """Bytes of what a device run copies: files git tracks or does not ignore, plus the wheels."""
    listed = subprocess.run(["git", "ls-files", "-z", "--cached", "--others", "--exclude-standard"], cwd=ROOT,
                            capture_output=True, check=True).stdout.split(b"\0")  # fmt: skip
    tree = sum(
        (ROOT / name.decode()).stat().st_size for name in listed if name and (ROOT / name.decode()).is_file()
    )
    wheels = sum(w.stat().st_size for w in WHEELS.glob("*.whl"))
    total = tree + wheels
    print(f"travels: working tree {tree / 2**20:.1f} MiB + wheels {wheels / 2**20:.1f} MiB = {total / 2**20:.1f} MiB "
          f"(limit {TRAVEL_LIMIT / 2**20:.0f} MiB)")  # fmt: skip
    if total > TRAVEL_LIMIT:
        print("too large to travel: drop a wheel (GPU_WHEELS=...) or untracked files", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    raise SystemExit({"install": install, "size": travel_size}[sys.argv[1]]())
