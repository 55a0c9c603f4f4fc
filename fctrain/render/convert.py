"""Canonical sample -> the message/tool dicts chat templates expect, and the exact assistant answer text.

Canonical calls are `{"name", "arguments": dict}`; HF chat templates (Qwen, Llama 3.1, SmolLM3, ...) expect the
OpenAI form `{"type": "function", "function": {"name", "arguments"}}`, and tools as
`{"type": "function", "function": {"name", "description", "parameters"}}`. fctrain's template reads both.
"""

from __future__ import annotations

import json
from typing import Any


def to_chat_tools(tools: list[dict] | None) -> list[dict] | None:
    """Canonical tool schemas -> OpenAI function-tool dicts (None when there are no tools)."""
    if not tools:
        return None
    return [t if t.get("type") == "function" and "function" in t else {"type": "function", "function": t} for t in tools]


def to_chat_message(message: dict) -> dict:
    """One canonical message -> a chat-template message (calls in OpenAI form, None fields dropped)."""
    out: dict[str, Any] = {"role": message["role"], "content": message.get("content") or ""}
    if message["role"] == "assistant":
        calls = message.get("tool_calls") or []
        if calls:
            out["tool_calls"] = [
                {"type": "function", "function": {"name": c["name"], "arguments": c.get("arguments") or {}}}
                for c in calls
            ]
        if message.get("reasoning_content"):
            out["reasoning_content"] = message["reasoning_content"]
    elif message["role"] == "tool":
        if message.get("name"):
            out["name"] = message["name"]
        if message.get("tool_call_id"):
            out["tool_call_id"] = message["tool_call_id"]
        content = out["content"]
        if not isinstance(content, str):  # structured tool output: render as JSON, as a tool would return it
            out["content"] = json.dumps(content, ensure_ascii=False)
    return out


def to_chat_messages(sample: dict) -> list[dict]:
    return [to_chat_message(m) for m in sample["messages"]]


def tool_call_text(call: dict) -> str:
    """`<tool_call>\\n{"name": ..., "arguments": {...}}\\n</tool_call>` exactly as the qwen3 template writes it."""
    body = json.dumps({"name": call["name"], "arguments": call.get("arguments") or {}}, ensure_ascii=False)
    return f"<tool_call>\n{body}\n</tool_call>"


def assistant_text(message: dict, *, think: bool = False) -> str:
    """The answer the model must generate for a canonical assistant message (without <|im_end|>).

    `<think>\\n{reasoning}\\n</think>\\n\\n` (only when think) + content + the calls joined by "\\n" (and a "\\n"
    between non-empty content and the first call). With think=False the empty think block is in the prompt
    (see render_prompt), so it is not part of the answer.
    """
    content = message.get("content") or ""
    calls = "\n".join(tool_call_text(c) for c in message.get("tool_calls") or [])
    answer = content + ("\n" if content and calls else "") + calls
    if think:
        reasoning = (message.get("reasoning_content") or "").strip("\n")
        answer = f"<think>\n{reasoning}\n</think>\n\n" + answer
    return answer
