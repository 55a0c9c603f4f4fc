"""Rewards read completions in their family's format: the same answer written as Llama 3.2 or Gemma 4 text
scores exactly as its Qwen3/Hermes text does, and naming qwen3 is the unchanged Hermes path."""

from __future__ import annotations

import pytest

from fctrain.rewards import exact_match_rewards, similarity_rewards

TOOLS = [{"name": "get_weather", "description": "", "parameters": {
    "type": "object", "properties": {"city": {"type": "string"}, "days": {"type": "integer"}}}}]
REFERENCE = {"role": "assistant", "content": None,
             "tool_calls": [{"name": "get_weather", "arguments": {"city": "New York City", "days": 3}}]}
HERMES = ['<tool_call>\n{"name": "get_weather", "arguments": {"city": "New York", "days": 3}}\n</tool_call>',
          '<tool_call>\n{"name": "get_weather", "arguments": {"city": "York", "days": 2}}\n</tool_call>',
          "I cannot help.", '<tool_call>\n{"name": "nope", "arguments": {}}\n</tool_call>']
SAME_ANSWERS = {
    "llama3_2": ['{"name": "get_weather", "parameters": {"city": "New York", "days": 3}}<|eot_id|>',
                 '{"name": "get_weather", "parameters": {"city": "York", "days": 2}}<|eot_id|>',
                 "I cannot help.<|eot_id|>", '{"name": "nope", "parameters": {}}<|eot_id|>'],
    "gemma4": ['<|tool_call>call:get_weather{city:<|"|>New York<|"|>,days:3}<tool_call|><|tool_response>',
               '<|tool_call>call:get_weather{city:<|"|>York<|"|>,days:2}<tool_call|><|tool_response>',
               "I cannot help.<turn|>", "<|tool_call>call:nope{}<tool_call|><|tool_response>"],
}


def scores(completions, template):
    n = len(completions)
    sim = similarity_rewards(completions, [REFERENCE] * n, [TOOLS] * n, think=False, template=template)
    exact = exact_match_rewards(completions, [REFERENCE] * n, [TOOLS] * n, think=False, template=template)
    return [(r.reward, r.score) for r in sim], [(r.reward, r.score) for r in exact]


@pytest.mark.parametrize("family", sorted(SAME_ANSWERS))
def test_the_same_answer_scores_the_same_in_every_family(family):
    hermes = scores(HERMES, None)
    assert hermes[0][0][0] > 0.5 and hermes[0][3] == (-1.0, 0.0)  # the cases differ from each other
    assert scores(SAME_ANSWERS[family], family) == hermes


def test_naming_qwen3_or_hermes_is_the_unchanged_path():
    assert scores(HERMES, "qwen3") == scores(HERMES, "hermes") == scores(HERMES, None)


@pytest.mark.parametrize(("family", "text", "reason"), [
    ("llama3_2", '{"name": "get_weather", "parameters": {"city": "Oslo"}<|eot_id|>', "unparseable: ValueError"),
    ("gemma4", '<|tool_call>call:get_weather{city:<|"|>Oslo}<tool_call|>', "unparseable: ValueError"),
    ("llama3_2", '{"name": "get_weather", "parameters": "x"}<|eot_id|>', "bad_tool_call"),
    ("gemma4", "<|channel>thought\nhm<channel|>hi<turn|>", "unexpected_think"),  # think off
])
def test_malformed_family_text_is_a_format_failure(family, text, reason):
    from fctrain.rewards.family_parsing import parse_completion_as

    parsed = parse_completion_as(text, family, think=False)
    assert (parsed.ok, parsed.reason) == (False, reason)
    assert similarity_rewards([text], [REFERENCE], [TOOLS], think=False, template=family)[0].reward == -1.0
