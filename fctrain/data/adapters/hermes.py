"""`hermes`: NousResearch hermes-function-calling-v1 and the Glaive conversations shipped with it.

    {"id": "...",
     "conversations": [
       {"from": "system", "value": "You are a function calling AI model. ... <tools> [{'type': 'function',
                                    'function': {'name': 'get_stock_price', ...}}] </tools> ..."},
       {"from": "human", "value": "What's Apple's stock price?"},
       {"from": "gpt", "value": "<tool_call>\n{'arguments': {'symbol': 'AAPL'}, 'name': 'get_stock_price'}\n</tool_call>"},
       {"from": "tool", "value": "<tool_response>\n{'name': 'get_stock_price', 'content': {...}}\n</tool_response>"},
       {"from": "gpt", "value": "Apple trades at $150."}]}

Tools come from a top-level `tools` field when present, else from `<tools>...</tools>` in the system turn
(a JSON list, one JSON object per line, or a Python-literal list: the dataset uses single quotes). Tool
calls and responses may also be Python literals; they are read with `json` then `ast.literal_eval`, never
evaluated. A system turn that carries `<tools>` is the format instruction our templates regenerate, so it
is dropped; other system turns are kept. Several `<tool_response>` blocks in one turn become several tool
messages. `<think>...</think>` at the start of a gpt turn becomes `reasoning_content`.
"""

from __future__ import annotations

import ast
import json
import re
from typing import Any

from fctrain.data.adapters import register_adapter
from fctrain.data.adapters.common import (
    canonical_tools,
    record_id,
    require,
    split_assistant_text,
    split_tool_responses,
    tool_response_name,
)
from fctrain.data.record_error import RecordError
from fctrain.data.sample import assistant, make_sample, system, tool_result, user

ROLE_ALIASES = {"system": "system", "human": "user", "user": "user", "gpt": "assistant", "assistant": "assistant",
                "tool": "tool", "function": "tool", "observation": "tool", "ipython": "tool"}
_TOOLS_BLOCK = re.compile(r"<tools>(.*?)</tools>", re.DOTALL)


def parse_tools_block(text: str, field: str) -> list:
    """The tools inside <tools>...</tools>: a JSON list, JSON objects one per line, or a Python literal."""
    text = text.strip()
    try:
        value = json.loads(text)
        return value if isinstance(value, list) else [value]
    except json.JSONDecodeError:
        pass
    try:
        return [json.loads(line) for line in text.splitlines() if line.strip()]
    except json.JSONDecodeError:
        pass
    try:
        value = ast.literal_eval(text)
    except (ValueError, SyntaxError, MemoryError, RecursionError):
        raise RecordError("bad_json_tools", field, f"cannot read the tool list: {text[:80]!r}") from None
    return value if isinstance(value, list) else [value]


def _turn(turn: Any, field: str) -> tuple[str, str]:
    if not isinstance(turn, dict):
        raise RecordError("bad_message", field, f"expected an object, got {type(turn).__name__}")
    speaker = turn.get("from", turn.get("role"))
    if speaker is None:
        raise RecordError("missing_role", f"{field}.from", "missing (expected system, human, gpt or tool)")
    role = ROLE_ALIASES.get(speaker)
    if role is None:
        raise RecordError("bad_role", f"{field}.from", f"{speaker!r} is not system, human, gpt or tool")
    value = turn.get("value", turn.get("content"))
    if not isinstance(value, str):
        raise RecordError("bad_content", f"{field}.value", f"expected text, got {type(value).__name__}")
    return role, value


@register_adapter("hermes")
def convert(record: dict) -> dict:
    turns = require(record, "conversations", list)
    raw_tools: Any = record.get("tools")
    messages = []
    for i, raw_turn in enumerate(turns):
        field = f"conversations[{i}]"
        role, value = _turn(raw_turn, field)
        if role == "system":
            block = _TOOLS_BLOCK.search(value)
            if block and raw_tools is None:
                raw_tools = parse_tools_block(block.group(1), f"{field}.value<tools>")
            if not block:
                messages.append(system(value))
        elif role == "user":
            messages.append(user(value))
        elif role == "assistant":
            content, calls, reasoning = split_assistant_text(value, f"{field}.value")
            messages.append(assistant(content, calls, reasoning))
        else:
            messages.extend(tool_result(body, tool_response_name(body)) for body in split_tool_responses(value))
    tools = canonical_tools(raw_tools if raw_tools is not None else [])
    return make_sample(record_id(record, prefix="hermes-"), messages, tools)
