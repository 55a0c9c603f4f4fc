"""Cheap checks that a saved model or checkpoint folder is whole, so a damaged file is named before a loader
fails on it with a raw error (SafetensorError: invalid header length, a torch unpickling error).

Only structure is checked, never the numbers: a safetensors file's header and its length, a torch file's zip
directory (torch.save writes a zip; a truncated one has no central directory), a JSON file's syntax. That is
what a crash, a full disk or a partial copy breaks, and it costs a few reads per file.
"""

from __future__ import annotations

import json
import struct
import zipfile
from pathlib import Path

TORCH_SUFFIXES = (".pt", ".pth", ".bin")
_HEADER_LIMIT = 100 * 2**20  # safetensors refuses headers above 100 MB too


def safetensors_damage(path: Path) -> str | None:
    """What is wrong with a .safetensors file (None when its header and length agree)."""
    size = path.stat().st_size
    with path.open("rb") as f:
        head = f.read(8)
        if len(head) < 8:
            return f"{size} bytes, shorter than the 8-byte header length"
        (n,) = struct.unpack("<Q", head)
        if n > min(size - 8, _HEADER_LIMIT):
            return f"header length {n} does not fit in the file's {size} bytes (truncated?)"
        try:
            header = json.loads(f.read(n))
        except (json.JSONDecodeError, UnicodeDecodeError):
            return "header is not valid JSON"
    ends = [t["data_offsets"][1] for k, t in header.items() if k != "__metadata__" and isinstance(t, dict)]
    expected = 8 + n + max(ends, default=0)
    if size != expected:
        return f"{size} bytes, but its header describes {expected} (truncated?)"
    return None


def torch_file_damage(path: Path) -> str | None:
    if path.stat().st_size == 0:
        return "empty"
    try:
        with zipfile.ZipFile(path):
            return None
    except zipfile.BadZipFile:
        return "not a complete torch file (no zip directory: truncated?)"


def json_damage(path: Path) -> str | None:
    try:
        json.loads(path.read_text())
    except (json.JSONDecodeError, UnicodeDecodeError) as e:
        return f"not valid JSON ({e})"
    return None


def folder_damage(folder: Path) -> str | None:
    """The first damaged file in a model or checkpoint folder, as "name: what is wrong"; None when all are whole."""
    for path in sorted(p for p in folder.rglob("*") if p.is_file()):
        if path.suffix == ".safetensors":
            problem = safetensors_damage(path)
        elif path.suffix in TORCH_SUFFIXES:
            problem = torch_file_damage(path)
        elif path.suffix == ".json":
            problem = json_damage(path)
        else:
            continue
        if problem is not None:
            return f"{path.relative_to(folder)}: {problem}"
    return None
