"""`toolace`: rows of Team-ACE/ToolACE.

    {"system": "You are an expert in composing functions. ... Here is a list of functions in JSON format
                that you can invoke:\n[{\"name\": \"Market Trends API\", \"description\": \"...\",
                \"parameters\": {\"type\": \"dict\", \"properties\": {...}, \"required\": [...]}}].\n...",
     "conversations": [{"from": "user", "value": "..."},
                       {"from": "assistant", "value": "[Market Trends API(trend_type=\"MARKET_INDEXES\")]"},
                       {"from": "tool", "value": "[{\"name\": \"Market Trends API\", \"results\": {...}}]"},
                       {"from": "assistant", "value": "Here are the market trends: ..."}]}

The tool list is the first JSON list of objects with a "name" inside the system text. The rest of the system
text only explains ToolACE's `[f(a=1)]` output format, which our templates replace, so it is dropped.
Assistant calls are parsed, never evaluated: function names are read up to "(" (ToolACE names may contain
spaces), the argument list goes through `ast.parse` and each value through `ast.literal_eval`.
"""

from __future__ import annotations

import ast
import json
import re
from typing import Any

from fctrain.data.adapters import register_adapter
from fctrain.data.adapters.common import canonical_tools, record_id, require
from fctrain.data.record_error import RecordError
from fctrain.data.sample import assistant, make_sample, tool_result, user

ROLE_ALIASES = {"user": "user", "human": "user", "assistant": "assistant", "gpt": "assistant",
                "tool": "tool", "function": "tool", "observation": "tool"}
# "[name(" at the start of an assistant turn marks a call list (a plain reply rarely starts that way).
_CALL_LIST_START = re.compile(r"^\[\s*[^\[\]()'\"]+?\s*\(")


def find_tool_list(system_text: str, field: str = "system") -> list:
    """The first JSON list of {"name": ...} objects embedded in the system text."""
    decoder = json.JSONDecoder()
    for match in re.finditer(r"\[", system_text):
        try:
            value, _ = decoder.raw_decode(system_text, match.start())
        except json.JSONDecodeError:
            continue
        if isinstance(value, list) and value and all(isinstance(t, dict) and "name" in t for t in value):
            return value
    raise RecordError("no_tools_in_system", field, "found no JSON list of tools in the system text")


def _closing_paren(text: str, open_at: int) -> int:
    """Index of the ")" matching the "(" at `open_at`, skipping brackets and quoted strings."""
    depth, quote, i = 0, "", open_at
    while i < len(text):
        ch = text[i]
        if quote:
            if ch == "\\":
                i += 1
            elif ch == quote:
                quote = ""
        elif ch in "'\"":
            quote = ch
        elif ch in "([{":
            depth += 1
        elif ch in ")]}":
            depth -= 1
            if depth == 0:
                return i
        i += 1
    return -1


class _JsonNames(ast.NodeTransformer):
    """ToolACE sometimes writes JSON's true/false/null inside Python calls; read them as constants."""

    def visit_Name(self, node: ast.Name) -> ast.AST:
        constants = {"true": True, "false": False, "null": None}
        return ast.Constant(constants[node.id]) if node.id in constants else node


def _literal(node: ast.expr) -> Any:
    return _literal_to_json(ast.literal_eval(_JsonNames().visit(node)))


def _literal_to_json(value: Any) -> Any:
    # JSON has no tuples or sets; keep their items as lists (sets in a stable order).
    if isinstance(value, set):
        return [_literal_to_json(v) for v in sorted(value, key=repr)]
    if isinstance(value, (tuple, list)):
        return [_literal_to_json(v) for v in value]
    if isinstance(value, dict):
        return {str(k): _literal_to_json(v) for k, v in value.items()}
    if isinstance(value, (bytes, complex)):
        raise ValueError(f"{type(value).__name__} is not JSON")
    return value


