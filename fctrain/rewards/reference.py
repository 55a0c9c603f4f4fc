"""Read the reference (a canonical assistant message) the rewards compare against.

`{"content": str | None, "tool_calls": [{"name": str, "arguments": dict}] | None}`. A message with at
least one call is a call reference (its content is not scored); otherwise it is a text reply. References
are trusted data, so a malformed one raises `DataError` naming the field instead of scoring silently.
"""

from __future__ import annotations

import json
from dataclasses import dataclass

from fctrain.errors import DataError


@dataclass(frozen=True)
class Reference:
    calls: list[dict]  # empty for a text reply
    text: str  # stripped content ("" when None)

    @property
    def is_reply(self) -> bool:
        return not self.calls


def _reference_call(call, field: str) -> dict:
    if isinstance(call, dict) and isinstance(call.get("function"), dict):  # OpenAI wrapper
        call = call["function"]
    if not isinstance(call, dict) or not isinstance(call.get("name"), str):
        raise DataError(f"reference {field}: expected {{'name': str, 'arguments': dict}}, got {call!r:.200}")
    arguments = call.get("arguments", {})
    if isinstance(arguments, str):
        try:
            arguments = json.loads(arguments)
        except json.JSONDecodeError as e:
            raise DataError(f"reference {field}.arguments: invalid JSON string ({e.msg})") from None
    if not isinstance(arguments, dict):
        raise DataError(f"reference {field}.arguments: expected an object, got {type(arguments).__name__}")
    return {"name": call["name"], "arguments": arguments}


def read_reference(reference: dict) -> Reference:
    """Normalise a reference assistant message; raises DataError when it is malformed."""
    if not isinstance(reference, dict):
        raise DataError(f"reference: expected an assistant message dict, got {type(reference).__name__}")
    raw_calls = reference.get("tool_calls") or []
    if not isinstance(raw_calls, list):
        raise DataError(f"reference tool_calls: expected a list, got {type(raw_calls).__name__}")
    content = reference.get("content")
    if content is not None and not isinstance(content, str):
        raise DataError(f"reference content: expected a string or None, got {type(content).__name__}")
    calls = [_reference_call(c, f"tool_calls[{i}]") for i, c in enumerate(raw_calls)]
    return Reference(calls=calls, text=(content or "").strip())
