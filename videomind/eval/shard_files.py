"""The prediction folder's files as ``eval predict`` maintains them: repairing a torn last line, dropping the failed
lines of ids that are run again.

Each process of a run appends only to its own shard file (``predictions.rank{i}-of-{n}.jsonl``), so it may rewrite
that file freely before it starts. A file of another shard count (a previous run with more or fewer processes) is
appended to by nobody in the current run; processes that rewrite such a file take an exclusive lock on the folder's
lock file first, so two of them never rewrite it at once. Files of the current shard count that belong to other
processes are never touched.
"""

from __future__ import annotations

import contextlib
import json
import logging
import os
from collections.abc import Collection, Iterator
from pathlib import Path

log = logging.getLogger(__name__)

LOCK_FILE = ".predict.lock"
SHARD_GLOB = "*.jsonl"


def repair_torn_tail(path: Path) -> int:
    """Cut a partial last line (a run killed mid-write) off ``path``; returns the bytes removed.

    Without this, the next run's first line would follow the partial one, which then sits in the middle of the file
    where no reader can tell it from a damaged line (``eval score --strict`` would fail for ever).
    """
    if not path.is_file():
        return 0
    size = path.stat().st_size
    if not size:
        return 0
    with open(path, "rb+") as file:
        file.seek(size - 1)
        if file.read(1) == b"\n":
            return 0
        keep = _last_newline_end(file, size)
        file.truncate(keep)
    log.warning("%s: removed a partial last line (%d bytes) left by a killed run", path.name, size - keep)
    return size - keep


def _last_newline_end(file, size: int, block: int = 1 << 16) -> int:
    """Offset just after the last ``\\n`` of the first ``size`` bytes of ``file`` (0 when there is none)."""
    end = size
    while end > 0:
        start = max(0, end - block)
        file.seek(start)
        chunk = file.read(end - start)
        cut = chunk.rfind(b"\n")
        if cut >= 0:
            return start + cut + 1
        end = start
    return 0


def drop_failed_lines(folder: Path, ids: Collection[str], own: Path, shard_count: int) -> int:
    """Remove the lines that recorded a failure of one of ``ids`` from the files this process may rewrite (its own
    shard file and files of other shard counts); returns how many lines were removed."""
    if not ids:
        return 0
    wanted = set(ids)
    removed = 0
    current = f"-of-{shard_count}.jsonl"
    with folder_lock(folder):
        for path in sorted(folder.glob(SHARD_GLOB)):
            if path == own or not path.name.endswith(current):
                removed += _rewrite_without(path, wanted)
    return removed


def _rewrite_without(path: Path, ids: set[str]) -> int:
    lines = path.read_text(encoding="utf-8", errors="replace").splitlines(keepends=True)
    kept = [line for line in lines if not _is_failure_of(line, ids)]
    if len(kept) == len(lines):
        return 0
    tmp = path.with_name(path.name + ".tmp")
    with open(tmp, "w", encoding="utf-8") as file:
        file.writelines(kept)
        file.flush()
        os.fsync(file.fileno())
    tmp.replace(path)
    log.info("%s: removed %d failed line(s) to run them again", path.name, len(lines) - len(kept))
    return len(lines) - len(kept)


def _is_failure_of(line: str, ids: set[str]) -> bool:
    try:
        obj = json.loads(line)
    except json.JSONDecodeError:
        return False
    return isinstance(obj, dict) and str(obj.get("id")) in ids and bool(obj.get("error"))


@contextlib.contextmanager
def folder_lock(folder: Path) -> Iterator[None]:
    """An exclusive advisory lock on ``folder/.predict.lock`` (POSIX ``flock``; elsewhere no lock is taken)."""
    try:
        import fcntl
    except ImportError:  # Windows: runs there are single-process in practice; nothing to serialise
        yield
        return
    with open(folder / LOCK_FILE, "a") as handle:
        fcntl.flock(handle, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(handle, fcntl.LOCK_UN)
