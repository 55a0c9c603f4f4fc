"""Hand-computed cases for every rule of STAR.md's similarity reward."""

from __future__ import annotations

import pytest

from fctrain.errors import DataError
from fctrain.rewards import format_tool_calls, similarity_reward, similarity_rewards
from fctrain.rewards.similarity_reward import argument_similarity, value_similarity

TOOLS = [
    {"name": "get_weather", "description": "", "parameters": {"type": "object", "properties": {
        "city": {"type": "string"}, "unit": {"type": "string"}, "days": {"type": "integer"}}}},
    # a flat parameter map, as raw xLAM writes it
    {"name": "search", "parameters": {"query": {"type": "str"}, "limit": {"type": "int, optional"}}},
    {"name": "noop", "parameters": {"type": "object", "properties": {}}},
    {"type": "function", "function": {"name": "book", "parameters": {"type": "object", "properties": {
        "options": {"type": "object"}, "flag": {"type": "boolean"}, "seats": {"type": "number"}}}}},
]


def call(name, **arguments):
    return {"name": name, "arguments": arguments}


def answer(*calls, content="", think=True):
    body = "\n".join(x for x in (content, format_tool_calls(list(calls))) if x)
    return f"<think>\nreasoning\n</think>\n\n{body}" if think else body


def ref(*calls, content=None):
    return {"role": "assistant", "content": content, "tool_calls": list(calls) or None}


def score(completion, reference, tools=TOOLS, **kw):
    result = similarity_reward(completion, reference, tools, **kw)
    assert result.reward == result.score and result.reason is None
    return result.score


A, B, C = call("get_weather", city="Paris"), call("search", query="hotels"), call("noop")


def test_identical_calls_score_one():
    assert score(answer(A, B, C), ref(A, B, C)) == 1.0


def test_extra_call_gives_n_over_n_plus_1():
    assert score(answer(A, B, C), ref(A, B)) == pytest.approx(2 / 3)
    assert score(answer(A, A), ref(A)) == pytest.approx(1 / 2)  # a duplicate of a matched call is an extra call


def test_missing_call_gives_n_minus_1_over_n():
    assert score(answer(A, B), ref(A, B, C)) == pytest.approx(2 / 3)


def test_order_of_calls_does_not_matter():
    assert score(answer(C, B, A), ref(A, B, C)) == 1.0


def test_duplicate_names_match_best_and_consume():
    paris, london = call("get_weather", city="Paris"), call("get_weather", city="London")
    assert score(answer(london, paris), ref(paris, london)) == 1.0
    # the first London takes the London reference; the second is left with Paris: v("London", "Paris") = 0
    assert score(answer(london, london), ref(paris, london)) == pytest.approx(1 / 2)


def test_ties_go_to_the_first_reference_call():
    r1, r2 = call("get_weather", city="Paris", days=1), call("get_weather", city="Paris", days=2)
    # pred 1 ties (s = 1/2 against both) and takes r1; pred 2 then meets r2 exactly: (1/2 + 1) / 2.
    # Had it taken r2, pred 2 would score 1/2 against r1 and the total would be 1/2.
    assert score(answer(call("get_weather", city="Paris"), r2), ref(r1, r2)) == pytest.approx(3 / 4)


def test_wrong_name_adds_zero_and_counts_twice():
    assert score(answer(B), ref(A)) == 0.0
    assert score(answer(A, B), ref(A, C)) == pytest.approx(1 / 3)  # 1 / (2 predicted + 1 unmatched)


def test_argument_soft_jaccard():
    pred = call("get_weather", city="Paris", days=3)
    assert score(answer(pred), ref(call("get_weather", city="Paris", unit="celsius"))) == pytest.approx(1 / 3)
    assert argument_similarity({"a": 1, "b": 2}, {"a": 1, "b": 3}) == pytest.approx(1 / 2)


def test_empty_arguments():
    assert argument_similarity({}, {}) == 1.0
    assert score(answer(C), ref(C)) == 1.0
    assert score(answer(call("get_weather")), ref(A)) == 0.0  # 0 / (0 + 1)
    assert score(answer(A), ref(call("get_weather"))) == 0.0  # 0 / (1 + 0)


def test_strings_use_stemmed_rouge_l():
    # "flights" and "flight" stem alike, case is ignored: different strings, ROUGE-L 1
    assert value_similarity("cheap flights to Paris", "cheap flight to paris") == 1.0
    # tokens [cheap, hotel, in, rome] vs [cheap, hotel, in, pari]: LCS 3, P = R = 3/4
    assert value_similarity("cheap hotels in Rome", "cheap hotels in Paris") == pytest.approx(0.75)
    assert value_similarity("", "") == 1.0  # equal strings
    assert value_similarity("  ", "Paris") == 0.0 and value_similarity("Paris", "") == 0.0  # blank
    assert value_similarity("!!!", "???") == 0.0  # not blank, no tokens: ROUGE-L 0


def test_numbers_and_numeric_strings():
    assert value_similarity(5, 5) == 1.0
    assert value_similarity(5, 6) == 0.0
    assert value_similarity(5.0, 5) == 1.0  # one JSON number type: compared numerically
    assert value_similarity("5", 5) == 1.0 and value_similarity(5, "5") == 1.0  # str(a) == str(b)
    assert value_similarity("5.0", 5) == 0.0
    pred = answer(call("get_weather", city="Paris", days="3"))
    assert score(pred, ref(call("get_weather", city="Paris", days=3))) == 1.0


