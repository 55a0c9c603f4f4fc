"""Property tests: the reward never raises on any text, stays in range, and scores a perfect answer 1."""

from __future__ import annotations

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from fctrain.rewards import REWARDS, format_tool_calls, parse_completion, similarity_reward

TOOLS = [
    {"name": "f", "parameters": {"type": "object", "properties": {"a": {}, "b": {}, "c": {}}}},
    {"name": "g", "parameters": {"x": {"type": "str"}, "y": {"type": "int"}}},
    {"name": "h", "parameters": {"type": "object", "properties": {}}},
]
KEYS = {"f": ["a", "b", "c"], "g": ["x", "y"], "h": []}
REFERENCE = {"content": None, "tool_calls": [{"name": "f", "arguments": {"a": "hello world", "b": 2}},
                                             {"name": "g", "arguments": {"x": "y"}}]}
TAGS = ["<think>", "</think>", "<tool_call>", "</tool_call>"]

# Text built from the pieces a model actually emits, so the strategy reaches deep parser states.
fragments = st.one_of(
    st.sampled_from(TAGS + ["\n", " ", "{", "}", "[", "]", '"', ":", ",", "null", "NaN", '"name"', '"arguments"',
                            '"f"', '"g"', '"a"', '"x"', "1", "true", '{"name": "f", "arguments": {"a": 1}}',
                            '{"name": "g", "arguments": "{\\"x\\": \\"y\\"}"}', '[{"name": "h", "arguments": {}}]']),
    st.text(max_size=12),
)
model_like_text = st.lists(fragments, max_size=30).map("".join)
any_text = st.one_of(st.text(max_size=200), model_like_text)

plain_text = st.text(max_size=40).filter(lambda s: not any(t in s for t in TAGS))
json_scalars = st.one_of(st.none(), st.booleans(), st.integers(-10**6, 10**6),
                         st.floats(allow_nan=False, allow_infinity=False), plain_text)
json_values = st.recursive(json_scalars, lambda inner: st.one_of(
    st.lists(inner, max_size=3), st.dictionaries(st.text(max_size=5), inner, max_size=3)), max_leaves=6)


@st.composite
def reference_calls(draw):
    calls = []
    for _ in range(draw(st.integers(1, 4))):
        name = draw(st.sampled_from(sorted(KEYS)))
        keys = draw(st.lists(st.sampled_from(KEYS[name]), unique=True)) if KEYS[name] else []
        calls.append({"name": name, "arguments": {k: draw(json_values) for k in keys}})
    return calls


def assert_in_range(result):
    assert -1.0 <= result.reward <= 1.0 and 0.0 <= result.score <= 1.0
    assert result.reward == result.score or (result.reward == -1.0 and result.score == 0.0 and result.reason)


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(any_text, st.booleans())
def test_never_raises_and_stays_in_range(text, think):
    parse_completion(text, think=think)
    assert_in_range(similarity_reward(text, REFERENCE, TOOLS, think=think))
    assert_in_range(similarity_reward(text, {"content": "hello there world"}, TOOLS, think=think))
    for fn in REWARDS.values():
        (result,) = fn([text], [REFERENCE], [TOOLS], think=think)
        assert result.score >= 0.0


@settings(max_examples=150, deadline=None)
@given(reference_calls(), plain_text, st.booleans())
def test_identical_calls_score_one(calls, reasoning, think):
    completion = format_tool_calls(calls)
    if think:
        completion = f"<think>\n{reasoning}\n</think>\n\n{completion}"
    result = similarity_reward(completion, {"content": None, "tool_calls": calls}, TOOLS, think=think)
    assert (result.reward, result.score) == (1.0, 1.0)


@settings(max_examples=150, deadline=None)
@given(plain_text)
def test_identical_reply_scores_one(reply):
    result = similarity_reward(f"<think>\n</think>\n\n{reply}", {"content": reply, "tool_calls": []}, TOOLS)
    assert (result.reward, result.score) == (1.0, 1.0)


@settings(max_examples=150, deadline=None)
@given(st.text(max_size=60), st.text(max_size=60))
def test_string_similarity_in_range_and_one_on_itself(a, b):
    from fctrain.rewards.similarity_reward import string_similarity

    assert 0.0 <= string_similarity(a, b) <= 1.0
    assert string_similarity(a, a) == 1.0
