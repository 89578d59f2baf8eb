"""Readers of the annotation formats the official datasets ship (json, jsonl, csv, txt, pkl, parquet).

Every reader raises ``DataError`` naming the file (and the line where the format has lines) instead of a bare
``json.JSONDecodeError`` or ``csv.Error``. Nothing here knows about datasets.
"""

from __future__ import annotations

import csv
import io
import json
import pickle
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from videomind.errors import DataError

# Pickle executes code from the file it reads; the QuerYD files only hold containers of strings and numbers (numpy
# arrays in some releases), so everything else is refused.
_PICKLE_ALLOWED = {
    ("builtins", "dict"),
    ("builtins", "list"),
    ("builtins", "tuple"),
    ("builtins", "set"),
    ("builtins", "str"),
    ("builtins", "int"),
    ("builtins", "float"),
    ("collections", "OrderedDict"),
    ("numpy", "ndarray"),
    ("numpy", "dtype"),
    ("numpy.core.multiarray", "_reconstruct"),
    ("numpy.core.multiarray", "scalar"),
    ("numpy._core.multiarray", "_reconstruct"),
    ("numpy._core.multiarray", "scalar"),
}


def _open_error(path: Path, exc: OSError) -> DataError:
    return DataError(f"{path}: cannot be read ({exc.strerror or exc}); check the file and its permissions")


def read_json(path: Path) -> Any:
    """The parsed JSON document of ``path``."""
    try:
        with path.open(encoding="utf-8") as f:
            return json.load(f)
    except json.JSONDecodeError as exc:
        raise DataError(f"{path}: line {exc.lineno}: invalid JSON ({exc.msg}); re-download the file") from exc
    except OSError as exc:
        raise _open_error(path, exc) from exc


def read_jsonl(path: Path) -> Iterator[tuple[int, Any]]:
    """``(line number, parsed object)`` for every non-empty line of a JSON-lines file."""
    try:
        with path.open(encoding="utf-8") as f:
            for n, line in enumerate(f, 1):
                if not line.strip():
                    continue
                try:
                    yield n, json.loads(line)
                except json.JSONDecodeError as exc:
                    raise DataError(
                        f"{path}: line {n}: invalid JSON ({exc.msg}); re-download the file"
                    ) from exc
    except OSError as exc:
        raise _open_error(path, exc) from exc


def read_csv(path: Path) -> Iterator[tuple[int, dict[str, str]]]:
    """``(line number, row)`` for every row of a CSV file with a header line."""
    try:
        with path.open(encoding="utf-8", newline="") as f:
            reader = csv.DictReader(f)
            try:
                for row in reader:
                    yield reader.line_num, row
            except csv.Error as exc:
                raise DataError(f"{path}: line {reader.line_num}: invalid CSV ({exc})") from exc
    except OSError as exc:
        raise _open_error(path, exc) from exc


def read_lines(path: Path) -> Iterator[tuple[int, str]]:
    """``(line number, stripped line)`` for every non-empty line of a text file."""
    try:
        with path.open(encoding="utf-8") as f:
            for n, line in enumerate(f, 1):
                if line.strip():
                    yield n, line.strip()
    except OSError as exc:
        raise _open_error(path, exc) from exc


class _SafeUnpickler(pickle.Unpickler):
    def find_class(self, module: str, name: str) -> Any:
        if (module, name) not in _PICKLE_ALLOWED:
            raise pickle.UnpicklingError(f"refusing to load {module}.{name} (only plain data is allowed)")
        return super().find_class(module, name)


def read_pickle(path: Path) -> Any:
    """A pickle of plain containers, strings and numbers (numpy arrays allowed); code objects are refused."""
    try:
        data = path.read_bytes()
    except OSError as exc:
        raise _open_error(path, exc) from exc
    try:
        return _SafeUnpickler(io.BytesIO(data)).load()
    except (pickle.UnpicklingError, EOFError, AttributeError, ImportError, ValueError) as exc:
        raise DataError(f"{path}: not a readable data pickle ({exc}); re-download the file") from exc


def read_parquet(path: Path) -> list[dict[str, Any]]:
    """The rows of a parquet file as dicts (needs the optional ``pyarrow`` package)."""
    try:
        import pyarrow.parquet as pq
    except ImportError as exc:
        raise DataError(
            f"{path}: reading parquet needs pyarrow: `pip install pyarrow` "
            "(or convert the file to JSON lines with the same columns, see docs/DATA.md)"
        ) from exc
    try:
        return pq.read_table(path).to_pylist()
    except (OSError, ValueError) as exc:  # pyarrow's ArrowInvalid subclasses ValueError
        raise DataError(f"{path}: not a readable parquet file ({exc}); re-download the file") from exc
