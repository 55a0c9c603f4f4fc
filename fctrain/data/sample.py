"""The canonical sample and its validation.

    {"id": str,
     "messages": [{"role": "system" | "user", "content": str},
                  {"role": "assistant", "content": str | None,
                   "tool_calls": [{"name": str, "arguments": {...}}], "reasoning_content": str | None},
                  {"role": "tool", "name": str | None, "content": str}],
     "tools": [{"name", "description", "parameters": {"type": "object", "properties", "required"}}]}

Adapters build samples with `user`, `assistant`, `tool_result` and `make_sample`; `problems` lists what is
wrong with one (reason key + message naming the field), `validate_sample` returns just the messages.
"""

from __future__ import annotations

import json
from typing import Any, NamedTuple

from fctrain.data.tool_schema import normalize_parameters, normalize_tool, parse_type_string  # noqa: F401

ROLES = ("system", "user", "assistant", "tool")


class Problem(NamedTuple):
    reason: str  # short stable key, used to count skips
    message: str  # names the field and what was expected


# ---------------------------------------------------------------- builders


def system(content: str) -> dict:
    return {"role": "system", "content": content}


def user(content: str) -> dict:
    return {"role": "user", "content": content}


def assistant(content: str | None = None, tool_calls: list[dict] | None = None,
              reasoning_content: str | None = None) -> dict:
    return {"role": "assistant", "content": content, "tool_calls": list(tool_calls or []),
            "reasoning_content": reasoning_content}


def tool_call(name: str, arguments: dict) -> dict:
    return {"name": name, "arguments": arguments}


def tool_result(content: str, name: str | None = None) -> dict:
    return {"role": "tool", "name": name, "content": content}


def make_sample(sample_id: str | None, messages: list[dict], tools: list[dict]) -> dict:
    return {"id": sample_id, "messages": messages, "tools": tools}


def reference_message(sample: dict) -> dict | None:
    """The last assistant message: the target in training and the reference in evaluation."""
    for message in reversed(sample.get("messages") or []):
        if isinstance(message, dict) and message.get("role") == "assistant":
            return message
    return None


# ---------------------------------------------------------------- validation


def _tool_problems(tools: Any) -> tuple[list[Problem], dict[str, dict], set[str]]:
    """Problems in the tool list, the tools by name, and the names defined more than once."""
    if not isinstance(tools, list):
        return [Problem("bad_tools", f"tools: expected a list, got {type(tools).__name__}")], {}, set()
    found, by_name, duplicates = [], {}, set()
    for i, tool in enumerate(tools):
        where = f"tools[{i}]"
        if not isinstance(tool, dict):
            found.append(Problem("bad_tool", f"{where}: expected an object, got {type(tool).__name__}"))
            continue
        name, params = tool.get("name"), tool.get("parameters")
        if not isinstance(name, str) or not name:
            found.append(Problem("bad_tool", f"{where}.name: expected a non-empty string, got {name!r}"))
            continue
        if name in by_name:  # real xLAM rows reuse names (two different "search" tools): only a call is ambiguous
            duplicates.add(name)
        if not isinstance(tool.get("description", ""), str):
            found.append(Problem("bad_tool", f"{where}.description: expected a string"))
        if not isinstance(params, dict) or params.get("type") != "object" \
                or not isinstance(params.get("properties"), dict):
            found.append(Problem("bad_tool", f"{where}.parameters: expected a JSON-Schema object "
                                             '{"type": "object", "properties": {...}} (adapters normalise this)'))
        else:
            required = params.get("required", [])
            unknown = [r for r in required if r not in params["properties"]] if isinstance(required, list) else None
            if unknown is None:
                found.append(Problem("bad_tool", f"{where}.parameters.required: expected a list of names"))
            elif unknown:
                found.append(Problem("bad_tool", f"{where}.parameters.required: {unknown} are not properties"))
        by_name.setdefault(name, tool)
    return found, by_name, duplicates


def _call_problems(call: Any, where: str, tools: dict[str, dict], duplicates: set[str]) -> list[Problem]:
    if not isinstance(call, dict):
        return [Problem("bad_call", f"{where}: expected an object with name and arguments")]
    name, arguments = call.get("name"), call.get("arguments")
    found = []
    if not isinstance(name, str) or not name:
        return [Problem("bad_call", f"{where}.name: expected a non-empty string, got {name!r}")]
    if not isinstance(arguments, dict):
        found.append(Problem("arguments_not_object",
                             f"{where}.arguments: expected a JSON object, got {type(arguments).__name__}"))
    else:
        try:
            json.dumps(arguments, allow_nan=False)
        except (TypeError, ValueError) as e:
            found.append(Problem("arguments_not_json", f"{where}.arguments: not JSON-serialisable ({e})"))
    if not tools:
        found.append(Problem("empty_tools", f"{where}.name: calls {name!r} but the sample has no tools"))
    elif name not in tools:
        found.append(Problem("unknown_tool", f"{where}.name: {name!r} is not one of the tools "
                                             f"({', '.join(sorted(tools))})"))
    elif name in duplicates:
        found.append(Problem("ambiguous_tool", f"{where}.name: {name!r} names more than one tool in tools"))
    elif isinstance(arguments, dict):
        params = tools[name].get("parameters") or {}
        if isinstance(params.get("properties"), dict) and not params.get("additionalProperties"):
            extra = sorted(set(arguments) - set(params["properties"]))
            if extra:
                found.append(Problem("unknown_argument", f"{where}.arguments: {extra} are not parameters of {name!r}"))
    return found


