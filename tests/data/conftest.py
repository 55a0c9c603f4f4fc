from __future__ import annotations

import json
from pathlib import Path

import pytest

SHARED_DATA = Path(__file__).resolve().parents[2].parent / "shared" / "data"


@pytest.fixture
def write_jsonl_lines(tmp_path):
    """Write records (dicts, or raw strings for malformed lines) as a JSONL file; return its path."""

    def write(records, name="data.jsonl"):
        path = tmp_path / name
        lines = [r if isinstance(r, str) else json.dumps(r, ensure_ascii=False) for r in records]
        path.write_text("\n".join(lines) + "\n", encoding="utf-8")
        return path

    return write


@pytest.fixture
def shared_data() -> Path:
    """/work/shared/data-style folder next to the checkout (absent in a fresh clone: tests skip)."""
    return SHARED_DATA
