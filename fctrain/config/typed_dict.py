"""Turn plain YAML data into typed dataclasses, with errors that name the key and the file.

This is deliberately small: dataclass fields + type hints are the schema, `field(metadata={"help": ...})` is
the documentation (docs/recipes.md is generated from it), and everything unknown is an error.
"""

from __future__ import annotations

import dataclasses
import difflib
import types
import typing
from typing import Any, Literal, Union

from fctrain.errors import ConfigError, FieldError


def _where(file: str | None, key: str) -> str:
    return f"{file}: '{key}'" if file else f"'{key}'"


def _type_name(tp: Any) -> str:
    origin = typing.get_origin(tp)
    if origin is Literal:
        return " | ".join(repr(a) for a in typing.get_args(tp))
    if origin in (Union, types.UnionType):
        return " | ".join(_type_name(a) for a in typing.get_args(tp))
    if origin is not None:
        args = ", ".join(_type_name(a) for a in typing.get_args(tp))
        return f"{getattr(origin, '__name__', str(origin))}[{args}]"
    if tp is type(None):
        return "null"
    return getattr(tp, "__name__", str(tp))


def coerce(tp: Any, value: Any, key: str, file: str | None) -> Any:
    """Check `value` against the type hint `tp` and convert it (nested dataclasses, lists, dicts)."""
    origin = typing.get_origin(tp)
    if tp is Any:
        return value
    if origin in (Union, types.UnionType):
        options = typing.get_args(tp)
        if value is None and type(None) in options:
            return None
        sections = [o for o in options if dataclasses.is_dataclass(o)]
        if isinstance(value, dict) and len(sections) == 1:
            return coerce(sections[0], value, key, file)  # its own error names the nested key
        errors = []
        for option in options:
            if option is type(None):
                continue
            try:
                return coerce(option, value, key, file)
            except ConfigError as e:
                errors.append(str(e))
        raise ConfigError(f"{_where(file, key)} must be {_type_name(tp)}, got {value!r}")
    if origin is Literal:
        allowed = typing.get_args(tp)
        if value not in allowed:
            raise ConfigError(f"{_where(file, key)} must be one of {list(allowed)}, got {value!r}")
        return value
    if origin in (list, tuple):
        if not isinstance(value, (list, tuple)):
            raise ConfigError(f"{_where(file, key)} must be a list ({_type_name(tp)}), got {value!r}")
        args = typing.get_args(tp)
        if origin is tuple and args and args[-1] is not Ellipsis:
            if len(args) != len(value):
                raise ConfigError(f"{_where(file, key)} must have {len(args)} items, got {len(value)}")
            return tuple(coerce(a, v, f"{key}.{i}", file) for i, (a, v) in enumerate(zip(args, value)))
        item = args[0] if args else Any
        out = [coerce(item, v, f"{key}.{i}", file) for i, v in enumerate(value)]
        return tuple(out) if origin is tuple else out
    if origin is dict:
        if not isinstance(value, dict):
            raise ConfigError(f"{_where(file, key)} must be a mapping, got {value!r}")
        _, vt = typing.get_args(tp) or (str, Any)
        return {str(k): coerce(vt, v, f"{key}.{k}", file) for k, v in value.items()}
    if dataclasses.is_dataclass(tp):
        return from_dict(tp, value, key=key, file=file)
    if tp is bool:
        if not isinstance(value, bool):
            raise ConfigError(f"{_where(file, key)} must be true or false, got {value!r}")
        return value
    if tp is int:
        if isinstance(value, bool) or not isinstance(value, int):
            raise ConfigError(f"{_where(file, key)} must be an integer, got {value!r}")
        return value
    if tp is float:
        # YAML reads "3e-6" (no dot) as a string; accept numeric strings for floats only.
        if isinstance(value, str):
            try:
                return float(value)
            except ValueError:
                pass
        if isinstance(value, bool) or not isinstance(value, (int, float)):
            raise ConfigError(f"{_where(file, key)} must be a number, got {value!r}")
        return float(value)
    if tp is str:
        if not isinstance(value, str):
            raise ConfigError(f"{_where(file, key)} must be a string, got {value!r}")
        return value
    raise ConfigError(f"{_where(file, key)}: unsupported type {tp!r} in schema")


