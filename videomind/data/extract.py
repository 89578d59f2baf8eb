"""Join split archives (``videos.tar.gz.00``, ``.01``, ...) and extract them as one stream, safely and resumably.

The parts are read one after the other as a single stream (never concatenated on disk) and decompressed on the fly.
Members whose path leaves the target folder (absolute paths, ``..``), links pointing outside it, and device or pipe
members are refused and named in the report; the other members are extracted. Each file is written to a temporary
name and renamed when complete, so an interrupted run leaves no truncated file; a rerun skips files already present
with the right size, and skips whole archives finished before (a ``.<archive>.done`` marker beside the parts).
"""

from __future__ import annotations

import io
import json
import logging
import os
import re
import shutil
import tarfile
import zlib
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from pathlib import Path

from videomind.errors import DataError

log = logging.getLogger(__name__)

ARCHIVE_PATTERN = re.compile(r"^(?P<name>.+\.(?:tar\.gz|tgz|tar))(?:\.(?P<part>\d+))?$")
PART_SUFFIX = ".vmpart"  # files being written
CHUNK_BYTES = 1 << 20
GZIP_WBITS = 16 + zlib.MAX_WBITS  # zlib's gzip container mode


@dataclass(frozen=True)
class Archive:
    """One archive: a single file or numbered parts to be read in order."""

    name: str  # e.g. "videos.tar.gz"
    folder: Path
    parts: tuple[Path, ...]

    @property
    def size(self) -> int:
        return sum(p.stat().st_size for p in self.parts)

    @property
    def marker(self) -> Path:
        return self.folder / f".{self.name}.done"


@dataclass
class ExtractReport:
    archive: str
    target: Path
    extracted: int = 0
    skipped: int = 0
    refused: list[tuple[str, str]] = field(default_factory=list)  # (member name, reason)
    already_done: bool = False


class _ConcatReader(io.RawIOBase):
    """The parts of an archive as one readable stream; ``on_read(n)`` is called with every chunk size."""

    def __init__(self, parts: Iterable[Path], on_read: Callable[[int], object] = lambda n: None) -> None:
        self._parts = list(parts)
        self._current = None
        self._on_read = on_read

    def readable(self) -> bool:
        return True

    def readinto(self, buffer) -> int:
        while True:
            if self._current is None:
                if not self._parts:
                    return 0
                self._current = self._parts.pop(0).open("rb")
            n = self._current.readinto(buffer)
            if n:
                self._on_read(n)
                return n
            self._current.close()
            self._current = None

    def close(self) -> None:
        if self._current is not None:
            self._current.close()
        super().close()


class _Gunzip(io.RawIOBase):
    """Decompress a gzip stream, raising ``EOFError`` when it ends before its end-of-stream marker.

    ``tarfile``'s own stream mode stops quietly at a truncated archive, which would make a half-downloaded split
    archive look fully extracted; data after the first gzip member (padding) is ignored.
    """

    def __init__(self, raw: io.BufferedReader) -> None:
        self._raw = raw
        self._d = zlib.decompressobj(GZIP_WBITS)
        self._pending = memoryview(b"")

    def readable(self) -> bool:
        return True

    def readinto(self, buffer) -> int:
        while not self._pending:
            if self._d.eof:
                return 0
            data = self._d.unconsumed_tail or self._raw.read(CHUNK_BYTES)
            if not data:
                raise EOFError("compressed data ended before the end-of-stream marker (truncated download?)")
            self._pending = memoryview(self._d.decompress(data, CHUNK_BYTES))
        n = min(len(buffer), len(self._pending))
        buffer[:n] = self._pending[:n]
        self._pending = self._pending[n:]
        return n


def _open_stream(archive: Archive, on_read: Callable[[int], object]) -> io.BufferedReader:
    raw = io.BufferedReader(_ConcatReader(archive.parts, on_read), CHUNK_BYTES)
    return raw if archive.name.endswith(".tar") else io.BufferedReader(_Gunzip(raw), CHUNK_BYTES)


def find_archives(folder: Path) -> list[Archive]:
    """Every archive under ``folder`` (recursive), split parts grouped and ordered; gaps raise ``DataError``."""
    groups: dict[tuple[Path, str], dict[int, Path]] = {}
    for path in sorted(Path(folder).rglob("*")):
        match = ARCHIVE_PATTERN.match(path.name)
        if match and path.is_file():
            part = int(match["part"]) if match["part"] is not None else -1
            groups.setdefault((path.parent, match["name"]), {})[part] = path
    out = []
    for (parent, name), parts in sorted(groups.items()):
        numbers = sorted(parts)
        if numbers != list(range(numbers[0], numbers[0] + len(numbers))) or (-1 in parts and len(parts) > 1):
            raise DataError(
                f"{parent / name}: parts {', '.join(p.name for p in parts.values())} are not consecutive; "
                "download the missing parts before extracting"
            )
        out.append(Archive(name, parent, tuple(parts[n] for n in numbers)))
    return out


def _inside(path: str, target: str) -> bool:
    return os.path.commonpath([path, target]) == target


