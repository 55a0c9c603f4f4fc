from __future__ import annotations

import json

import pytest

from fctrain.rewards import format_tool_calls, parse_completion

CALL = '{"name": "f", "arguments": {"a": 1}}'


def test_qwen3_rendering_parses():
    text = f"<think>\nplan it\n</think>\n\nSure.\n<tool_call>\n{CALL}\n</tool_call>"
    parsed = parse_completion(text)
    assert parsed.ok and parsed.reason is None
    assert parsed.reasoning == "plan it"
    assert parsed.content == "Sure."
    assert parsed.tool_calls == [{"name": "f", "arguments": {"a": 1}}]


def test_hermes_without_newlines_and_several_blocks():
    text = f'<think></think><tool_call>{CALL}</tool_call><tool_call>{{"name":"g","arguments":{{}}}}</tool_call>'
    parsed = parse_completion(text)
    assert parsed.ok and parsed.reasoning == "" and parsed.content == ""
    assert [c["name"] for c in parsed.tool_calls] == ["f", "g"]


def test_list_of_calls_in_one_block():
    body = json.dumps([{"name": "f", "arguments": {}}, {"name": "g", "arguments": {"x": "y"}}])
    parsed = parse_completion(f"<think>x</think>\n<tool_call>\n{body}\n</tool_call>")
    assert parsed.ok and parsed.tool_calls == [{"name": "f", "arguments": {}}, {"name": "g", "arguments": {"x": "y"}}]


def test_arguments_as_json_string_are_decoded():
    body = json.dumps({"name": "f", "arguments": json.dumps({"a": [1, 2]})})
    parsed = parse_completion(f"<think>x</think><tool_call>{body}</tool_call>")
    assert parsed.ok and parsed.tool_calls == [{"name": "f", "arguments": {"a": [1, 2]}}]


def test_extra_keys_ignored_and_whitespace_tolerated():
    body = '  \n {"id": 3, "name": "f", "arguments": {}}  \n'
    parsed = parse_completion(f"  \n<think>\n\n r \n</think>  hello  <tool_call>{body}</tool_call>  \n")
    assert parsed.ok and parsed.reasoning == "r" and parsed.content == "hello"
    assert parsed.tool_calls == [{"name": "f", "arguments": {}}]


def test_plain_text_reply_and_think_false():
    assert parse_completion("<think>a</think>\n\nHi there!").content == "Hi there!"
    parsed = parse_completion("Hi there!", think=False)
    assert parsed.ok and parsed.reasoning is None and parsed.content == "Hi there!"


@pytest.mark.parametrize("text,think,reason", [
    ("no think here", True, "think_count"),
    ("<think>a</think><think>b</think>", True, "think_count"),
    ("<think>a", True, "think_count"),
    ("</think>a<think>", True, "think_order"),
    ("hi <think>a</think>", True, "text_before_think"),
    ("<think>a</think>", False, "unexpected_think"),
    (f"<think>a</think></tool_call>{CALL}", True, "stray_close_tag"),
    (f"<think>a</think><tool_call>{CALL}", True, "unclosed_tool_call"),
    (f"<think>a</think><tool_call><tool_call>{CALL}</tool_call></tool_call>", True, "nested_tool_call"),
    ("<think>a</think><tool_call>{'name': 'f', 'arguments': {}}</tool_call>", True, "invalid_json"),
    ("<think>a</think><tool_call></tool_call>", True, "invalid_json"),
    ('<think>a</think><tool_call>{"name": "f", "arguments": {"x": NaN}}</tool_call>', True, "invalid_json"),
    ("<think>a</think><tool_call>[]</tool_call>", True, "empty_call_list"),
    ('<think>a</think><tool_call>"f"</tool_call>', True, "call_not_object"),
    ('<think>a</think><tool_call>{"arguments": {}}</tool_call>', True, "missing_name"),
    ('<think>a</think><tool_call>{"name": 3, "arguments": {}}</tool_call>', True, "bad_name"),
    ('<think>a</think><tool_call>{"name": " ", "arguments": {}}</tool_call>', True, "bad_name"),
    ('<think>a</think><tool_call>{"name": "f"}</tool_call>', True, "missing_arguments"),
    ('<think>a</think><tool_call>{"name": "f", "arguments": [1]}</tool_call>', True, "bad_arguments"),
    ('<think>a</think><tool_call>{"name": "f", "arguments": "not json"}</tool_call>', True, "bad_arguments"),
    ('<think>a</think><tool_call>{"name": "f", "arguments": "[1]"}</tool_call>', True, "bad_arguments"),
    ("<think>a</think><tool_call>" + "[" * 100000 + "</tool_call>", True, "invalid_json"),
])
def test_structural_failures(text, think, reason):
    parsed = parse_completion(text, think=think)
    assert not parsed.ok and parsed.reason == reason and parsed.tool_calls == []


def test_non_string_input_is_a_failure_not_an_exception():
    assert parse_completion(None).reason == "not_text"


def test_format_tool_calls_is_canonical_and_round_trips():
    calls = [{"name": "f", "arguments": {"city": "São Paulo", "n": 2}}, {"name": "g", "arguments": {}}]
    text = format_tool_calls(calls)
    assert text == (
        '<tool_call>\n{"name": "f", "arguments": {"city": "São Paulo", "n": 2}}\n</tool_call>\n'
        '<tool_call>\n{"name": "g", "arguments": {}}\n</tool_call>'
    )
    assert parse_completion(text, think=False).tool_calls == calls
    assert format_tool_calls([]) == ""
