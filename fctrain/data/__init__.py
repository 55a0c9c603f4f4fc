"""Function-calling data: canonical samples, format adapters, sources, mixtures and synthetic tasks.

See docs/data_formats.md for the canonical sample and every adapter's input format.
"""

from __future__ import annotations

from fctrain.data.jsonl import read_jsonl, write_jsonl
from fctrain.data.mixture import content_hash, mix_sources, split_train_val
from fctrain.data.record_error import RecordError
from fctrain.data.sample import problems, reference_message, validate_sample
from fctrain.data.sources import LoadResult, load_source
from fctrain.data.synthetic import generate_tasks
from fctrain.data.tool_schema import normalize_parameters, normalize_tool, without_extensions

__all__ = [
    "LoadResult", "RecordError", "content_hash", "generate_tasks", "load_source", "mix_sources",
    "normalize_parameters", "normalize_tool", "problems", "read_jsonl", "reference_message", "split_train_val",
    "validate_sample", "without_extensions", "write_jsonl",
]
