"""Normalise tool definitions to JSON-Schema form.

Real data writes parameter types in many dialects: xLAM uses Python-ish type strings ("str, optional",
"List[int]", "Callable[[float], float]") and sometimes a flat `{param: {type, description, default}}` map
instead of `{"type": "object", "properties": ..., "required": [...]}`; ToolACE writes `"type": "dict"`;
OpenAI wraps tools as `{"type": "function", "function": {...}}`. We map all of them to one JSON-Schema form
so templates, validation and rewards see one thing. The source's type string is kept under
`x-original-type` whenever we rewrote it, so nothing is lost.

Optional parameters: a type string marked "optional", "Optional[...]", "... | None" or "default=..."
makes the parameter not required. When a schema already lists `required`, that list wins.
"""

from __future__ import annotations

import ast
import json
import re
from typing import Any

from fctrain.data.record_error import RecordError

JSON_TYPES = {"string", "integer", "number", "boolean", "object", "array", "null"}

# Lower-cased Python / xLAM / ToolACE spellings -> JSON-Schema type.
_SCALARS = {
    "str": "string", "string": "string", "text": "string", "char": "string",
    "int": "integer", "integer": "integer", "long": "integer",
    "float": "number", "number": "number", "double": "number", "decimal": "number",
    "bool": "boolean", "boolean": "boolean",
    "dict": "object", "object": "object", "mapping": "object", "json": "object", "map": "object",
    "list": "array", "array": "array", "sequence": "array", "iterable": "array", "tuple": "array", "set": "array",
    "none": "null", "nonetype": "null", "null": "null",
    # A Callable argument cannot travel in JSON; the data passes it as source text, e.g. "lambda x: x**2".
    "callable": "string", "function": "string",
}
_OPTIONAL_SUFFIX = re.compile(r"^(optional|default\b.*|defaults?\s+to\b.*)$", re.IGNORECASE)


def _split_top_level(text: str, sep: str = ",") -> list[str]:
    """Split on `sep` outside brackets and quotes: "Dict[str, int], optional" -> ["Dict[str, int]", "optional"]."""
    parts, depth, quote, start = [], 0, "", 0
    for i, ch in enumerate(text):
        if quote:
            quote = "" if ch == quote else quote
        elif ch in "'\"":
            quote = ch
        elif ch in "[(":
            depth += 1
        elif ch in "])":
            depth -= 1
        elif ch == sep and depth == 0:
            parts.append(text[start:i].strip())
            start = i + 1
    parts.append(text[start:].strip())
    return [p for p in parts if p]


def _type_expr_schema(expr: str) -> tuple[dict | None, bool]:
    """Schema for one type expression like "List[Tuple[int, int]]"; returns (schema or None, optional)."""
    expr = expr.strip()
    if "|" in expr and "[" not in expr:  # PEP 604: "str | None"
        return _union([p.strip() for p in expr.split("|")])
    m = re.fullmatch(r"([A-Za-z_][\w.]*)\s*(?:\[(.*)\])?", expr, flags=re.DOTALL)
    if m is None:
        return None, False
    head, inner = m.group(1).split(".")[-1].lower(), m.group(2)
    args = _split_top_level(inner) if inner else []
    if head == "optional":
        schema, _ = _type_expr_schema(inner or "")
        return schema, True
    if head == "union":
        return _union(args)
    if head == "literal":
        try:
            values = [ast.literal_eval(a) for a in args]
        except (ValueError, SyntaxError):
            return None, False
        return {"enum": values}, False
    if head == "any":
        return {}, False
    json_type = _SCALARS.get(head)
    if json_type is None:
        return None, False
    schema: dict[str, Any] = {"type": json_type}
    if json_type == "array" and args:
        fixed = head == "tuple" and "..." not in args
        items = [_type_expr_schema(a)[0] for a in args if a != "..."]
        if items and all(s is not None for s in items) and all(s == items[0] for s in items):
            schema["items"] = items[0]
        if fixed:
            schema["minItems"] = schema["maxItems"] = len(args)
        if head == "set":
            schema["uniqueItems"] = True
    if json_type == "object" and len(args) == 2:
        value_schema = _type_expr_schema(args[1])[0]
        if value_schema:
            schema["additionalProperties"] = value_schema
    return schema, False


def _union(args: list[str]) -> tuple[dict | None, bool]:
    schemas = [_type_expr_schema(a)[0] for a in args]
    optional = any(s == {"type": "null"} for s in schemas)
    schemas = [s for s in schemas if s != {"type": "null"}]
    if not schemas or any(s is None for s in schemas):
        return None, optional
    types = {s.get("type") for s in schemas}
    if types == {"integer", "number"}:  # Union[int, float] is just a number
        return {"type": "number"}, optional
    if len(schemas) == 1:
        return schemas[0], optional
    return {"anyOf": schemas}, optional


def parse_type_string(type_string: str) -> tuple[dict | None, bool]:
    """Map an xLAM-style type string to (JSON-Schema fragment, optional).

    "str, optional" -> ({"type": "string"}, True); "List[int]" -> ({"type": "array", "items": {...}}, False);
    an unknown spelling -> (None, optional) so the caller keeps the original.
    """
    head, *rest = _split_top_level(type_string)
    optional = any(_OPTIONAL_SUFFIX.match(r) for r in rest)
    schema, inner_optional = _type_expr_schema(head) if head else (None, False)
    return schema, optional or inner_optional


