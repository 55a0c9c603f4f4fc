"""`toolmind`: Nanbeige/ToolMind (`graph_syn_datasets/graphsyn.jsonl`), one conversation per line.

The real record, as STAR's data preparation reads it (../shared/docs/STAR.md):

    {"conversations": [
        {"role": "user", "content": "Book the cheapest flight to Oslo"},
        {"role": "assistant", "content": "<think>Search first.</think>",
         "tool_calls": [{"function": {"name": "search_flights", "arguments": "{\"to\": \"Oslo\"}"}}]},
        {"role": "tool", "content": "[{\"id\": \"SK1\", \"price\": 99}]"},
        {"role": "assistant", "content": "<think>Cheapest is SK1.</think>SK1 costs 99. Book it?"}, ...],
     "tools": [{"type": "function", "function": {...}} | {"name", "description", "parameters" | "arguments"}]}

- A call is `{"function": {"name", "arguments"}}` or `{"name", "arguments"}` (arguments a dict or JSON text).
- An assistant `content` may embed exactly one `<think>...</think>`, at its start: it becomes
  `reasoning_content` and the text after `</think>` the content. Any other use of the tags (two blocks, an
  unclosed one, text before it) is malformed reasoning: the conversation is dropped and counted
  (`bad_reasoning`), as the authors drop it.
- A tool that has `arguments` instead of `parameters` is renamed.

Also accepted, for ToolMind-style data from elsewhere: `messages` instead of `conversations`, ShareGPT
`from`/`value` turns, Hermes `<tool_call>` text in the content, `<tool_response>` blocks, and tools given as
JSON text or in a `<tools>` block of the system message (cut out; the remaining policy text is kept).
The whole trajectory is one sample; STAR trains on its final turn (fctrain.teacher.targets).
"""

from __future__ import annotations

import re
from typing import Any

from fctrain.data.adapters import register_adapter
from fctrain.data.adapters.common import (
    canonical_tools,
    parse_json_field,
    record_id,
    split_assistant_text,
    split_tool_responses,
    tool_response_name,
)
from fctrain.data.adapters.hermes import ROLE_ALIASES, parse_tools_block
from fctrain.data.adapters.messages import convert_messages
from fctrain.data.record_error import RecordError
from fctrain.data.sample import tool_result

_TOOLS_BLOCK = re.compile(r"\s*<tools>(.*?)</tools>\s*", re.DOTALL)
_ONE_THINK = re.compile(r"\s*<think>(.*?)</think>(.*)", re.DOTALL)


def _as_role_content(turn: Any) -> Any:
    """ShareGPT {"from", "value"} turns -> {"role", "content"}; other shapes pass through for checking."""
    if isinstance(turn, dict) and "from" in turn and "role" not in turn:
        out = {k: v for k, v in turn.items() if k not in ("from", "value")}
        out["role"], out["content"] = ROLE_ALIASES.get(turn["from"], turn["from"]), turn.get("value")
        return out
    return turn


def split_reasoning(content: str, field: str) -> tuple[str | None, str]:
    """(reasoning, rest) of a content that may open with exactly one <think>...</think>."""
    if "<think>" not in content and "</think>" not in content:
        return None, content
    match = _ONE_THINK.fullmatch(content)
    if match is None or content.count("<think>") != 1 or content.count("</think>") != 1:
        raise RecordError("bad_reasoning", field, "expected exactly one <think>...</think> at the start of the "
                          "content (the authors drop such conversations)")
    return match.group(1).strip(), match.group(2)


def assistant_message(message: dict, field: str) -> dict:
    reasoning, content = split_reasoning(message.get("content") or "", f"{field}.content")
    if not message["tool_calls"] and "<tool_call>" in content:
        text, calls, _ = split_assistant_text(content, f"{field}.content")
        message.update(content=text, tool_calls=calls)
    else:
        message["content"] = content.strip() or None
    message["reasoning_content"] = message["reasoning_content"] or reasoning
    return message


def rename_arguments(tools: Any) -> Any:
    """ToolMind tools that say `arguments` for their JSON-Schema `parameters` get the usual key."""
    if not isinstance(tools, list):
        return tools

    def renamed(spec: Any) -> Any:
        if not isinstance(spec, dict) or "parameters" in spec or "arguments" not in spec:
            return spec
        return {("parameters" if k == "arguments" else k): v for k, v in spec.items()}

    return [{**t, "function": renamed(t["function"])} if isinstance(t, dict) and isinstance(t.get("function"), dict)
            else renamed(t) for t in tools]


@register_adapter("toolmind")
def convert(record: dict) -> dict:
    if not isinstance(record, dict):
        raise RecordError("bad_record", "", f"expected a JSON object per record, got {type(record).__name__}")
    key = "messages" if "messages" in record else "conversations"
    if not isinstance(record.get(key), list):
        raise RecordError("missing_field", "messages", "missing (expected `messages` or `conversations` list)")
    raw_tools: Any = parse_json_field(record.get("tools"), "tools", reason="bad_json_tools")
    messages = []
    for i, message in enumerate(convert_messages([_as_role_content(t) for t in record[key]], key)):
        field = f"{key}[{i}]"
        role, content = message["role"], message.get("content") or ""
        if role == "system" and "<tools>" in content:
            block = _TOOLS_BLOCK.search(content)
            if block is None:
                raise RecordError("bad_json_tools", f"{field}.content", "<tools> is never closed")
            if raw_tools in (None, "", []):
                raw_tools = parse_tools_block(block.group(1), f"{field}.content<tools>")
            content = _TOOLS_BLOCK.sub("\n\n", content).strip()
            if content:
                messages.append({"role": "system", "content": content})
        elif role == "assistant":
            messages.append(assistant_message(message, field))
        elif role == "tool" and "<tool_response>" in content:
            for body in split_tool_responses(content):
                messages.append(tool_result(body, message.get("name") or tool_response_name(body)))
        else:
            messages.append(message)
    tools = canonical_tools(rename_arguments(raw_tools) if raw_tools is not None else [])
    return {"id": record_id(record, prefix="toolmind-"), "messages": messages, "tools": tools}
