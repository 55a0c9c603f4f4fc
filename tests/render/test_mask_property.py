"""Property: for random conversations (unicode text, odd whitespace, nested arguments, several turns), the
decoded masked spans are exactly the expected assistant answers, in order, each after its served prompt."""

from __future__ import annotations

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from fctrain.render import assistant_text, mask_runs, render_prompt
from fctrain.render.turns import render_turns

# Text that may look like markup but never contains the ChatML control tokens themselves.
text = st.text(st.characters(blacklist_categories=("Cs",), blacklist_characters="\x00"), max_size=30).filter(
    lambda s: "<|" not in s and "|>" not in s
)
json_leaf = st.one_of(st.integers(-1000, 1000), st.booleans(), st.none(), text,
                      st.floats(allow_nan=False, allow_infinity=False, width=32))
arguments = st.dictionaries(st.from_regex(r"[a-z_]{1,8}", fullmatch=True),
                            st.recursive(json_leaf, lambda x: st.lists(x, max_size=3), max_leaves=4), max_size=3)
call = st.builds(lambda name, args: {"name": name, "arguments": args}, st.sampled_from(["f", "get_x", "a_b"]),
                 arguments)


@st.composite
def conversations(draw):
    messages = []
    for _ in range(draw(st.integers(1, 3))):
        messages.append({"role": "user", "content": draw(text)})
        calls = draw(st.lists(call, max_size=2))
        content = draw(text) if not calls or draw(st.booleans()) else None
        if not calls and not content:
            content = "ok"
        reasoning = draw(st.one_of(st.none(), text))
        messages.append({"role": "assistant", "content": content, "tool_calls": calls, "reasoning_content": reasoning})
        for c in calls:
            messages.append({"role": "tool", "name": c["name"], "content": draw(text)})
    if messages[-1]["role"] == "tool":
        messages.append({"role": "assistant", "content": "done"})
    tools = [{"name": n, "description": draw(text), "parameters": {"type": "object", "properties": {}}}
             for n in ("f", "get_x", "a_b")]
    return {"id": "prop", "messages": messages, "tools": tools}


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(sample=conversations(), think=st.booleans())
def test_mask_is_exact_for_random_conversations(tiny_tok, sample, think):
    turns = render_turns(tiny_tok, sample, think=think)
    spans = [tiny_tok.decode(r.input_ids[a:b]) for r in turns.rows for a, b in mask_runs(r.assistant_mask)]
    # Qwen3's official template strips leading newlines of the answered turn's content.
    expected = [assistant_text({**m, "content": (m.get("content") or "").lstrip("\n")}, think=think) + "<|im_end|>"
                for m in sample["messages"] if m["role"] == "assistant"]
    assert spans == expected
    for i, row in enumerate(turns.rows):
        history = sample["messages"][: [j for j, m in enumerate(sample["messages"]) if m["role"] == "assistant"][i] + 1]
        if turns.layout == "per_turn":
            assert row.text.startswith(render_prompt(tiny_tok, {**sample, "messages": history}, think=think))
