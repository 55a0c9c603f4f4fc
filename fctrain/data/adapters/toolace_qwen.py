"""`toolace_qwen`: the cleaned Qwen-format ToolACE release (tryumanshow/ToolACE-Qwen-cleaned).

    {"tools": "[{\"type\": \"function\", \"function\": {\"name\": ..., \"parameters\": {...}}}, ...]",
     "conversations": "[{\"role\": \"user\", \"content\": ...},
                        {\"role\": \"assistant\", \"content\": \"\", \"tool_calls\": [{...}]},
                        {\"role\": \"tool\", \"content\": {...}}, ...]"}

Both fields are JSON text. As STAR's preparation reads it (../shared/docs/STAR.md):
- each assistant turn becomes its own sample: the history up to that turn, then that turn as the target
  (ids `<id>-t<k>`, k counting assistant turns from 1);
- consecutive assistant messages that carry tool_calls are merged into one turn of parallel calls;
- function names are matched to the tools (exactly, else by a unique case- and punctuation-insensitive
  match, which renames the call) and argument keys checked against the tool's parameters; a turn that fails
  is skipped as a target (a record none of whose turns passes is a RecordError, `no_valid_turn`);
- non-string tool results are JSON-encoded.
Calls may be OpenAI-style or flat `tool_calls`, or Hermes `<tool_call>` text in the content.
"""

from __future__ import annotations

import json
import re

from fctrain.data.adapters import register_adapter
from fctrain.data.adapters.common import (
    canonical_tools,
    parse_json_field,
    record_id,
    require,
    split_assistant_text,
)
from fctrain.data.adapters.messages import convert_messages
from fctrain.data.record_error import RecordError


def _key(name: str) -> str:
    return re.sub(r"[^0-9a-z]", "", name.lower())


def encode_tool_results(raw: list) -> list:
    """Tool messages whose content is not text get it as JSON text (numbers and booleans included)."""
    out = []
    for m in raw:
        if isinstance(m, dict) and m.get("role") == "tool" and not isinstance(m.get("content"), (str, type(None))):
            m = {**m, "content": json.dumps(m["content"], ensure_ascii=False)}
        out.append(m)
    return out


def merge_parallel_calls(messages: list[dict]) -> list[dict]:
    """Consecutive assistant messages with calls -> one assistant turn holding all the calls."""
    out: list[dict] = []
    for m in messages:
        prev = out[-1] if out else None
        if m["role"] == "assistant" and m["tool_calls"] and prev and prev["role"] == "assistant" and prev["tool_calls"]:
            out[-1] = {**prev, "tool_calls": [*prev["tool_calls"], *m["tool_calls"]]}
        else:
            out.append(m)
    return out


def with_text_calls(message: dict, field: str) -> dict:
    content = message.get("content") or ""
    if message["role"] != "assistant" or message["tool_calls"] or "<tool_call>" not in content:
        return message
    text, calls, reasoning = split_assistant_text(content, field)
    return {**message, "content": text, "tool_calls": calls, "reasoning_content": message["reasoning_content"] or reasoning}


def matched_calls(calls: list[dict], tools: list[dict]) -> list[dict] | None:
    """The calls with names matched to the tools, or None when a name or an argument key does not fit."""
    by_name = {t["name"]: t for t in tools}
    by_key: dict[str, list[dict]] = {}
    for t in tools:
        by_key.setdefault(_key(t["name"]), []).append(t)
    out = []
    for call in calls:
        tool = by_name.get(call["name"])
        if tool is None and len(by_key.get(_key(call["name"]), [])) == 1:
            tool = by_key[_key(call["name"])][0]
        if tool is None:
            return None
        params = tool.get("parameters") or {}
        if params.get("additionalProperties") is not True and set(call["arguments"]) - set(params.get("properties") or {}):
            return None
        out.append({"name": tool["name"], "arguments": call["arguments"]})
    return out


@register_adapter("toolace_qwen")
def convert(record: dict) -> list[dict]:
    tools = canonical_tools(require(record, "tools", (str, list)))
    raw = parse_json_field(require(record, "conversations", (str, list)), "conversations")
    if not isinstance(raw, list):
        raise RecordError("bad_field", "conversations", f"expected a JSON list, got {type(raw).__name__}")
    messages = [with_text_calls(m, f"conversations[{i}].content")
                for i, m in enumerate(convert_messages(encode_tool_results(raw), "conversations"))]
    messages = merge_parallel_calls(messages)
    rid = record_id(record, prefix="toolace-") or "toolace"
    samples, turn = [], 0
    for i, message in enumerate(messages):
        if message["role"] != "assistant" or i == 0:
            continue
        turn += 1
        calls = matched_calls(message["tool_calls"] or [], tools)
        if calls is None:
            continue  # the authors skip a turn whose calls do not fit the tools
        messages[i] = {**message, "tool_calls": calls}
        samples.append({"id": f"{rid}-t{turn}", "messages": [dict(m) for m in messages[: i + 1]], "tools": tools})
    if not samples:
        raise RecordError("no_valid_turn", "conversations", "no assistant turn whose calls match the tools")
    return samples
