"""Which calls a prompt's tools allow: name -> accepted argument keys (STAR's schema-validity rule).

Tools come canonical (`parameters = {"type": "object", "properties": {...}}`), OpenAI-wrapped
(`{"type": "function", "function": {...}}`) or raw with a flat parameter map (`parameters = {param: {...}}`).
The schema/flat decision follows `fctrain.data.tool_schema`: a schema's "type" is a string, a flat map's
values are all dicts.
"""

from __future__ import annotations

from collections.abc import Sequence

_SCHEMA_KEYS = {"properties", "required", "type", "description", "additionalProperties"}


def parameter_names(parameters) -> frozenset[str]:
    """Argument keys one tool's `parameters` allows (JSON-Schema `properties` or a flat map's keys)."""
    if not isinstance(parameters, dict):
        return frozenset()
    props = parameters.get("properties")
    is_schema = isinstance(parameters.get("type"), str) or (
        isinstance(props, dict) and not isinstance(props.get("type"), str) and set(parameters) <= _SCHEMA_KEYS
    )
    if is_schema:
        return frozenset(props) if isinstance(props, dict) else frozenset()
    return frozenset(parameters)


def allowed_calls(tools: Sequence[dict] | None) -> dict[str, frozenset[str]]:
    """name -> allowed argument keys for every tool (a name given twice allows the union of keys)."""
    allowed: dict[str, frozenset[str]] = {}
    for tool in tools or ():
        if not isinstance(tool, dict):
            continue
        if isinstance(tool.get("function"), dict):
            tool = tool["function"]
        name = tool.get("name")
        if isinstance(name, str):
            allowed[name] = allowed.get(name, frozenset()) | parameter_names(tool.get("parameters"))
    return allowed


def schema_violation(tool_calls: Sequence[dict], allowed: dict[str, frozenset[str]]) -> str | None:
    """None when every call names an allowed tool with allowed keys, else 'unknown_tool'/'unknown_argument'."""
    for call in tool_calls:
        keys = allowed.get(call["name"])
        if keys is None:
            return "unknown_tool"
        if not keys.issuperset(call["arguments"]):
            return "unknown_argument"
    return None
