"""`toolace_qwen` on hand-made records of the cleaned Qwen-format ToolACE release (../shared/docs/STAR.md):
one sample per assistant turn, parallel calls merged, names matched, bad turns skipped, results JSON-encoded."""

from __future__ import annotations

import json

import pytest

from fctrain.data import RecordError, validate_sample
from fctrain.data.adapters import get_adapter

convert = get_adapter("toolace_qwen")

TOOLS = [{"type": "function", "function": {"name": "Market Trends API", "description": "Trends.", "parameters": {
    "type": "object", "properties": {"trend_type": {"type": "string"}}, "required": ["trend_type"]}}},
         {"type": "function", "function": {"name": "get_quote", "description": "Quote.", "parameters": {
             "type": "object", "properties": {"symbol": {"type": "string"}}, "required": ["symbol"]}}}]
CONV = [
    {"role": "system", "content": "You are a finance assistant."},
    {"role": "user", "content": "Market indexes, and quotes for AAPL and MSFT."},
    {"role": "assistant", "content": "", "tool_calls": [
        {"type": "function", "function": {"name": "market_trends_api", "arguments": "{\"trend_type\": \"MARKET_INDEXES\"}"}}]},
    {"role": "assistant", "content": "", "tool_calls": [{"name": "get_quote", "arguments": {"symbol": "AAPL"}}]},
    {"role": "assistant", "content": "<tool_call>\n{\"name\": \"get_quote\", \"arguments\": {\"symbol\": \"MSFT\"}}\n</tool_call>"},
    {"role": "tool", "content": {"indexes": ["S&P 500"]}},
    {"role": "tool", "content": 182.5},
    {"role": "tool", "content": "410.2"},
    {"role": "assistant", "content": "S&P 500 leads; AAPL 182.5, MSFT 410.2."},
    {"role": "user", "content": "Quote for TSLA with a date?"},
    {"role": "assistant", "content": "", "tool_calls": [{"name": "get_quote", "arguments": {"symbol": "TSLA", "date": "x"}}]},
    {"role": "tool", "content": "n/a"},
    {"role": "assistant", "content": "I could not get that."},
]
RECORD = {"id": 5, "tools": json.dumps(TOOLS), "conversations": json.dumps(CONV)}


def test_each_assistant_turn_is_a_sample_with_its_history():
    samples = convert(json.loads(json.dumps(RECORD)))
    # Turn 3 (an unknown argument "date") is skipped as a target; turns 1, 2 and 4 remain.
    assert [s["id"] for s in samples] == ["toolace-5-t1", "toolace-5-t2", "toolace-5-t4"]
    first, reply, last = samples
    assert all(validate_sample(s) == [] for s in samples[:2])
    assert first["messages"][-1]["tool_calls"] == [  # three messages merged; name matched to the tool's
        {"name": "Market Trends API", "arguments": {"trend_type": "MARKET_INDEXES"}},
        {"name": "get_quote", "arguments": {"symbol": "AAPL"}},
        {"name": "get_quote", "arguments": {"symbol": "MSFT"}}]
    assert [m["role"] for m in first["messages"]] == ["system", "user", "assistant"]
    assert [m["content"] for m in reply["messages"] if m["role"] == "tool"] == ['{"indexes": ["S&P 500"]}', "182.5", "410.2"]
    assert reply["messages"][-1]["content"] == "S&P 500 leads; AAPL 182.5, MSFT 410.2."
    assert last["messages"][-1]["content"] == "I could not get that." and len(last["messages"]) == len(CONV) - 2
    # Its history still holds the skipped turn's call, which our validation names (and load_source counts).
    assert any("date" in p for p in validate_sample(last))


def test_a_record_without_a_valid_turn_is_an_error():
    conv = [{"role": "user", "content": "hi"},
            {"role": "assistant", "content": "", "tool_calls": [{"name": "unknown", "arguments": {}}]}]
    with pytest.raises(RecordError) as info:
        convert({"tools": json.dumps(TOOLS), "conversations": json.dumps(conv)})
    assert info.value.reason == "no_valid_turn"


def test_fields_must_be_present_and_json():
    with pytest.raises(RecordError) as info:
        convert({"tools": json.dumps(TOOLS), "conversations": "[{"})
    assert info.value.reason == "bad_json" and info.value.field == "conversations"
    with pytest.raises(RecordError) as info:
        convert({"conversations": "[]"})
    assert info.value.reason == "missing_field"