def _message_problems(message: Any, where: str, tools: dict[str, dict], duplicates: set[str]) -> list[Problem]:
    if not isinstance(message, dict):
        return [Problem("bad_message", f"{where}: expected an object, got {type(message).__name__}")]
    role = message.get("role")
    if role is None:
        return [Problem("missing_role", f"{where}.role: missing (expected one of {', '.join(ROLES)})")]
    if role not in ROLES:
        return [Problem("bad_role", f"{where}.role: {role!r} is not one of {', '.join(ROLES)}")]
    content, calls = message.get("content"), message.get("tool_calls")
    found = []
    if role != "assistant":
        if not isinstance(content, str):
            found.append(Problem("bad_content", f"{where}.content: expected a string, got {type(content).__name__}"))
        if calls:
            found.append(Problem("bad_call", f"{where}.tool_calls: only assistant messages may call tools"))
        return found
    if content is not None and not isinstance(content, str):
        found.append(Problem("bad_content", f"{where}.content: expected a string or null"))
    if not isinstance(message.get("reasoning_content") or "", str):
        found.append(Problem("bad_content", f"{where}.reasoning_content: expected a string or null"))
    if calls is not None and not isinstance(calls, list):
        return found + [Problem("bad_call", f"{where}.tool_calls: expected a list")]
    for j, call in enumerate(calls or []):
        found += _call_problems(call, f"{where}.tool_calls[{j}]", tools, duplicates)
    if not calls and not (content or "").strip():
        found.append(Problem("empty_assistant", f"{where}: assistant message has neither content nor tool_calls"))
    return found


def _order_problems(messages: list) -> list[Problem]:
    """Conversation shape: system only first, tool results only right after a call, ends on the assistant."""
    found, pending_calls = [], None  # names called by the assistant turn the tool results answer
    roles = [m.get("role") if isinstance(m, dict) else None for m in messages]
    for i, (role, message) in enumerate(zip(roles, messages)):
        if role == "system" and i > 0:
            found.append(Problem("bad_order", f"messages[{i}]: a system message may only come first"))
        if role == "tool":
            if pending_calls is None:
                found.append(Problem("tool_without_call",
                                     f"messages[{i}]: tool message does not follow an assistant tool call"))
            elif message.get("name") and pending_calls and message["name"] not in pending_calls:
                found.append(Problem("tool_without_call", f"messages[{i}].name: {message['name']!r} answers no "
                                                          f"call of the preceding assistant turn"))
        elif role == "assistant":
            calls = message.get("tool_calls") if isinstance(message.get("tool_calls"), list) else []
            names = {c.get("name") for c in calls if isinstance(c, dict)}
            pending_calls = names if calls else None
        else:
            pending_calls = None
    if "user" not in roles:
        found.append(Problem("no_user", "messages: no user message"))
    if "assistant" not in roles:
        found.append(Problem("no_assistant", "messages: no assistant message"))
    elif roles[-1] != "assistant":
        found.append(Problem("bad_order", f"messages[{len(roles) - 1}]: the last message must be the assistant "
                                          f"turn (the target), got {roles[-1]!r}"))
    elif "user" in roles and roles.index("assistant") < roles.index("user"):
        found.append(Problem("bad_order", "messages: the first assistant turn comes before any user message"))
    return found


def problems(sample: Any) -> list[Problem]:
    """Everything wrong with a canonical sample; empty when it is valid."""
    if not isinstance(sample, dict):
        return [Problem("bad_sample", f"sample: expected an object, got {type(sample).__name__}")]
    found = []
    sample_id = sample.get("id")
    if not isinstance(sample_id, str) or not sample_id:
        found.append(Problem("bad_id", f"id: expected a non-empty string, got {sample_id!r}"))
    tool_found, tools, duplicates = _tool_problems(sample.get("tools", []))
    found += tool_found
    messages = sample.get("messages")
    if not isinstance(messages, list) or not messages:
        return found + [Problem("no_messages", "messages: expected a non-empty list")]
    for i, message in enumerate(messages):
        found += _message_problems(message, f"messages[{i}]", tools, duplicates)
    return found + _order_problems(messages)


def validate_sample(sample: Any) -> list[str]:
    """Messages describing what is invalid (each names the field); an empty list means valid."""
    return [p.message for p in problems(sample)]
