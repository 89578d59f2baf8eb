"""Typed records from YAML: strict coercion of parsed data into (nested) dataclasses, and ``key=value`` overrides.

The schema is the dataclasses' type hints: unknown keys are errors that suggest the closest name, values are
converted only where nothing is lost (``1e-4`` read as text becomes a float, ``3.0`` an int), and every problem is one
:class:`~videomind.errors.UserInputError` line naming the setting. :mod:`videomind.train.config` holds the training
schema and uses these.
"""

from __future__ import annotations

import dataclasses
import difflib
import types
import typing
from dataclasses import asdict
from pathlib import Path
from typing import Any, Union

import yaml

from videomind.data.mixing import SourceSpec
from videomind.errors import UserInputError


def _hints(cls: type) -> dict[str, Any]:
    return typing.get_type_hints(cls)


def _is_optional(tp: Any) -> tuple[bool, Any]:
    if typing.get_origin(tp) in (Union, types.UnionType):
        args = [a for a in typing.get_args(tp) if a is not type(None)]
        if len(args) == 1:
            return True, args[0]
    return False, tp


def coerce(value: Any, tp: Any, where: str) -> Any:
    """Check / convert a parsed YAML value to the schema type ``tp`` (``where`` names it in errors)."""
    optional, tp = _is_optional(tp)
    if value is None:
        if optional:
            return None
        raise UserInputError(f"{where} may not be empty")
    origin = typing.get_origin(tp)
    if dataclasses.is_dataclass(tp):
        return build(tp, value, where)
    if origin is tuple:
        return _tuple(value, typing.get_args(tp), where)
    if origin is list:
        (item,) = typing.get_args(tp)
        items = value if isinstance(value, list) else [value]
        return [coerce(v, item, f"{where}.{i}") for i, v in enumerate(items)]
    if origin is dict:
        _, item = typing.get_args(tp)
        if not isinstance(value, dict):
            raise UserInputError(f"{where} must be a mapping, got {value!r}")
        return {str(k): coerce(v, item, f"{where}.{k}") for k, v in value.items()}
    return _scalar(value, tp, where)


def _tuple(value: Any, args: tuple, where: str) -> tuple:
    """``tuple[X, ...]`` (any length) or ``tuple[X, Y, Z]`` (exactly these) from a YAML list."""
    items = value if isinstance(value, (list, tuple)) else [value]
    if len(args) == 2 and args[1] is Ellipsis:
        return tuple(coerce(v, args[0], f"{where}.{i}") for i, v in enumerate(items))
    if len(items) != len(args):
        raise UserInputError(f"{where} must hold {len(args)} values, got {value!r}")
    return tuple(coerce(v, t, f"{where}.{i}") for i, (v, t) in enumerate(zip(items, args)))


def _scalar(value: Any, tp: Any, where: str) -> Any:
    number = isinstance(value, (int, float)) and not isinstance(value, bool)
    if tp is bool and isinstance(value, bool):
        return value
    if tp is int and number and float(value).is_integer():
        return int(value)
    if tp is float and number:
        return float(value)
    if tp is float and isinstance(value, str):  # YAML 1.1 reads "1e-4" as a string
        try:
            return float(value)
        except ValueError:
            pass
    if tp is str and (number or isinstance(value, str)):
        return str(value)
    raise UserInputError(f"{where} must be {getattr(tp, '__name__', tp)}, got {value!r}")


def build(cls: type, data: Any, where: str = "") -> Any:
    """An instance of the dataclass ``cls`` from a mapping (a bare string sets the first field, e.g. a dataset
    name); unknown keys are errors that suggest the closest field."""
    if isinstance(data, str) and cls is SourceSpec:
        data = {"name": data}
    if not isinstance(data, dict):
        raise UserInputError(f"{where or 'the config'} must be a mapping, got {data!r}")
    hints = _hints(cls)
    kwargs = {}
    for key, value in data.items():
        name = f"{where}.{key}" if where else key
        if key not in hints:
            raise UserInputError(f"unknown setting {name}{_suggest(key, hints)}")
        kwargs[key] = coerce(value, hints[key], name)
    try:
        return cls(**kwargs)
    except (TypeError, ValueError) as exc:  # a required field is missing, or the record refuses a value
        raise UserInputError(f"{where or 'config'}: {exc}") from exc


