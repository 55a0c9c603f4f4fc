from __future__ import annotations

import json

import pytest

from fctrain.data import RecordError, validate_sample
from fctrain.data.adapters import get_adapter

convert = get_adapter("hermes")

TOOLS_PY = ("[{'type': 'function', 'function': {'name': 'get_stock_price', 'description': 'Price.', 'parameters': "
            "{'type': 'object', 'properties': {'symbol': {'type': 'string'}}, 'required': ['symbol']}}}]")
ROW = {"id": "85f6c398", "conversations": [
    {"from": "system", "value": f"You are a function calling AI model. <tools> {TOOLS_PY} </tools> Use them."},
    {"from": "human", "value": "Prices of AAPL and MSFT?"},
    {"from": "gpt", "value": "<tool_call>\n{'arguments': {'symbol': 'AAPL'}, 'name': 'get_stock_price'}\n</tool_call>\n"
                             "<tool_call>\n{\"name\": \"get_stock_price\", \"arguments\": {\"symbol\": \"MSFT\"}}\n</tool_call>"},
    {"from": "tool", "value": "<tool_response>\n{'name': 'get_stock_price', 'content': {'price': 150}}\n</tool_response>\n"
                              "<tool_response>\n{\"name\": \"get_stock_price\", \"content\": {\"price\": 300}}\n</tool_response>"},
    {"from": "gpt", "value": "<think>Both fetched.</think>AAPL is $150 and MSFT is $300."}]}


def test_row():
    sample = convert(ROW)
    assert sample["id"] == "hermes-85f6c398" and validate_sample(sample) == []
    assert [m["role"] for m in sample["messages"]] == ["user", "assistant", "tool", "tool", "assistant"]
    assert sample["messages"][1]["tool_calls"][1] == {"name": "get_stock_price", "arguments": {"symbol": "MSFT"}}
    assert sample["messages"][4]["reasoning_content"] == "Both fetched."
    assert sample["messages"][4]["content"] == "AAPL is $150 and MSFT is $300."
    assert sample["tools"][0]["name"] == "get_stock_price"


def test_tools_one_json_per_line_and_top_level_tools_field():
    lines = "\n".join(json.dumps({"name": n, "parameters": {}}) for n in ("a", "b"))
    row = {"conversations": [{"from": "system", "value": f"<tools>\n{lines}\n</tools>"},
                             {"from": "human", "value": "hi"}, {"from": "gpt", "value": "<tool_call>{\"name\": \"b\", \"arguments\": {}}</tool_call>"}]}
    assert [t["name"] for t in convert(row)["tools"]] == ["a", "b"]
    row["tools"] = json.dumps([{"name": "b", "parameters": {}}])
    assert [t["name"] for t in convert(row)["tools"]] == ["b"]


@pytest.mark.parametrize("edit, reason, field", [
    (lambda r: r["conversations"][2].update(value="<tool_call>\n{'name': 'get_stock_price', 'arguments': {'symbol': }\n</tool_call>"),
     "bad_json_tool_call", "conversations[2].value<tool_call #1>"),
    (lambda r: r["conversations"][2].update(value="<tool_call>{\"name\": \"get_stock_price\", \"arguments\": {}}"),
     "bad_tool_call", "conversations[2].value<tool_call #1>"),
    (lambda r: r["conversations"][2].update(value="<tool_call>{\"name\": \"f\", \"arguments\": \"[1]\"}</tool_call>"),
     "arguments_not_object", "conversations[2].value<tool_call #1>.arguments"),
    (lambda r: r["conversations"][1].pop("from"), "missing_role", "conversations[1].from"),
    (lambda r: r["conversations"][0].update(value="<tools> [{'name': </tools>"), "bad_json_tools", "conversations[0].value<tools>"),
])
def test_malformed_rows(edit, reason, field):
    row = json.loads(json.dumps(ROW))
    edit(row)
    with pytest.raises(RecordError) as info:
        convert(row)
    assert (info.value.reason, info.value.field) == (reason, field)


def test_unknown_tool_and_empty_tools_fail_validation():
    row = json.loads(json.dumps(ROW))
    row["conversations"][2]["value"] = "<tool_call>{\"name\": \"get_weather\", \"arguments\": {}}</tool_call>"
    assert any("'get_weather' is not one of the tools" in p for p in validate_sample(convert(row)))
    row["conversations"][0]["value"] = "You are helpful. Unicode: ünïcødé 東京"
    problems = validate_sample(convert(row))
    assert any("has no tools" in p for p in problems)
