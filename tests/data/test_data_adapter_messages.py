from __future__ import annotations

import json

import pytest

from fctrain.data import RecordError, validate_sample
from fctrain.data.adapters import get_adapter

convert = get_adapter("messages")

STAR_RECORD = {"id": "xlam-1", "messages": [
    {"role": "user", "content": "Population of Brazil?"},
    {"role": "assistant", "content": None, "reasoning_content": "Need the tool.",
     "tool_calls": [{"name": "get_country_population", "arguments": {"country": "Brazil"}}]}],
    "tools": [{"name": "get_country_population", "description": "Population.",
               "parameters": {"country": {"description": "Name.", "type": "str", "default": "Egypt"}}}]}

OPENAI_RECORD = {"messages": [
    {"role": "system", "content": [{"type": "text", "text": "You help."}]},
    {"role": "user", "content": "Weather in Zürich?"},
    {"role": "assistant", "content": "",
     "tool_calls": [{"id": "call_1", "type": "function",
                     "function": {"name": "get_weather", "arguments": "{\"city\": \"Zürich\"}"}}]},
    {"role": "tool", "tool_call_id": "call_1", "content": {"temp": 3}},
    {"role": "assistant", "content": "3 °C."}],
    "tools": json.dumps([{"type": "function", "function": {"name": "get_weather", "description": "W.", "parameters": {
        "type": "object", "properties": {"city": {"type": "string"}}, "required": ["city"]}}}])}


def test_star_record():
    sample = convert(STAR_RECORD)
    assert sample["id"] == "xlam-1" and validate_sample(sample) == []
    assert sample["messages"][1] == {"role": "assistant", "content": None, "reasoning_content": "Need the tool.",
                                     "tool_calls": [{"name": "get_country_population", "arguments": {"country": "Brazil"}}]}
    assert sample["tools"][0]["parameters"]["required"] == ["country"]


def test_openai_record():
    sample = convert(OPENAI_RECORD)
    assert validate_sample({**sample, "id": "x"}) == []
    assert sample["messages"][0]["content"] == "You help."
    assert sample["messages"][2]["tool_calls"] == [{"name": "get_weather", "arguments": {"city": "Zürich"}}]
    assert sample["messages"][3] == {"role": "tool", "name": "get_weather", "content": "{\"temp\": 3}"}


@pytest.mark.parametrize("edit, reason, field", [
    (lambda r: r["messages"][2]["tool_calls"][0]["function"].update(arguments="{city: Zürich"), "bad_json_arguments",
     "messages[2].tool_calls[0].function.arguments"),
    (lambda r: r["messages"][2]["tool_calls"][0]["function"].update(arguments="[1, 2]"), "arguments_not_object",
     "messages[2].tool_calls[0].function.arguments"),
    (lambda r: r["messages"][1].pop("role"), "missing_role", "messages[1].role"),
    (lambda r: r["messages"][1].update(role="narrator"), "bad_role", "messages[1].role"),
    (lambda r: r.update(tools="[{\"name\": "), "bad_json_tools", "tools"),
    (lambda r: r.pop("messages"), "missing_field", "messages"),
])
def test_malformed_records(edit, reason, field):
    record = json.loads(json.dumps(OPENAI_RECORD))
    edit(record)
    with pytest.raises(RecordError) as info:
        convert(record)
    assert (info.value.reason, info.value.field) == (reason, field)


def test_unknown_tool_and_empty_tools_are_caught_by_validation():
    record = json.loads(json.dumps(OPENAI_RECORD))
    record["messages"][2]["tool_calls"][0]["function"]["name"] = "get_time"
    assert "is not one of the tools" in validate_sample({**convert(record), "id": "x"})[0]
    record["tools"] = []
    assert "has no tools" in validate_sample({**convert(record), "id": "x"})[0]
