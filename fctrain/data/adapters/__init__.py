"""Adapters: one per source format, each turning one raw record into a canonical sample.

An adapter is a function `convert(record: dict) -> dict | list[dict]` registered under a format name with
`@register_adapter("name")`. It raises `RecordError(reason, field, message)` for a record it cannot
convert; `load_source` adds the file and line, validates the result and counts skips. The sample's "id"
may be None: `load_source` then names it `<file stem>-<line>`.

A format whose records do not sit one per line/row (BFCL keeps questions and answers in two files)
registers a `read(path) -> Iterator[(location, record)]` as well: `@register_adapter("bfcl", read=...)`.
"""

from __future__ import annotations

import importlib
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from fctrain.errors import ConfigError

Reader = Callable[[Path], Iterator[tuple[Any, dict]]]


@dataclass(frozen=True)
class Adapter:
    name: str
    convert: Callable[[dict], Any]
    read: Reader | None = None  # custom file reader; None = one record per JSONL line / JSON item / row

    def __call__(self, record: dict) -> Any:
        return self.convert(record)


ADAPTERS: dict[str, Adapter] = {}

# Built-in adapter modules, imported on first lookup. Optional ones (owned elsewhere) may be absent.
_BUILTIN = ("messages", "xlam", "toolace", "toolace_qwen", "hermes", "toolmind")
_OPTIONAL = ("bfcl",)
_loaded = False


def register_adapter(name: str, *, read: Reader | None = None) -> Callable:
    def decorate(convert: Callable[[dict], Any]) -> Callable[[dict], Any]:
        ADAPTERS[name] = Adapter(name, convert, read)
        return convert

    return decorate


def _load_builtin() -> None:
    global _loaded
    if _loaded:
        return
    _loaded = True
    for module in _BUILTIN:
        importlib.import_module(f"{__name__}.{module}")
    for module in _OPTIONAL:
        try:
            importlib.import_module(f"{__name__}.{module}")
        except ModuleNotFoundError as e:
            if e.name != f"{__name__}.{module}":
                raise


def get_adapter(name: str) -> Adapter:
    _load_builtin()
    if name not in ADAPTERS:
        raise ConfigError(f"format: unknown data format {name!r} (expected one of: {', '.join(sorted(ADAPTERS))})")
    return ADAPTERS[name]


def adapter_names() -> list[str]:
    _load_builtin()
    return sorted(ADAPTERS)