def _suggest(key: str, names) -> str:
    close = difflib.get_close_matches(key, list(names), n=1)
    return f"; did you mean {close[0]!r}?" if close else f"; known: {', '.join(names)}"


def to_dict(config: Any) -> dict[str, Any]:
    """The config as plain YAML-safe data (tuples become lists)."""
    return _plain(asdict(config))


def _plain(value: Any) -> Any:
    if isinstance(value, dict):
        return {k: _plain(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [_plain(v) for v in value]
    return value


def read_yaml(path: Path) -> dict[str, Any]:
    """The YAML mapping in ``path``, or one line saying why it is not one (binary, malformed, not a mapping)."""
    try:
        data = yaml.safe_load(path.read_text(encoding="utf-8"))
    except UnicodeDecodeError:
        raise UserInputError(
            f"config file {path} is not text (binary?); give a YAML preset from configs/train/"
        ) from None
    except yaml.YAMLError as exc:
        raise UserInputError(f"config file {path} is not valid YAML: {_yaml_problem(exc)}") from None
    if data is None:
        return {}
    if not isinstance(data, dict):
        raise UserInputError(
            f"config file {path} holds a {type(data).__name__}, not a mapping of sections (model:, data:, train:)"
        )
    return data


def _yaml_problem(exc: yaml.YAMLError) -> str:
    """PyYAML's several-line message as one line: the problem and where it is."""
    mark = getattr(exc, "problem_mark", None)
    problem = getattr(exc, "problem", None) or str(exc).splitlines()[0]
    return f"{problem} at line {mark.line + 1}, column {mark.column + 1}" if mark is not None else problem


def set_override(data: dict[str, Any], item: str, schema: type) -> None:
    """Set ``a.b.c=value`` in the nested dict ``data`` (list items by index). The path is checked against the
    dataclass ``schema`` at once; the value when the whole is built (:func:`build`)."""
    key, sep, raw = item.partition("=")
    if not sep or not key:
        raise UserInputError(f"override {item!r} is not key=value (e.g. train.learning_rate=2e-4)")
    try:
        value = yaml.safe_load(raw) if raw.strip() else None
    except yaml.YAMLError as exc:
        raise UserInputError(
            f"override {item!r}: the value is not valid YAML ({_yaml_problem(exc)}); quote text, close brackets, "
            "e.g. data.datasets=[synthetic]"
        ) from None
    parts = key.strip().split(".")
    _check_path(parts, item, schema)
    node: Any = data
    try:
        for i, part in enumerate(parts[:-1]):
            if isinstance(node, list):
                if isinstance(node[int(part)], str):  # a dataset given by name only
                    node[int(part)] = {"name": node[int(part)]}
                node = node[int(part)]
                continue
            if node.get(part) is None:
                node[part] = [] if parts[i + 1].isdigit() else {}
            node = node[part]
        if isinstance(node, list):
            node[int(parts[-1])] = value
        else:
            node[parts[-1]] = value
    except IndexError:
        raise UserInputError(f"override {item!r}: list index out of range") from None


def _check_path(parts: list[str], item: str, schema: type) -> None:
    """Fail early, with a suggestion, on a key that is not in the schema."""
    tp: Any = schema
    for part in parts:
        _, tp = _is_optional(tp)
        if dataclasses.is_dataclass(tp):
            hints = _hints(tp)
            if part not in hints:
                raise UserInputError(f"override {item!r}: no setting {part!r}{_suggest(part, hints)}")
            tp = hints[part]
        elif typing.get_origin(tp) is list:
            if not part.isdigit():
                raise UserInputError(f"override {item!r}: {part!r} must be a list index")
            tp = typing.get_args(tp)[0]
        elif typing.get_origin(tp) is dict:
            tp = typing.get_args(tp)[1]
        else:
            raise UserInputError(f"override {item!r}: {part!r} goes below a plain value")
