"""Pieces every adapter needs: JSON-in-a-string fields, call and tool normalisation, Hermes-style text tags."""

from __future__ import annotations

import ast
import json
import re
from typing import Any

from fctrain.data.record_error import RecordError
from fctrain.data.tool_schema import normalize_tool


def parse_json_field(value: Any, field: str, *, reason: str = "bad_json") -> Any:
    """A field that may hold JSON text (xLAM stores lists as strings); non-strings pass through."""
    if not isinstance(value, str):
        return value
    try:
        return json.loads(value)
    except json.JSONDecodeError as e:
        raise RecordError(reason, field, f"invalid JSON ({e.msg} at char {e.pos}): {value[:80]!r}") from None


def parse_arguments(value: Any, field: str) -> dict:
    """Call arguments as a dict: accepts a dict, JSON text of an object, or ""/None (no arguments)."""
    if value is None or (isinstance(value, str) and not value.strip()):
        return {}
    value = parse_json_field(value, field, reason="bad_json_arguments")
    if not isinstance(value, dict):
        raise RecordError("arguments_not_object", field, f"expected a JSON object, got {type(value).__name__}")
    return value


def canonical_call(call: Any, field: str) -> dict:
    """{"name", "arguments": dict} from the flat form or OpenAI's {"type": "function", "function": {...}}."""
    if not isinstance(call, dict):
        raise RecordError("bad_call", field, f"expected an object, got {type(call).__name__}")
    if isinstance(call.get("function"), dict):
        call, field = call["function"], f"{field}.function"
    name = call.get("name")
    if not isinstance(name, str) or not name:
        raise RecordError("bad_call", f"{field}.name", f"expected a non-empty string, got {name!r}")
    arguments = call.get("arguments", call.get("parameters"))
    return {"name": name, "arguments": parse_arguments(arguments, f"{field}.arguments")}


def canonical_tools(value: Any, field: str = "tools") -> list[dict]:
    """The tool list, parsed from JSON text when needed, each tool normalised to JSON-Schema form."""
    value = parse_json_field(value, field, reason="bad_json_tools")
    if value is None:
        return []
    if isinstance(value, dict):  # a single tool
        value = [value]
    if not isinstance(value, list):
        raise RecordError("bad_tools", field, f"expected a list of tools, got {type(value).__name__}")
    return [normalize_tool(tool, f"{field}[{i}]") for i, tool in enumerate(value)]


def text_content(value: Any, field: str) -> str | None:
    """Message content as text: OpenAI content parts [{"type": "text", "text": ...}] are joined."""
    if value is None or isinstance(value, str):
        return value
    if isinstance(value, list) and all(isinstance(p, dict) and isinstance(p.get("text"), str) for p in value):
        return "".join(p["text"] for p in value)
    if isinstance(value, (dict, list)):  # tool results are often structured; keep them as JSON text
        return json.dumps(value, ensure_ascii=False)
    raise RecordError("bad_content", field, f"expected text, got {type(value).__name__}")


def require(record: Any, key: str, kind: type | tuple[type, ...], field: str | None = None) -> Any:
    """record[key], checked: a missing or mistyped field is a RecordError naming it."""
    field = field or key
    if not isinstance(record, dict):
        raise RecordError("bad_record", "", f"expected a JSON object per record, got {type(record).__name__}")
    if key not in record or record[key] is None:
        raise RecordError("missing_field", field, "missing")
    value = record[key]
    if not isinstance(value, kind):
        names = kind.__name__ if isinstance(kind, type) else " or ".join(k.__name__ for k in kind)
        raise RecordError("bad_field", field, f"expected {names}, got {type(value).__name__}")
    return value


def record_id(record: dict, prefix: str = "") -> str | None:
    for key in ("id", "uuid", "conversation_id", "sample_id"):
        if record.get(key) not in (None, ""):
            return f"{prefix}{record[key]}"
    return None


# ------------------------------------------------ Hermes / Qwen3 text tags

_TOOL_CALL = re.compile(r"<tool_call>(.*?)(?:</tool_call>|$)", re.DOTALL)
_THINK = re.compile(r"^\s*<think>(.*?)</think>", re.DOTALL)
_TOOL_RESPONSE = re.compile(r"<tool_response>(.*?)</tool_response>", re.DOTALL)


def parse_loose_object(text: str, field: str, reason: str = "bad_json") -> Any:
    """JSON, or a Python literal (Hermes data writes dicts with single quotes); never evaluates code."""
    text = text.strip()
    try:
        return json.loads(text)
    except json.JSONDecodeError as e:
        try:
            return ast.literal_eval(text)
        except (ValueError, SyntaxError, MemoryError, RecursionError):
            raise RecordError(reason, field, f"invalid JSON ({e.msg} at char {e.pos}): {text[:80]!r}") from None


def split_assistant_text(text: str, field: str) -> tuple[str | None, list[dict], str | None]:
    """(content, tool_calls, reasoning) from "<think>..</think> text <tool_call>{json}</tool_call>..."."""
    reasoning = None
    think = _THINK.match(text)
    if think:
        reasoning, text = think.group(1).strip(), text[think.end():]
    if "</tool_call>" in text and "<tool_call>" not in text:
        raise RecordError("bad_tool_call", field, "</tool_call> without an opening <tool_call>")
    calls = []
    for k, match in enumerate(_TOOL_CALL.finditer(text)):
        where = f"{field}<tool_call #{k + 1}>"
        if not match.group(0).endswith("</tool_call>"):
            raise RecordError("bad_tool_call", where, "<tool_call> is never closed")
        body = parse_loose_object(match.group(1), where, reason="bad_json_tool_call")
        calls.append(canonical_call(body, where))
    content = _TOOL_CALL.sub("", text).strip() or None
    return content, calls, reasoning


def split_tool_responses(text: str) -> list[str]:
    """The bodies of <tool_response> blocks, or the whole text when it has none."""
    bodies = [b.strip() for b in _TOOL_RESPONSE.findall(text)]
    return bodies or [text.strip()]


def tool_response_name(body: str) -> str | None:
    """Hermes tool responses are {"name": ..., "content": ...}; pick the name out when it is there."""
    try:
        value = parse_loose_object(body, "")
    except RecordError:
        return None
    return value.get("name") if isinstance(value, dict) and isinstance(value.get("name"), str) else None