def test_bools_are_not_ints():
    assert value_similarity(True, True) == 1.0 and value_similarity(False, True) == 0.0
    assert value_similarity(True, 1) == 0.0 and value_similarity(0, False) == 0.0
    assert value_similarity(1.0, True) == 0.0
    assert value_similarity("True", True) == 1.0  # not two numbers/bools: str(a) == str(b)
    assert value_similarity("true", True) == 0.0
    assert score(answer(call("book", flag=1)), ref(call("book", flag=True))) == 0.0


def test_other_types_compare_by_str():
    assert value_similarity(None, None) == 1.0
    assert value_similarity([1, 2], [1, 2]) == 1.0 and value_similarity([1, 2], [2, 1]) == 0.0
    assert value_similarity(None, "x") == 0.0


def test_nested_arguments():
    options = {"meal": "vegan", "extras": [1, {"x": True}]}
    assert score(answer(call("book", options=options, seats=2)), ref(call("book", options=options, seats=2))) == 1.0
    changed = {"meal": "vegan", "extras": [1, {"x": False}]}
    assert score(answer(call("book", options=changed, seats=2)), ref(call("book", options=options, seats=2))) == 0.5
    # nested objects compare by str(), so their key order matters (the rule read literally)
    reordered = {"extras": [1, {"x": True}], "meal": "vegan"}
    assert value_similarity(reordered, options) == 0.0


def test_unicode_values():
    assert value_similarity("São Paulo", "São Paulo") == 1.0
    # rouge_score drops non-ASCII letters: [s, o, paulo] vs [sao, paulo]: LCS 1, P = 1/2, R = 1/3, F = 0.4
    assert value_similarity("Sao Paulo", "São Paulo") == pytest.approx(0.4)
    assert value_similarity("東京", "大阪") == 0.0  # no ASCII tokens on either side
    assert score(answer(call("get_weather", city="東京")), ref(call("get_weather", city="東京"))) == 1.0


def test_text_reply_reference():
    reply = ref(content="The weather is sunny.")
    assert score(answer(content="The weather is sunny."), reply) == 1.0
    # [the, weather, was, sunni] vs [the, weather, is, sunni] ("was" is too short to stem): LCS 3 of 4
    assert score(answer(content="The weather was sunny!"), reply) == pytest.approx(0.75)
    assert score(answer(A), reply) == 0.0  # a call instead of a reply
    assert score(answer(A, content="The weather is sunny."), reply) == 0.0
    assert score(answer(content=""), reply) == 0.0  # blank prediction
    assert score(answer(content=""), ref(content="  ")) == 1.0  # both blank: identical


def test_no_calls_against_a_call_reference_scores_zero():
    assert score(answer(content="I would call get_weather for Paris."), ref(A)) == 0.0


@pytest.mark.parametrize("completion,reason", [
    ("no think block", "format:think_count"),
    ("<think>a</think><tool_call>{bad json}</tool_call>", "format:invalid_json"),
    ('<think>a</think><tool_call>{"name": "noop"}</tool_call>', "format:missing_arguments"),
    ('<think>a</think><tool_call>{"name": "noop", "arguments": {}}', "format:unclosed_tool_call"),
    (answer(call("unknown_tool")), "schema:unknown_tool"),
    (answer(call("get_weather", town="Paris")), "schema:unknown_argument"),
    (answer(call("search", query="x", page=2)), "schema:unknown_argument"),  # flat map
    (answer(A, call("book", colour="red")), "schema:unknown_argument"),  # OpenAI-wrapped tool
])
def test_failures_give_minus_one_and_score_zero(completion, reason):
    result = similarity_reward(completion, ref(A), TOOLS)
    assert (result.reward, result.score, result.reason) == (-1.0, 0.0, reason)


def test_schema_check_applies_to_text_reply_references_too():
    assert similarity_reward(answer(call("nope")), ref(content="hi"), TOOLS).reward == -1.0


def test_think_false():
    assert score(answer(A, think=False), ref(A), think=False) == 1.0
    assert similarity_reward(answer(A), ref(A), TOOLS, think=False).reason == "format:unexpected_think"


def test_batched_equals_single_and_checks_lengths():
    completions = [answer(A), answer(B), "junk", answer(content="hello")]
    references = [ref(A), ref(A, B), ref(A), ref(content="hello world")]
    batched = similarity_rewards(completions, references, [TOOLS] * 4)
    assert batched == [similarity_reward(c, r, TOOLS) for c, r in zip(completions, references)]
    assert [r.score for r in batched] == pytest.approx([1.0, 0.5, 0.0, 2 / 3])
    with pytest.raises(ValueError, match="one entry per completion"):
        similarity_rewards(completions, references[:2], [TOOLS] * 4)


def test_malformed_reference_raises_data_error():
    with pytest.raises(DataError, match="tool_calls"):
        similarity_reward(answer(A), {"content": None, "tool_calls": "get_weather"}, TOOLS)
    with pytest.raises(DataError, match=r"tool_calls\[0\]"):
        similarity_reward(answer(A), {"tool_calls": [{"arguments": {}}]}, TOOLS)


def test_reference_arguments_given_as_json_string():
    reference = {"content": None, "tool_calls": [{"name": "get_weather", "arguments": '{"city": "Paris"}'}]}
    assert score(answer(A), reference) == 1.0
