from __future__ import annotations

import pytest

from fctrain.data import RecordError, normalize_parameters, normalize_tool, without_extensions
from fctrain.data.tool_schema import parse_type_string


@pytest.mark.parametrize("type_string, schema, optional", [
    ("str", {"type": "string"}, False),
    ("str, optional", {"type": "string"}, True),
    ("int, optional", {"type": "integer"}, True),
    ("float", {"type": "number"}, False),
    ("bool", {"type": "boolean"}, False),
    ("dict", {"type": "object"}, False),
    ("List[int]", {"type": "array", "items": {"type": "integer"}}, False),
    ("List[List[str]]", {"type": "array", "items": {"type": "array", "items": {"type": "string"}}}, False),
    ("List[Union[int, float]]", {"type": "array", "items": {"type": "number"}}, False),
    ("Tuple[float, float]", {"type": "array", "items": {"type": "number"}, "minItems": 2, "maxItems": 2}, False),
    ("set", {"type": "array"}, False),
    ("Optional[str]", {"type": "string"}, True),
    ("str | None", {"type": "string"}, True),
    ("Callable[[float], float]", {"type": "string"}, False),
    ("str, default='elonmusk'", {"type": "string"}, True),
    ("Dict[str, int]", {"type": "object", "additionalProperties": {"type": "integer"}}, False),
    ("Literal['a', 'b']", {"enum": ["a", "b"]}, False),
])
def test_type_strings(type_string, schema, optional):
    assert parse_type_string(type_string) == (schema, optional)


def test_unknown_type_string_is_kept():
    prop = normalize_parameters({"when": {"type": "datetime.datetime", "description": "d"}})["properties"]["when"]
    assert "type" not in prop and prop["x-original-type"] == "datetime.datetime"


def test_flat_map_becomes_object_schema_with_required_and_typed_defaults():
    params = normalize_parameters({
        "cnpj": {"description": "id", "type": "str", "default": "123"},
        "maxage": {"description": "days", "type": "int, optional", "default": "30"},
        "simples": {"description": "flag", "type": "bool, optional", "default": "true"},
    })
    assert params["type"] == "object" and params["required"] == ["cnpj"]
    assert params["properties"]["maxage"] == {"type": "integer", "description": "days", "default": 30,
                                              "x-original-type": "int, optional"}
    assert params["properties"]["simples"]["default"] is True
    assert params["properties"]["cnpj"]["default"] == "123"  # a string parameter keeps its string default


def test_xlam_dict_form_and_given_required_list_wins():
    params = normalize_parameters({"type": "dict", "properties": {"a": {"type": "str"}, "b": {"type": "int, optional"}},
                                   "required": ["a", "b"]})
    assert params["required"] == ["a", "b"] and params["properties"]["b"]["type"] == "integer"


def test_parameter_named_type_is_a_flat_map():
    params = normalize_parameters({"type": {"type": "str", "description": "kind"}})
    assert params["properties"]["type"]["type"] == "string"


def test_openai_wrapped_tool_and_nested_items():
    tool = normalize_tool({"type": "function", "function": {"name": "f", "parameters": {
        "type": "object", "properties": {"xs": {"type": "array", "items": {"type": "float"}}}, "required": ["xs"]}}})
    assert tool["description"] == ""
    assert tool["parameters"]["properties"]["xs"]["items"] == {"type": "number", "x-original-type": "float"}


def test_without_extensions_keeps_parameter_names():
    tool = normalize_tool({"name": "f", "parameters": {"x-id": {"type": "str"}}})
    clean = without_extensions(tool)
    assert clean["parameters"]["properties"] == {"x-id": {"type": "string"}}


@pytest.mark.parametrize("tool, field", [
    ({"description": "no name"}, "tool.name"),
    ({"name": "f", "parameters": "{not json"}, "tool.parameters"),
    ({"name": "f", "parameters": {"a": "str"}}, "tool.parameters.properties.a"),
    ({"name": "f", "description": 3}, "tool.description"),
])
def test_bad_tools_name_the_field(tool, field):
    with pytest.raises(RecordError) as info:
        normalize_tool(tool)
    assert info.value.field == field and info.value.reason == "bad_tool"


def test_normalising_twice_changes_nothing():
    tool = normalize_tool({"name": "f", "parameters": {"type": "dict", "properties": {
        "a": {"type": "List[Tuple[int, int]]"}, "b": {"type": "bool, optional", "default": "false"}}}})
    assert normalize_tool(tool) == tool and tool["parameters"]["required"] == ["a"]
