from __future__ import annotations

import copy

import pytest

from fctrain.data import problems, validate_sample

TOOL = {"name": "get_weather", "description": "Weather.",
        "parameters": {"type": "object", "properties": {"city": {"type": "string"}}, "required": ["city"]}}
GOOD = {"id": "s1", "tools": [TOOL], "messages": [
    {"role": "system", "content": "Be brief."},
    {"role": "user", "content": "Weather in Oslo?"},
    {"role": "assistant", "content": None, "reasoning_content": None,
     "tool_calls": [{"name": "get_weather", "arguments": {"city": "Oslo"}}]},
    {"role": "tool", "name": "get_weather", "content": "{\"temp\": 3}"},
    {"role": "assistant", "content": "It is 3 °C in Oslo.", "tool_calls": [], "reasoning_content": None},
]}


def mutate(fn):
    sample = copy.deepcopy(GOOD)
    fn(sample)
    return sample


def test_good_sample_is_valid():
    assert validate_sample(GOOD) == []


@pytest.mark.parametrize("change, reason, field", [
    (lambda s: s["messages"][2]["tool_calls"][0].update(arguments='{"city": "Oslo"}'), "arguments_not_object",
     "messages[2].tool_calls[0].arguments"),
    (lambda s: s["messages"][2]["tool_calls"][0].update(name="get_time"), "unknown_tool", "messages[2].tool_calls[0].name"),
    (lambda s: s["messages"][2]["tool_calls"][0]["arguments"].update(country="NO"), "unknown_argument",
     "messages[2].tool_calls[0].arguments"),
    (lambda s: s.update(tools=[]), "empty_tools", "messages[2].tool_calls[0].name"),
    (lambda s: s["messages"][1].pop("role"), "missing_role", "messages[1].role"),
    (lambda s: s["messages"][1].update(role="human"), "bad_role", "messages[1].role"),
    (lambda s: s["messages"].pop(2), "tool_without_call", "messages[2]"),
    (lambda s: s["messages"][3].update(name="other"), "tool_without_call", "messages[3].name"),
    (lambda s: s.update(messages=[m for m in s["messages"] if m["role"] != "user"]), "no_user", "messages"),
    (lambda s: s["messages"].pop(), "bad_order", "messages[3]"),
    (lambda s: s["messages"].append({"role": "system", "content": "late"}), "bad_order", "messages[5]"),
    (lambda s: s["messages"][4].update(content=""), "empty_assistant", "messages[4]"),
    (lambda s: s["tools"][0].update(parameters={"city": {"type": "str"}}), "bad_tool", "tools[0].parameters"),
    (lambda s: s["tools"].append(dict(TOOL)), "ambiguous_tool", "messages[2].tool_calls[0].name"),
    (lambda s: s.update(id=""), "bad_id", "id"),
    (lambda s: s["messages"][1].update(content=None), "bad_content", "messages[1].content"),
])
def test_each_problem_is_named(change, reason, field):
    found = problems(mutate(change))
    assert reason in [p.reason for p in found], found
    message = next(p.message for p in found if p.reason == reason)
    assert message.startswith(field), message


def test_duplicate_tool_names_are_fine_when_not_called():
    other = {**TOOL, "name": "search"}
    sample = mutate(lambda s: s["tools"].extend([other, dict(other)]))
    assert validate_sample(sample) == []


def test_unicode_is_fine():
    sample = mutate(lambda s: s["messages"][2]["tool_calls"][0]["arguments"].update(city="Zürich 東京 🌧"))
    assert validate_sample(sample) == []


def test_not_a_dict():
    assert validate_sample(["nope"]) == ["sample: expected an object, got list"]
