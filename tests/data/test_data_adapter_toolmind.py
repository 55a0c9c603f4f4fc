from __future__ import annotations

import json

import pytest

from fctrain.data import RecordError, validate_sample
from fctrain.data.adapters import get_adapter

convert = get_adapter("toolmind")

TOOLS = [{"type": "function", "function": {"name": "search_flights", "description": "Flights.", "parameters": {
    "type": "object", "properties": {"to": {"type": "string"}}, "required": ["to"]}}},
         {"type": "function", "function": {"name": "book", "description": "Book.", "parameters": {
             "type": "object", "properties": {"flight_id": {"type": "string"}}, "required": ["flight_id"]}}}]
ROW = {"id": 7, "tools": json.dumps(TOOLS), "messages": [
    {"role": "system", "content": "Policy: always confirm before booking."},
    {"role": "user", "content": "Cheapest flight to Oslo please."},
    {"role": "assistant", "reasoning_content": "Search first.", "content": "",
     "tool_calls": [{"id": "c1", "type": "function", "function": {"name": "search_flights", "arguments": "{\"to\": \"Oslo\"}"}}]},
    {"role": "tool", "tool_call_id": "c1", "content": "[{\"id\": \"SK1\", \"price\": 99}]"},
    {"role": "assistant", "content": "SK1 costs 99. Shall I book it?"},
    {"role": "user", "content": "Yes."},
    {"role": "assistant", "content": "<think>Confirmed.</think>\n<tool_call>\n{\"name\": \"book\", \"arguments\": {\"flight_id\": \"SK1\"}}\n</tool_call>"},
    {"role": "tool", "content": "<tool_response>{\"status\": \"ok\"}</tool_response>"},
    {"role": "assistant", "content": "Booked SK1 ✈."}]}


def test_multi_turn_row():
    sample = convert(ROW)
    assert sample["id"] == "toolmind-7" and validate_sample(sample) == []
    assert [m["role"] for m in sample["messages"]].count("assistant") == 4
    assert sample["messages"][3]["name"] == "search_flights"
    assert sample["messages"][6]["tool_calls"] == [{"name": "book", "arguments": {"flight_id": "SK1"}}]
    assert sample["messages"][6]["reasoning_content"] == "Confirmed."
    assert sample["messages"][7]["content"] == "{\"status\": \"ok\"}"


def test_sharegpt_turns_with_tools_in_system():
    tools_block = "\n".join(json.dumps(t["function"]) for t in TOOLS)
    row = {"conversations": [
        {"from": "system", "value": f"Policy text.\n<tools>\n{tools_block}\n</tools>\nMore policy."},
        {"from": "human", "value": "Flights to Oslo"},
        {"from": "gpt", "value": "<tool_call>\n{\"name\": \"search_flights\", \"arguments\": {\"to\": \"Oslo\"}}\n</tool_call>"}]}
    sample = convert(row)
    assert sample["messages"][0] == {"role": "system", "content": "Policy text.\n\nMore policy."}
    assert [t["name"] for t in sample["tools"]] == ["search_flights", "book"]
    assert validate_sample({**sample, "id": "x"}) == []


@pytest.mark.parametrize("edit, reason", [
    (lambda r: r["messages"][2]["tool_calls"][0]["function"].update(arguments="{\"to\": "), "bad_json_arguments"),
    (lambda r: r["messages"][1].pop("role"), "missing_role"),
    (lambda r: r.update(tools="[{"), "bad_json_tools"),
    (lambda r: r.pop("messages"), "missing_field"),
    (lambda r: r["messages"][6].update(content="<tool_call>{\"name\": \"book\"</tool_call>"), "bad_json_tool_call"),
])
def test_malformed_rows(edit, reason):
    row = json.loads(json.dumps(ROW))
    edit(row)
    with pytest.raises(RecordError) as info:
        convert(row)
    assert info.value.reason == reason


def test_unknown_tool_and_empty_tools_fail_validation():
    row = json.loads(json.dumps(ROW))
    row["messages"][2]["tool_calls"][0]["function"]["name"] = "cancel"
    assert any("'cancel' is not one of the tools" in p for p in validate_sample(convert(row)))
    row["tools"] = []
    assert any("has no tools" in p for p in validate_sample(convert(row)))


# Hand-made records of the real ToolMind format (graph_syn_datasets/graphsyn.jsonl, ../shared/docs/STAR.md).
REAL_TOOLS = [
    {"type": "function", "function": {"name": "search_flights", "description": "Flights.", "parameters": {
        "type": "object", "properties": {"to": {"type": "string"}}, "required": ["to"]}}},
    {"name": "book", "description": "Book.", "arguments": {  # `arguments` instead of `parameters`
        "type": "object", "properties": {"flight_id": {"type": "string"}}, "required": ["flight_id"]}},
]
REAL_ROW = {"conversations": [
    {"role": "user", "content": "Cheapest flight to Oslo please."},
    {"role": "assistant", "content": "<think>Search first.</think>",
     "tool_calls": [{"function": {"name": "search_flights", "arguments": "{\"to\": \"Oslo\"}"}}]},
    {"role": "tool", "content": "[{\"id\": \"SK1\", \"price\": 99}]"},
    {"role": "assistant", "content": "<think>SK1 is cheapest.</think>\n\nSK1 costs 99. Book it?"},
    {"role": "user", "content": "Yes."},
    {"role": "assistant", "content": "", "tool_calls": [{"name": "book", "arguments": {"flight_id": "SK1"}}]},
    {"role": "tool", "content": "{\"status\": \"ok\"}"},
    {"role": "assistant", "content": "Booked SK1."}], "tools": REAL_TOOLS}


def test_real_toolmind_record():
    sample = convert(json.loads(json.dumps(REAL_ROW)))
    assert validate_sample({**sample, "id": "x"}) == []
    first, reply, second, last = (m for m in sample["messages"] if m["role"] == "assistant")
    assert first["tool_calls"] == [{"name": "search_flights", "arguments": {"to": "Oslo"}}]
    assert (first["reasoning_content"], first["content"]) == ("Search first.", None)
    assert (reply["reasoning_content"], reply["content"]) == ("SK1 is cheapest.", "SK1 costs 99. Book it?")
    assert second["tool_calls"] == [{"name": "book", "arguments": {"flight_id": "SK1"}}]
    assert (last["reasoning_content"], last["content"]) == (None, "Booked SK1.")
    book = next(t for t in sample["tools"] if t["name"] == "book")
    assert book["parameters"]["properties"] == {"flight_id": {"type": "string"}} and "arguments" not in book


@pytest.mark.parametrize("content", [
    "<think>a</think><think>b</think>answer",  # two blocks
    "<think>never closed",
    "answer first <think>then thinking</think>",
    "</think>stray close",
])
def test_malformed_reasoning_drops_the_conversation_and_is_counted(tmp_path, content):
    from fctrain.data import load_source

    row = json.loads(json.dumps(REAL_ROW))
    row["conversations"][3]["content"] = content
    with pytest.raises(RecordError) as info:
        convert(row)
    assert info.value.reason == "bad_reasoning" and info.value.field == "conversations[3].content"
    path = tmp_path / "graphsyn.jsonl"
    path.write_text(json.dumps(row) + "\n" + json.dumps(REAL_ROW) + "\n")
    loaded = load_source(path, "toolmind", on_invalid="skip")
    assert len(loaded.samples) == 1 and loaded.skipped == {"bad_reasoning": 1}