def _coerce_default(value: Any, json_type: str | None) -> Any:
    """xLAM writes defaults as strings ("30", "false"); give them the parameter's type when that is exact."""
    if not isinstance(value, str) or json_type not in ("integer", "number", "boolean"):
        return value
    text = value.strip()
    if json_type == "boolean":
        return {"true": True, "false": False}.get(text.lower(), value)
    try:
        number = int(text) if json_type == "integer" else float(text)
    except ValueError:
        return value
    return number


def normalize_property(prop: Any, field: str) -> tuple[dict, bool]:
    """One parameter's schema in JSON-Schema form, plus whether its type string marked it optional."""
    if not isinstance(prop, dict):
        raise RecordError(
            "bad_tool", field, f"expected an object describing the parameter, got {type(prop).__name__}"
        )
    out = dict(prop)
    optional = False
    declared = prop.get("type")
    if isinstance(declared, str) and declared not in JSON_TYPES:
        schema, optional = parse_type_string(declared)
        out.pop("type")
        if schema is not None:
            out.update(schema)
        out["x-original-type"] = declared
    if isinstance(out.get("items"), dict):
        out["items"] = normalize_property(out["items"], f"{field}.items")[0]
    if isinstance(out.get("properties"), dict):
        nested = normalize_parameters(out, f"{field}")
        out["properties"], out["required"] = nested["properties"], nested["required"]
    if "default" in out:
        out["default"] = _coerce_default(out["default"], out.get("type"))
    # "type" first and the provenance key last, so rendered tool lists read naturally.
    ordered = {k: out[k] for k in ("type", "description") if k in out}
    ordered.update((k, v) for k, v in out.items() if k not in ordered and k != "x-original-type")
    if "x-original-type" in out:
        ordered["x-original-type"] = out["x-original-type"]
    return ordered, optional


def _is_schema_form(params: dict) -> bool:
    # A flat map's values are all dicts; a schema's "type" is a string ("object", "dict", ...).
    return isinstance(params.get("type"), str) or (
        isinstance(params.get("properties"), dict) and not isinstance(params["properties"].get("type"), str)
        and set(params) <= {"properties", "required", "type", "description", "additionalProperties"}
    )


def normalize_parameters(params: Any, field: str = "parameters") -> dict:
    """`{"type": "object", "properties": {...}, "required": [...]}` from any supported parameter spelling."""
    if params is None or params == {}:
        return {"type": "object", "properties": {}, "required": []}
    if isinstance(params, str):
        try:
            params = json.loads(params)
        except json.JSONDecodeError as e:
            raise RecordError("bad_tool", field, f"invalid JSON ({e.msg} at char {e.pos})") from None
        return normalize_parameters(params, field)
    if not isinstance(params, dict):
        raise RecordError("bad_tool", field, f"expected an object, got {type(params).__name__}")
    if _is_schema_form(params):
        out = {k: v for k, v in params.items() if k not in ("type", "properties", "required")}
        raw_props = params.get("properties") or {}
        if not isinstance(raw_props, dict):
            raise RecordError("bad_tool", f"{field}.properties", f"expected an object, got {type(raw_props).__name__}")
        given_required = params.get("required")
    else:  # flat {param: {type, description, default}} map
        out, raw_props, given_required = {}, params, None
    properties, optional = {}, set()
    for name, prop in raw_props.items():
        properties[name], is_optional = normalize_property(prop, f"{field}.properties.{name}")
        if is_optional:
            optional.add(name)
    if isinstance(given_required, list):
        required = [r for r in given_required if isinstance(r, str)]
    elif isinstance(given_required, str):
        required = [given_required]
    else:
        required = [name for name in properties if name not in optional]
    return {"type": "object", "properties": properties, "required": required, **out}


def normalize_tool(tool: Any, field: str = "tool") -> dict:
    """`{"name", "description", "parameters"}` from a plain, OpenAI-wrapped or xLAM/ToolACE tool."""
    if isinstance(tool, str):
        try:
            tool = json.loads(tool)
        except json.JSONDecodeError as e:
            raise RecordError("bad_tool", field, f"invalid JSON ({e.msg} at char {e.pos})") from None
    if not isinstance(tool, dict):
        raise RecordError("bad_tool", field, f"expected an object, got {type(tool).__name__}")
    if isinstance(tool.get("function"), dict):  # OpenAI {"type": "function", "function": {...}}
        tool = tool["function"]
    name = tool.get("name")
    if not isinstance(name, str) or not name.strip():
        raise RecordError("bad_tool", f"{field}.name", f"expected a non-empty string, got {name!r}")
    description = tool.get("description") or ""
    if not isinstance(description, str):
        raise RecordError("bad_tool", f"{field}.description", f"expected a string, got {type(description).__name__}")
    params = tool.get("parameters", tool.get("arguments"))
    parameters = normalize_parameters(params, f"{field}.parameters")
    if isinstance(tool.get("required"), list) and not (isinstance(params, dict) and "required" in params):
        parameters["required"] = list(tool["required"])  # ToolACE sometimes lists `required` next to parameters
    return {"name": name, "description": description, "parameters": parameters}


def without_extensions(value: Any, _names: bool = False) -> Any:
    """A copy without "x-..." schema keys (such as x-original-type): what a prompt should show the model.
    Keys of a `properties` map are parameter names, not schema keywords, so they are all kept."""
    if isinstance(value, dict):
        return {k: without_extensions(v, k == "properties" and not _names) for k, v in value.items()
                if _names or not (isinstance(k, str) and k.startswith("x-"))}
    if isinstance(value, list):
        return [without_extensions(v) for v in value]
    return value
