"""`toolmind`: multi-turn tool-use trajectories in the style of Nanbeige/ToolMind.

We could not pin ToolMind's exact published schema offline, so this adapter accepts the shapes such
multi-turn data comes in and documents the assumption (docs/data_formats.md):

    {"id": "...", "tools": [...] | "<json>" | absent,
     "messages" | "conversations": [
        {"role" | "from": "system", "content" | "value": "... <tools>\n{json}\n{json}\n</tools> ..."},
        {"role": "user", "content": "Book the cheapest flight to Oslo"},
        {"role": "assistant", "reasoning_content": "...", "content": "",
         "tool_calls": [{"type": "function", "function": {"name": "search_flights", "arguments": "{...}"}}]},
        {"role": "tool", "tool_call_id": "...", "content": "<tool_response>...</tool_response>" | "..."},
        {"role": "assistant", "content": "<think>...</think>\n<tool_call>\n{json}\n</tool_call>"},
        ...,
        {"role": "assistant", "content": "Booked: ..."}]}

Calls may be OpenAI-style `tool_calls` or Hermes/Qwen3 text (`<tool_call>`, `<think>`) in the content.
Tools come from `tools`, else from a `<tools>` block in the system message; that block is cut out of the
system text (our templates re-insert the tools) and whatever policy text remains is kept.
"""

from __future__ import annotations

import re
from typing import Any

from fctrain.data.adapters import register_adapter
from fctrain.data.adapters.common import (
    canonical_tools,
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


def _as_role_content(turn: Any) -> Any:
    """ShareGPT {"from", "value"} turns -> {"role", "content"}; other shapes pass through for checking."""
    if isinstance(turn, dict) and "from" in turn and "role" not in turn:
        out = {k: v for k, v in turn.items() if k not in ("from", "value")}
        out["role"], out["content"] = ROLE_ALIASES.get(turn["from"], turn["from"]), turn.get("value")
        return out
    return turn


@register_adapter("toolmind")
def convert(record: dict) -> dict:
    if not isinstance(record, dict):
        raise RecordError("bad_record", "", f"expected a JSON object per record, got {type(record).__name__}")
    key = "messages" if "messages" in record else "conversations"
    if not isinstance(record.get(key), list):
        raise RecordError("missing_field", "messages", "missing (expected `messages` or `conversations` list)")
    raw_tools: Any = record.get("tools")
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
        elif role == "assistant" and not message["tool_calls"] and ("<tool_call>" in content or "<think>" in content):
            text, calls, reasoning = split_assistant_text(content, f"{field}.content")
            message.update(content=text, tool_calls=calls, reasoning_content=message["reasoning_content"] or reasoning)
            messages.append(message)
        elif role == "tool" and "<tool_response>" in content:
            for body in split_tool_responses(content):
                messages.append(tool_result(body, message.get("name") or tool_response_name(body)))
        else:
            messages.append(message)
    tools = canonical_tools(raw_tools if raw_tools is not None else [])
    return {"id": record_id(record, prefix="toolmind-"), "messages": messages, "tools": tools}