def parse_call_list(text: str, field: str) -> list[dict]:
    """`[f(a=1, b="x"), Other Tool(c=[1, 2])]` -> [{"name": "f", "arguments": {...}}, ...]."""
    text = text.strip()
    if not (text.startswith("[") and text.endswith("]")):
        raise RecordError("bad_call_syntax", field, f"expected [func(arg=value, ...)], got {text[:80]!r}")
    body, calls, pos = text[1:-1], [], 0
    while pos < len(body):
        open_at = body.find("(", pos)
        name = body[pos:open_at].strip() if open_at >= 0 else ""
        if not name:
            raise RecordError("bad_call_syntax", field, f"expected a function name before '(' in {text[:80]!r}")
        close_at = _closing_paren(body, open_at)
        if close_at < 0:
            raise RecordError("bad_call_syntax", field, f"unbalanced parentheses in {text[:80]!r}")
        where = f"{field}<call #{len(calls) + 1} {name}>"
        try:
            expr = ast.parse("f" + body[open_at:close_at + 1], mode="eval").body
        except SyntaxError as e:
            raise RecordError("bad_call_syntax", where, f"cannot parse the arguments: {e.msg}") from None
        if not isinstance(expr, ast.Call) or expr.args or any(k.arg is None for k in expr.keywords):
            raise RecordError("bad_call_syntax", where, "only keyword arguments (name=value) are supported")
        arguments = {}
        for keyword in expr.keywords:
            try:
                arguments[keyword.arg] = _literal(keyword.value)
            except (ValueError, SyntaxError, TypeError):
                raise RecordError("bad_argument_value", f"{where}.{keyword.arg}",
                                  f"not a literal value: {ast.unparse(keyword.value)[:60]!r}") from None
        calls.append({"name": name, "arguments": arguments})
        rest = body[close_at + 1:].lstrip()
        if rest and not rest.startswith(","):
            raise RecordError("bad_call_syntax", field, f"expected ',' between calls in {text[:80]!r}")
        pos = len(body) - len(rest) + 1
    return calls


def _tool_messages(value: str, names: list[str]) -> list[dict]:
    """One tool message per result when the turn is a JSON list of {"name": ...} results, one per call."""
    try:
        results = json.loads(value)
    except json.JSONDecodeError:
        results = None
    if isinstance(results, list) and len(results) == len(names) and \
            all(isinstance(r, dict) and r.get("name") in names for r in results):
        return [tool_result(json.dumps(r, ensure_ascii=False), r["name"]) for r in results]
    return [tool_result(value, names[0] if len(set(names)) == 1 and names[0] else None)]


@register_adapter("toolace")
def convert(record: dict) -> dict:
    system_text = require(record, "system", str)
    tools = canonical_tools(find_tool_list(system_text), "system<tools>")
    turns = require(record, "conversations", list)
    messages, last_calls = [], []
    for i, turn in enumerate(turns):
        field = f"conversations[{i}]"
        if not isinstance(turn, dict):
            raise RecordError("bad_message", field, f"expected an object, got {type(turn).__name__}")
        if "from" not in turn:
            raise RecordError("missing_role", f"{field}.from", "missing (expected user, assistant or tool)")
        role = ROLE_ALIASES.get(turn["from"])
        if role is None:
            raise RecordError("bad_role", f"{field}.from", f"{turn['from']!r} is not user, assistant or tool")
        value = require(turn, "value", str, f"{field}.value")
        if role == "assistant" and _CALL_LIST_START.match(value.strip()):
            last_calls = parse_call_list(value, f"{field}.value")
            messages.append(assistant(None, last_calls))
        elif role == "assistant":
            messages.append(assistant(value))
        elif role == "tool":
            messages.extend(_tool_messages(value, [c["name"] for c in last_calls] or [""]))
        else:
            messages.append(user(value))
    return make_sample(record_id(record, prefix="toolace-"), messages, tools)
