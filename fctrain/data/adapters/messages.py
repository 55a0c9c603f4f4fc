"""`messages`: OpenAI / STAR chat records.

    {"id": "...", "tools": [...] | "<json>",
     "messages": [{"role": "user", "content": "..."},
                  {"role": "assistant", "content": null, "reasoning_content": null,
                   "tool_calls": [{"name": "f", "arguments": {...}}                       # STAR (flat)
                                  | {"type": "function", "id": "c1",
                                     "function": {"name": "f", "arguments": "<json>"}}]},  # OpenAI
                  {"role": "tool", "tool_call_id": "c1", "content": "..."}]}

Tools may be plain, OpenAI-wrapped or xLAM-typed; they are normalised to JSON-Schema form.
A tool message's name comes from its `name`, or from the call its `tool_call_id` answers.
"""

from __future__ import annotations

from typing import Any

from fctrain.data.adapters import register_adapter
from fctrain.data.adapters.common import canonical_call, canonical_tools, record_id, require, text_content
from fctrain.data.record_error import RecordError
from fctrain.data.sample import ROLES, assistant, make_sample, tool_result

# Older OpenAI data says "function" for a tool result.
ROLE_ALIASES = {"function": "tool"}


def convert_message(message: Any, field: str, call_names: dict[str, str]) -> dict:
    """One canonical message; `call_names` maps call ids seen so far to function names."""
    if not isinstance(message, dict):
        raise RecordError("bad_message", field, f"expected an object, got {type(message).__name__}")
    role = message.get("role")
    if role is None:
        raise RecordError("missing_role", f"{field}.role", f"missing (expected one of {', '.join(ROLES)})")
    role = ROLE_ALIASES.get(role, role)
    if role not in ROLES:
        raise RecordError("bad_role", f"{field}.role", f"{role!r} is not one of {', '.join(ROLES)}")
    content = text_content(message.get("content"), f"{field}.content")
    if role == "assistant":
        raw_calls = message.get("tool_calls") or []
        if not isinstance(raw_calls, list):
            raise RecordError("bad_call", f"{field}.tool_calls", f"expected a list, got {type(raw_calls).__name__}")
        calls = []
        for j, raw in enumerate(raw_calls):
            call = canonical_call(raw, f"{field}.tool_calls[{j}]")
            if isinstance(raw, dict) and raw.get("id"):
                call_names[str(raw["id"])] = call["name"]
            calls.append(call)
        reasoning = message.get("reasoning_content", message.get("reasoning"))
        return assistant(content, calls, text_content(reasoning, f"{field}.reasoning_content"))
    if role == "tool":
        name = message.get("name") or call_names.get(str(message.get("tool_call_id")))
        return tool_result(content if content is not None else "", name)
    return {"role": role, "content": content if content is not None else ""}


def convert_messages(raw_messages: Any, field: str = "messages") -> list[dict]:
    if not isinstance(raw_messages, list):
        raise RecordError("bad_field", field, f"expected a list, got {type(raw_messages).__name__}")
    call_names: dict[str, str] = {}
    return [convert_message(m, f"{field}[{i}]", call_names) for i, m in enumerate(raw_messages)]


@register_adapter("messages")
def convert(record: dict) -> dict:
    messages = convert_messages(require(record, "messages", list))
    tools = canonical_tools(record.get("tools") or [])
    sample = make_sample(record_id(record), messages, tools)
    if record.get("group") is not None:  # optional: samples of one group share a micro-batch in training
        sample["group"] = str(record["group"])
    return sample
