"""Load one data source into canonical samples.

A source is a local .jsonl / .json / .parquet file (or a folder of them) or, when no such path exists, a
`datasets` hub id (needs network; imported lazily). Each record goes through the format's adapter and then
`validate_sample`. A bad record either stops the load with a DataError naming file, line and field
(`on_invalid="error"`, the default) or is skipped and counted by reason (`on_invalid="skip"`); the count
is printed, and every rejection is kept in `LoadResult.rejected` as "file:line: field: message".
"""

from __future__ import annotations

import hashlib
import json
import logging
import os
import sys
from collections import Counter
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from fctrain.data.adapters import Adapter, get_adapter
from fctrain.data.record_error import RecordError
from fctrain.data.sample import problems
from fctrain.data.tool_schema import normalize_tool
from fctrain.errors import ConfigError, DataError

log = logging.getLogger("fctrain.data")

SUFFIXES = (".jsonl", ".json", ".parquet")


@dataclass
class LoadResult:
    samples: list[dict]
    skipped: Counter = field(default_factory=Counter)  # reason -> number of records skipped
    source: str = ""
    rejected: list[str] = field(default_factory=list)  # "where: field: message" for each skipped record

    def __len__(self) -> int:
        return len(self.samples)

    def summary(self) -> str:
        text = f"{self.source}: {len(self.samples)} samples"
        if self.skipped:
            reasons = ", ".join(f"{reason}={n}" for reason, n in self.skipped.most_common())
            text += f", skipped {sum(self.skipped.values())} ({reasons})"
        return text


# ------------------------------------------------------------------ raw records


def _json_records(path: Path) -> Iterator[tuple[str, Any]]:
    with open(path, encoding="utf-8") as f:
        try:
            data = json.load(f)
        except json.JSONDecodeError as e:
            raise DataError(f"{path}:{e.lineno}: invalid JSON ({e.msg} at column {e.colno})") from None
    if isinstance(data, dict) and isinstance(data.get("data"), list):  # {"data": [...]} wrappers
        data = data["data"]
    for i, record in enumerate(data if isinstance(data, list) else [data], start=1):
        yield f"{path}: record {i}", record


def _jsonl_records(path: Path) -> Iterator[tuple[str, Any]]:
    with open(path, encoding="utf-8") as f:
        for line_no, line in enumerate(f, start=1):
            if not line.strip():
                continue
            try:
                yield f"{path}:{line_no}", json.loads(line)
            except json.JSONDecodeError as e:
                yield f"{path}:{line_no}", RecordError("bad_json_line", "", f"invalid JSON ({e.msg} at column {e.colno})")


def _parquet_records(path: Path) -> Iterator[tuple[str, Any]]:
    import pyarrow.parquet as pq  # lazy: only parquet sources need it

    for i, record in enumerate(pq.read_table(path).to_pylist(), start=1):
        yield f"{path}: row {i}", record


def _hub_records(hub_id: str, split: str) -> Iterator[tuple[str, Any]]:
    try:
        import datasets  # lazy: heavy import, and only hub sources need it
    except ImportError as e:  # pragma: no cover - datasets is a core dependency
        raise ConfigError(f"{hub_id}: loading hub datasets needs the `datasets` package ({e})") from None
    try:
        rows = datasets.load_dataset(hub_id, split=split)
    except Exception as e:  # the hub raises many types (network, missing repo, missing split)
        raise DataError(f"{hub_id}: no local file of that name, and the datasets hub could not load it "
                        f"(split {split!r}): {type(e).__name__}: {e}") from None
    for i, record in enumerate(rows, start=1):
        yield f"{hub_id}[{split}]: row {i}", record


def _file_records(path: Path) -> Iterator[tuple[str, Any]]:
    readers = {".jsonl": _jsonl_records, ".json": _json_records, ".parquet": _parquet_records}
    if path.suffix not in readers:
        raise DataError(f"{path}: unsupported file type {path.suffix!r} (expected {', '.join(SUFFIXES)})")
    yield from readers[path.suffix](path)