def refusal(member: tarfile.TarInfo, target: Path) -> str | None:
    """Why ``member`` must not be extracted into ``target`` (None when it is safe)."""
    root = os.path.realpath(target)
    if os.path.isabs(member.name) or re.match(r"^[A-Za-z]:", member.name):
        return "absolute path"
    dest = os.path.join(
        os.path.realpath(os.path.join(root, os.path.dirname(member.name))), os.path.basename(member.name)
    )
    if not _inside(os.path.normpath(dest), root):
        return "path escapes the target folder"
    if member.issym():
        pointed = os.path.normpath(os.path.join(os.path.dirname(dest), member.linkname))
        if os.path.isabs(member.linkname) or not _inside(pointed, root):
            return f"symbolic link to {member.linkname!r} points outside the target folder"
    if member.islnk() and (
        os.path.isabs(member.linkname)
        or not _inside(os.path.normpath(os.path.join(root, member.linkname)), root)
    ):
        return f"hard link to {member.linkname!r} points outside the target folder"
    if member.ischr() or member.isblk() or member.isfifo():
        return "device or pipe member"
    return None


def _write_file(tar: tarfile.TarFile, member: tarfile.TarInfo, dest: Path) -> bool:
    """Extract one regular file atomically; False when an identical-size file is already there."""
    if dest.is_file() and dest.stat().st_size == member.size:
        return False
    dest.parent.mkdir(parents=True, exist_ok=True)
    tmp = dest.with_name(dest.name + PART_SUFFIX)
    src = tar.extractfile(member)
    try:
        with src, tmp.open("wb") as dst:
            shutil.copyfileobj(src, dst, CHUNK_BYTES)
    except BaseException:
        tmp.unlink(missing_ok=True)
        raise
    os.utime(tmp, (member.mtime, member.mtime))
    os.replace(tmp, dest)
    return True


def _extract_member(
    tar: tarfile.TarFile, member: tarfile.TarInfo, target: Path, report: ExtractReport
) -> None:
    dest = target / member.name
    if member.isdir():
        dest.mkdir(parents=True, exist_ok=True)
        return
    if member.isfile():
        done = _write_file(tar, member, dest)
        report.extracted += done
        report.skipped += not done
        return
    if dest.exists() or dest.is_symlink():
        report.skipped += 1
        return
    dest.parent.mkdir(parents=True, exist_ok=True)
    if member.issym():
        os.symlink(member.linkname, dest)
    elif not (target / member.linkname).is_file():
        report.refused.append((member.name, f"hard link target {member.linkname!r} was not extracted"))
        return
    else:
        os.link(target / member.linkname, dest)
    report.extracted += 1


def _extract_or_refuse(
    tar: tarfile.TarFile, member: tarfile.TarInfo, target: Path, report: ExtractReport
) -> None:
    reason = refusal(member, target)
    if reason is None:
        _extract_member(tar, member, target, report)
    else:
        log.warning("refused member %r of %s: %s", member.name, report.archive, reason)
        report.refused.append((member.name, reason))


def _marker_state(archive: Archive) -> dict:
    return {"parts": [[p.name, p.stat().st_size] for p in archive.parts]}


def _is_done(archive: Archive) -> bool:
    try:
        return json.loads(archive.marker.read_text())["parts"] == _marker_state(archive)["parts"]
    except (OSError, ValueError, KeyError, TypeError):
        return False


def extract_archive(
    archive: Archive, target: Path | None = None, *, progress: bool = True, force: bool = False
) -> ExtractReport:
    """Extract one (possibly split) archive into ``target`` (default: the archive's folder)."""
    target = Path(target or archive.folder)
    report = ExtractReport(archive=str(archive.folder / archive.name), target=target)
    if not force and _is_done(archive):
        report.already_done = True
        return report
    target.mkdir(parents=True, exist_ok=True)
    from tqdm.auto import tqdm

    with tqdm(total=archive.size, unit="B", unit_scale=True, desc=archive.name, disable=not progress) as bar:
        try:
            with _open_stream(archive, bar.update) as stream:
                with tarfile.open(fileobj=stream, mode="r|") as tar:
                    for member in tar:
                        _extract_or_refuse(tar, member, target, report)
                while stream.read(CHUNK_BYTES):  # read to the end so that truncation is noticed
                    pass
        except (tarfile.TarError, EOFError, zlib.error) as exc:
            raise DataError(
                f"{report.archive}: corrupt or truncated archive ({exc}); re-download its parts and run again "
                "(files already extracted are kept)"
            ) from exc
    archive.marker.write_text(json.dumps({**_marker_state(archive), "refused": report.refused}))
    return report


def extract_all(
    folder: Path,
    target: Path | None = None,
    *,
    progress: bool = True,
    force: bool = False,
    delete: bool = False,
) -> list[ExtractReport]:
    """Extract every archive under ``folder``; with ``delete``, remove the parts of archives extracted cleanly."""
    archives = find_archives(folder)
    if not archives:
        raise DataError(f"no archives (*.tar.gz, *.tar.gz.00, *.tgz, *.tar) found under {folder}")
    reports = []
    for archive in archives:
        report = extract_archive(archive, target, progress=progress, force=force)
        if delete and not report.refused:
            for part in archive.parts:
                part.unlink()
        reports.append(report)
    return reports