def from_dict(cls: type, data: Any, *, key: str = "", file: str | None = None):
    """Build dataclass `cls` from `data`; unknown keys and wrong types raise ConfigError."""
    if data is None:
        data = {}
    if not isinstance(data, dict):
        raise ConfigError(f"{_where(file, key or '<root>')} must be a mapping, got {data!r}")
    hints = typing.get_type_hints(cls)
    fields = {f.name: f for f in dataclasses.fields(cls) if f.init}
    for name in data:
        if name not in fields:
            full = f"{key}.{name}" if key else str(name)
            close = difflib.get_close_matches(str(name), list(fields), n=1)
            hint = f"; did you mean '{close[0]}'?" if close else ""
            raise ConfigError(
                f"{_where(file, full)} is not a known key{hint} (expected one of: {', '.join(sorted(fields))})"
            )
    kwargs = {}
    for name, f in fields.items():
        full = f"{key}.{name}" if key else name
        if name in data:
            kwargs[name] = coerce(hints[name], data[name], full, file)
        elif f.default is dataclasses.MISSING and f.default_factory is dataclasses.MISSING:
            raise ConfigError(f"{_where(file, full)} is required ({_type_name(hints[name])})")
    try:
        obj = cls(**kwargs)
        check_fields(obj)
    except FieldError as e:  # a declared range, or a check in __post_init__: give it the file and the full key
        raise ConfigError(f"{_where(file, f'{key}.{e.field}' if key else e.field)} must be {e.expected}, "
                          f"got {e.value!r}") from None
    except ConfigError as e:
        raise ConfigError(f"{_where(file, key or '<root>')}: {e}") from None
    return obj


def check_fields(obj: Any) -> None:
    """Every field's declared range (`opt(..., allowed=...)`), for a number or each number of a tuple."""
    for f in dataclasses.fields(obj):
        allowed, value = f.metadata.get("allowed"), getattr(obj, f.name)
        if allowed is None or value is None:
            continue
        if any(v not in allowed for v in (value if isinstance(value, (list, tuple)) else [value])):
            raise FieldError(f.name, str(allowed), value)


def to_dict(obj: Any) -> Any:
    """Dataclasses -> plain data (tuples become lists) for YAML/JSON output."""
    if dataclasses.is_dataclass(obj):
        return {f.name: to_dict(getattr(obj, f.name)) for f in dataclasses.fields(obj)}
    if isinstance(obj, (list, tuple)):
        return [to_dict(v) for v in obj]
    if isinstance(obj, dict):
        return {k: to_dict(v) for k, v in obj.items()}
    return obj


def describe(cls: type, prefix: str = "") -> list[tuple[str, str, str, str]]:
    """(key, type, default, help) rows for every field, recursing into nested dataclasses."""
    rows = []
    hints = typing.get_type_hints(cls)
    for f in dataclasses.fields(cls):
        full = f"{prefix}{f.name}"
        tp = hints[f.name]
        if f.default is not dataclasses.MISSING:
            default = repr(f.default)
        elif f.default_factory is not dataclasses.MISSING:
            value = f.default_factory()
            default = "(see below)" if dataclasses.is_dataclass(value) else repr(to_dict(value))
        else:
            default = "required"
        allowed = f.metadata.get("allowed")
        type_name = _type_name(tp) + (f" ({allowed})" if allowed is not None else "")
        rows.append((full, type_name, default, f.metadata.get("help", "")))
        inner = [a for a in (typing.get_args(tp) or (tp,)) if dataclasses.is_dataclass(a)]
        for sub in inner:
            rows.extend(describe(sub, prefix=f"{full}."))
    return rows
