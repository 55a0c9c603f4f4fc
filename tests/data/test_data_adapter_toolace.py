from __future__ import annotations

import json

import pytest

from fctrain.data import RecordError, validate_sample
from fctrain.data.adapters import get_adapter
from fctrain.data.adapters.toolace import parse_call_list

convert = get_adapter("toolace")

TOOLS = [{"name": "Market Trends API", "description": "Market trends.",
          "parameters": {"type": "dict", "properties": {
              "trend_type": {"description": "Kind.", "type": "string"},
              "country": {"description": "Country code.", "type": "string", "default": "us"}},
              "required": ["trend_type"]}, "required": None},
         {"name": "get_quote", "description": "Quote.",
          "parameters": {"type": "dict", "properties": {"symbols": {"type": "array", "items": {"type": "string"}},
                                                        "live": {"type": "boolean"}}, "required": ["symbols"]}}]
SYSTEM = ("You are an expert in composing functions. You are given a question and a set of possible functions.\n"
          "Here is a list of functions in JSON format that you can invoke:\n" + json.dumps(TOOLS)
          + ".\nShould you decide to return the function call(s), put them in the format of [func1(params)]")
ROW = {"system": SYSTEM, "conversations": [
    {"from": "user", "value": "Show market indexes and quotes for AAPL and MSFT."},
    {"from": "assistant", "value": '[Market Trends API(trend_type="MARKET_INDEXES"), get_quote(symbols=["AAPL", "MSFT"], live=true)]'},
    {"from": "tool", "value": json.dumps([{"name": "Market Trends API", "results": {"idx": [1]}},
                                          {"name": "get_quote", "results": {"AAPL": 1}}])},
    {"from": "assistant", "value": "The indexes are up; AAPL trades at 1."}]}


def test_row():
    sample = convert(ROW)
    assert validate_sample({**sample, "id": "t"}) == []
    assert sample["messages"][1]["tool_calls"] == [
        {"name": "Market Trends API", "arguments": {"trend_type": "MARKET_INDEXES"}},
        {"name": "get_quote", "arguments": {"symbols": ["AAPL", "MSFT"], "live": True}}]
    assert [m.get("name") for m in sample["messages"][2:4]] == ["Market Trends API", "get_quote"]
    assert sample["tools"][0]["parameters"]["type"] == "object"


def test_call_values_are_literals_never_code():
    calls = parse_call_list('[f(a=-1.5, b=(1, 2), c={"k": None}, d="x)]", e=\'\u00e9\')]', "v")
    assert calls == [{"name": "f", "arguments": {"a": -1.5, "b": [1, 2], "c": {"k": None}, "d": "x)]", "e": "é"}}]
    with pytest.raises(RecordError) as info:
        parse_call_list('[f(a=__import__("os").system("echo hi"))]', "v")
    assert info.value.reason == "bad_argument_value"


@pytest.mark.parametrize("value, reason", [
    ("[f(1, 2)]", "bad_call_syntax"),
    ("[f(a=1]", "bad_call_syntax"),
    ("[f(a=1) g(b=2)]", "bad_call_syntax"),
    ("[f(a=)]", "bad_call_syntax"),
])
def test_bad_call_syntax(value, reason):
    with pytest.raises(RecordError) as info:
        parse_call_list(value, "v")
    assert info.value.reason == reason


@pytest.mark.parametrize("edit, reason, field", [
    (lambda r: r.update(system="You are helpful. No tools here."), "no_tools_in_system", "system"),
    (lambda r: r["conversations"][0].pop("from"), "missing_role", "conversations[0].from"),
    (lambda r: r["conversations"][0].update({"from": "robot"}), "bad_role", "conversations[0].from"),
    (lambda r: r["conversations"][1].update(value='[get_quote(symbols="AAPL", live=True'), "bad_call_syntax",
     "conversations[1].value"),
])
def test_malformed_rows(edit, reason, field):
    row = json.loads(json.dumps(ROW))
    edit(row)
    with pytest.raises(RecordError) as info:
        convert(row)
    assert (info.value.reason, info.value.field) == (reason, field)


def test_unknown_tool_fails_validation():
    row = json.loads(json.dumps(ROW))
    row["conversations"][1]["value"] = "[Stock Picker(x=1)]"
    row["conversations"] = row["conversations"][:2]
    assert any("'Stock Picker' is not one of the tools" in p for p in validate_sample({**convert(row), "id": "t"}))


def test_plain_reply_starting_with_bracket_is_text():
    row = json.loads(json.dumps(ROW))
    row["conversations"] = [row["conversations"][0], {"from": "assistant", "value": "[Note] No call needed — 東京."}]
    assert convert(row)["messages"][1]["content"] == "[Note] No call needed — 東京."