def _looks_like_path(text: str) -> bool:
    # Hub ids are "name" or "owner/name"; anything else that does not exist is a missing local path.
    return text.endswith(SUFFIXES) or text.startswith((".", "/", "~")) or text.count("/") > 1 or "\\" in text


def raw_records(path_or_hub_id: str | os.PathLike, adapter: Adapter, split: str = "train") -> Iterator[tuple[str, Any]]:
    """(location, record) pairs from a file, a folder of files, or a hub dataset."""
    path = Path(path_or_hub_id).expanduser()
    if path.exists():
        if adapter.read is not None:
            yield from adapter.read(path)
        elif path.is_dir():
            files = sorted(p for p in path.rglob("*") if p.suffix in SUFFIXES)
            if not files:
                raise DataError(f"{path}: folder holds no {', '.join(SUFFIXES)} files")
            for file in files:
                yield from _file_records(file)
        else:
            yield from _file_records(path)
    elif _looks_like_path(str(path_or_hub_id)):
        raise DataError(f"{path_or_hub_id}: no such file or folder")
    else:
        yield from _hub_records(str(path_or_hub_id), split)


# ------------------------------------------------------------------ samples


def _stem(path_or_hub_id: str | os.PathLike) -> str:
    return Path(str(path_or_hub_id)).stem or str(path_or_hub_id)


def _location_number(location: str) -> str:
    """The line / record / row number at the end of a location string (used for default ids)."""
    tail = location.rsplit(":", 1)[-1].split()[-1]
    return tail if tail.isdigit() else hashlib.sha256(location.encode()).hexdigest()[:10]


def _convert(adapter: Adapter, record: Any, location: str, stem: str) -> list[dict]:
    """Adapter output as a list of valid samples; raises RecordError for the first problem."""
    if isinstance(record, RecordError):
        raise record
    out = adapter(record)
    samples = out if isinstance(out, list) else [out]
    for k, sample in enumerate(samples):
        if isinstance(sample, dict) and sample.get("id") is None:
            number = _location_number(location)
            sample["id"] = f"{stem}-{number}" if len(samples) == 1 else f"{stem}-{number}-{k}"
        if isinstance(sample, dict) and isinstance(sample.get("tools"), list):
            # Idempotent on canonical tools; covers plug-in adapters that hand back raw tool schemas.
            sample["tools"] = [normalize_tool(t, f"tools[{i}]") for i, t in enumerate(sample["tools"])]
        found = problems(sample)
        if found:
            raise RecordError(found[0].reason, "", found[0].message
                              + (f" (and {len(found) - 1} more problems)" if len(found) > 1 else ""))
    return samples


def load_source(path_or_hub_id: str | os.PathLike, format: str, *, on_invalid: str = "error",
                split: str = "train", max_samples: int | None = None) -> LoadResult:
    """Canonical, validated samples from one source; see the module docstring."""
    if on_invalid not in ("error", "skip"):
        raise ConfigError(f"on_invalid: expected 'error' or 'skip', got {on_invalid!r}")
    if max_samples is not None and max_samples < 0:
        raise ConfigError(f"max_samples: expected a non-negative integer, got {max_samples!r}")
    adapter = get_adapter(format)
    stem = _stem(path_or_hub_id)
    result = LoadResult(samples=[], source=str(path_or_hub_id))
    for location, record in raw_records(path_or_hub_id, adapter, split):
        if max_samples is not None and len(result.samples) >= max_samples:
            break
        try:
            result.samples.extend(_convert(adapter, record, location, stem))
        except DataError as e:  # RecordError carries a reason; other adapters may raise plain DataError
            if on_invalid == "error":
                raise DataError(f"{location}: {e} [format {format!r}; on_invalid='skip' skips such records]") \
                    from None
            result.skipped[getattr(e, "reason", "invalid")] += 1
            result.rejected.append(f"{location}: {e}")
    if max_samples is not None:
        del result.samples[max_samples:]
    if result.skipped:
        print(f"fctrain.data: {result.summary()}", file=sys.stderr)
    log.info("%s", result.summary())
    return result
