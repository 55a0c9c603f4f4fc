"""exact_match, format and ToolRL rewards, and their weighted combination."""

from __future__ import annotations

import pytest

from fctrain.errors import ConfigError
from fctrain.rewards import (
    REWARDS,
    combine_rewards,
    exact_match_reward,
    format_reward,
    format_tool_calls,
    toolrl_reward,
)
from fctrain.rewards.toolrl_reward import best_matching

TOOLS = [{"name": "f", "parameters": {"type": "object", "properties": {"a": {}, "b": {}}}},
         {"name": "g", "parameters": {"x": {"type": "str"}}}]
F = {"name": "f", "arguments": {"a": 1, "b": "two"}}
G = {"name": "g", "arguments": {"x": "y"}}


def answer(*calls, content=""):
    return "<think>\nr\n</think>\n\n" + "\n".join(x for x in (content, format_tool_calls(list(calls))) if x)


def ref(*calls, content=None):
    return {"content": content, "tool_calls": list(calls)}


def test_exact_match_is_order_free_and_type_strict():
    assert exact_match_reward(answer(G, F), ref(F, G), TOOLS).reward == 1.0
    assert exact_match_reward(answer(F), ref(F, G), TOOLS).reward == 0.0
    assert exact_match_reward(answer(F, F, G), ref(F, G), TOOLS).reward == 0.0  # multiset, not set
    reordered = {"name": "f", "arguments": {"b": "two", "a": 1}}
    assert exact_match_reward(answer(reordered), ref(F), TOOLS).reward == 1.0
    for a in (1.0, True, "1"):
        assert exact_match_reward(answer({"name": "f", "arguments": {"a": a, "b": "two"}}), ref(F), TOOLS).reward == 0.0
    assert exact_match_reward(answer(content="Hello."), ref(content=" Hello. "), TOOLS).reward == 1.0
    assert exact_match_reward(answer(content="Hello!"), ref(content="Hello."), TOOLS).reward == 0.0
    result = exact_match_reward("no think", ref(F), TOOLS)
    assert (result.reward, result.score, result.reason) == (0.0, 0.0, "format:think_count")
    assert exact_match_reward(answer({"name": "h", "arguments": {}}), ref(F), TOOLS).reason == "schema:unknown_tool"


def test_format_reward_checks_structure_only():
    assert format_reward(answer({"name": "unknown", "arguments": {"zzz": 1}}), ref(F), TOOLS).reward == 1.0
    result = format_reward("<think>x</think><tool_call>{", ref(F), TOOLS)
    assert (result.reward, result.reason) == (0.0, "format:unclosed_tool_call")


def test_toolrl_hand_computed():
    # G = [F, G]: S_max = 1 + 2 + (2 + 1) = 6
    assert toolrl_reward(answer(F, G), ref(F, G), TOOLS).reward == pytest.approx(1 + 3.0)
    # prediction [F with b wrong]: r_name = 1/2; F matched: r_param = 1, r_value = 1 -> 6 * 2.5 / 6 - 3 = -0.5
    wrong_b = {"name": "f", "arguments": {"a": 1, "b": "three"}}
    result = toolrl_reward(answer(wrong_b), ref(F, G), TOOLS)
    assert result.reward == pytest.approx(1 - 0.5) and result.score == pytest.approx(2.5 / 6)
    # keys {a} vs {a, b}: r_param = 1/2, r_value = 1 (a); r_name = 1; S_max = 1 + 1 + 2 = 4: 6 * 2.5 / 4 - 3 = 0.75
    assert toolrl_reward(answer({"name": "f", "arguments": {"a": 1}}), ref(F), TOOLS).reward == pytest.approx(1.75)
    # text reply reference: G empty, S_max = 1; no call -> r_name = 1 -> +3; a call -> r_name = 0 -> -3
    assert toolrl_reward(answer(content="hi"), ref(content="hello"), TOOLS).reward == pytest.approx(4.0)
    assert toolrl_reward(answer(G), ref(content="hello"), TOOLS).reward == pytest.approx(-2.0)
    failed = toolrl_reward("broken", ref(F), TOOLS)
    assert (failed.reward, failed.score) == (-3.0, 0.0)


def test_toolrl_uses_the_best_matching_not_the_first():
    f1, f2 = {"name": "f", "arguments": {"a": 1}}, {"name": "f", "arguments": {"a": 2}}
    # each predicted call is paired with its equal reference call, whatever the order
    assert toolrl_reward(answer(f2, f1), ref(f1, f2), TOOLS).reward == pytest.approx(4.0)
    assert best_matching([[1.0, 3.0], [2.0, 0.0]]) == 5.0  # greedy on row 0 would take 3 and end at 3
    assert best_matching([]) == 0.0


def test_combine_rewards():
    combined = combine_rewards({"similarity": 1.0, "format": 0.5})
    results = combined([answer(F), "broken"], [ref(F, G), ref(F)], [TOOLS, TOOLS])
    assert results[0].reward == pytest.approx(0.5 + 0.5) and results[0].score == pytest.approx((0.5 + 0.5) / 1.5)
    assert results[0].components == {"similarity": 0.5, "format": 1.0}
    assert results[1].reward == pytest.approx(-1.0) and results[1].score == 0.0
    assert results[1].reason == "format:think_count"
    assert set(REWARDS) == {"similarity", "exact_match", "format", "toolrl"}


@pytest.mark.parametrize("weights,match", [
    ({}, "non-empty"),
    ({"rouge": 1.0}, "unknown reward"),
    ({"format": -1.0}, "non-negative"),
    ({"format": "1"}, "non-negative"),
    ({"format": 0.0}, "positive"),
])
def test_combine_rewards_rejects_bad_weights(weights, match):
    with pytest.raises(ConfigError, match=match):
        combine_rewards(weights)
