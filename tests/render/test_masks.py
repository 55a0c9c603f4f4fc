"""Acceptance: the loss mask covers exactly the assistant answers (incl. <|im_end|>), whether it comes from
{% generation %} markers or from prefix rendering, and a template whose answers cannot be delimited, or whose
markers enclose nothing, raises instead of training on nothing."""

from __future__ import annotations

import json

import pytest

from fctrain.errors import ConfigError, MaskError
from fctrain.render import assistant_text, load_template_text, mask_runs, render_chat, render_prompt
from fctrain.render.turns import render_turns

IM_END = "<|im_end|>"


def masked_spans(tok, rendered) -> list[str]:
    return [tok.decode(rendered.input_ids[a:b]) for a, b in mask_runs(rendered.assistant_mask)]


def all_spans(tok, sample, **kw) -> list[str]:
    """The masked spans of every row a conversation trains on (one sequence, or one row per turn)."""
    return [span for r in render_turns(tok, sample, **kw).rows for span in masked_spans(tok, r)]


def assistant_messages(sample):
    return [m for m in sample["messages"] if m["role"] == "assistant"]


@pytest.mark.parametrize("think", [False, True])
def test_mask_covers_exactly_the_assistant_answers(tiny_tok, tool_samples, think):
    for sample in tool_samples:
        rows = render_turns(tiny_tok, sample, think=think).rows
        assert all(len(r.input_ids) == len(r.assistant_mask) for r in rows)
        expected = [assistant_text(m, think=think) + IM_END for m in assistant_messages(sample)]
        assert all_spans(tiny_tok, sample, think=think) == expected, sample["id"]
        # Everything outside the mask is prompt: unmasked + masked pieces rebuild the text in order.
        assert all(tiny_tok.decode(r.input_ids) == r.text for r in rows)


def test_expected_answer_text_written_out_by_hand(tiny_tok, tool_samples):
    sample = next(s for s in tool_samples if s["id"] == "multi-turn")
    spans = all_spans(tiny_tok, sample, think=True)
    assert spans == [
        '<think>\nThe user wants the weather in Lima; call get_weather.\n</think>\n\nLet me check.\n'
        '<tool_call>\n{"name": "get_weather", "arguments": {"city": "Lima"}}\n</tool_call><|im_end|>',
        "<think>\n24 °C is warm.\n</think>\n\nYes: 24 °C and clear skies in Lima.<|im_end|>",
        '<think>\n\n</think>\n\n<tool_call>\n{"name": "get_weather", "arguments": {"city": "Oslo"}}\n</tool_call>'
        "<|im_end|>",
    ]
    parallel = next(s for s in tool_samples if s["id"] == "parallel-unicode")
    (span,) = masked_spans(tiny_tok, render_chat(tiny_tok, parallel))
    assert span == (
        '<tool_call>\n{"name": "get_weather", "arguments": {"city": "Zürich", "units": "celsius"}}\n</tool_call>\n'
        '<tool_call>\n{"name": "get_news", "arguments": {"topic": "Käse 🧀", "limit": 3}}\n</tool_call><|im_end|>'
    )


def test_think_off_puts_empty_think_block_in_the_prompt(tiny_tok, tool_samples):
    r = render_chat(tiny_tok, tool_samples[0], think=False)
    assert "<|im_start|>assistant\n<think>\n\n</think>\n\n<tool_call>" in r.text
    assert not any("<think>" in s for s in masked_spans(tiny_tok, r))


def test_tools_rendered_one_json_per_line_in_system_turn(tiny_tok, tool_samples):
    sample = next(s for s in tool_samples if s["id"] == "parallel-unicode")
    sample["tools"][1]["description"] = "Schlagzeilen über Käse"
    text = render_chat(tiny_tok, sample).text
    block = text.split("<tools>\n", 1)[1].split("\n</tools>", 1)[0].split("\n")
    assert [json.loads(line)["function"]["name"] for line in block] == ["get_weather", "get_news"]
    assert text.startswith("<|im_start|>system\nYou are a concise assistant.\n\n# Tools\n")
    assert "Käse" in block[1]  # ensure_ascii=False


def test_last_assistant_only(tiny_tok, tool_samples):
    sample = next(s for s in tool_samples if s["id"] == "multi-turn")
    r = render_chat(tiny_tok, sample, train_on="last_assistant")
    assert masked_spans(tiny_tok, r) == [assistant_text(sample["messages"][-1]) + IM_END]


def test_prompt_is_prefix_of_training_text(tiny_tok, tool_samples):
    for think in (False, True):
        for sample in tool_samples:
            text = render_turns(tiny_tok, sample, think=think).rows[-1].text
            prompt = render_prompt(tiny_tok, sample, think=think)
            assert text == prompt + assistant_text(sample["messages"][-1], think=think) + IM_END + "\n"
            assert prompt.endswith("<|im_start|>assistant\n" + ("" if think else "<think>\n\n</think>\n\n"))


def test_model_template_is_used_when_it_handles_tools(tiny_tok, tool_samples):
    # The tiny tokenizer's own template is fctrain's (masks from its generation markers): single-turn samples
    # render as with Qwen3's official template (prefix rendering).
    for sample in tool_samples:
        if len(assistant_messages(sample)) == 1:
            a, b = render_chat(tiny_tok, sample, template="model"), render_chat(tiny_tok, sample)
            assert (a.input_ids, a.assistant_mask) == (b.input_ids, b.assistant_mask)
    # fctrain's template keeps an empty think block in every turn, so it is prefix-preserving: one sequence.
    multi = next(s for s in tool_samples if s["id"] == "multi-turn")
    assert render_turns(tiny_tok, multi, template="model").layout == "one_sequence"
    assert render_turns(tiny_tok, multi).layout == "per_turn"
    assert all_spans(tiny_tok, multi, template="model") == all_spans(tiny_tok, multi)


def test_masks_without_generation_markers_come_from_prefix_rendering(tiny_tok, tool_samples):
    no_markers = load_template_text("qwen3").replace("{%- generation %}", "").replace("{%- endgeneration %}", "")
    # A comment that merely mentions the markers does not count as having them.
    no_markers = "{# uses {% generation %} #}" + no_markers
    for sample in tool_samples:
        assert all_spans(tiny_tok, sample, template=no_markers) == all_spans(tiny_tok, sample, template="model")


def test_template_whose_turns_have_no_end_marker_raises(tiny_tok, tool_samples):
    tmpl = ("{%- for m in messages %}{{ m.role }}: {{ m.content }}\n{%- endfor %}"
            "{%- if add_generation_prompt %}assistant: {% endif %}")
    with pytest.raises(MaskError, match="given Jinja text.*end-of-turn"):
        render_chat(tiny_tok, tool_samples[3], template=tmpl)


def test_template_without_tools_is_rejected_for_samples_with_tools(tiny_tok, tool_samples):
    tmpl = "{%- for m in messages %}<|im_start|>{{ m.role }}\n{{ m.content }}<|im_end|>\n{%- endfor %}"
    with pytest.raises(ConfigError, match="given Jinja text does not render tools"):
        render_chat(tiny_tok, tool_samples[0], template=tmpl)


def test_markers_that_enclose_nothing_raise_all_zero(tiny_tok, tool_samples):
    # Markers present, but around an empty block: transformers returns an all-zero mask without complaint.
    tmpl = (
        "{%- for m in messages %}<|im_start|>{{ m.role }}\n{{ m.content }}<|im_end|>\n"
        "{%- if m.role == 'assistant' %}{% generation %}{% endgeneration %}{% endif %}{%- endfor %}"
    )
    with pytest.raises(MaskError, match="all-zero"):
        render_chat(tiny_tok, tool_samples[3], template=tmpl)


def test_model_template_without_tools_is_rejected(tool_samples):
    from fctrain.testing import tiny_tokenizer

    tok = tiny_tokenizer()
    tok.chat_template = "{% for m in messages %}<|im_start|>{{ m.role }}\n{{ m.content }}<|im_end|>\n{% endfor %}"
    with pytest.raises(ConfigError, match="template.name=qwen3"):
        render_chat(tok, tool_samples[0], template="model")


def test_truncation(tiny_tok, tool_samples):
    sample = next(s for s in tool_samples if s["id"] == "multi-turn")
    full = render_chat(tiny_tok, sample, template="model")  # fctrain's template: one sequence for all turns
    first_answer_start = mask_runs(full.assistant_mask)[0][0]
    with pytest.raises(MaskError, match="max_length"):
        render_chat(tiny_tok, sample, max_length=first_answer_start, template="model")
    cut = render_chat(tiny_tok, sample, max_length=first_answer_start + 3, template="model")
    assert cut.truncated and len(cut.input_ids) == first_answer_start + 3 and cut.num_assistant_tokens == 3
    assert cut.assistant_mask == full.assistant_mask[: first_answer_start + 3]
    # The last turn alone is cut away, even though earlier turns survive.
    with pytest.raises(MaskError, match="max_length"):
        render_chat(tiny_tok, sample, max_length=mask_runs(full.assistant_mask)[-1][0], train_on="last_assistant",
                    template="model")


def test_real_xlam_samples(tiny_tok, shared_data_dir):
    path = shared_data_dir / "xlam_messages_1k.jsonl"
    if not path.exists():
        pytest.skip(f"{path} is absent")
    with path.open(encoding="utf-8") as f:
        samples = [json.loads(line) for _, line in zip(range(40), f)]
    for sample in samples:
        r = render_chat(tiny_tok, sample)
        expected = [assistant_text(m) + IM_END for m in assistant_messages(sample)]
        assert masked_spans(tiny_tok, r) == expected, sample["id"]


def test_split_prompt_reference(tiny_tok, tool_samples):
    from fctrain.errors import DataError
    from fctrain.render import reference_of, split_prompt_reference

    multi = next(s for s in tool_samples if s["id"] == "multi-turn")
    prompt, ref = split_prompt_reference(multi)
    assert ref is multi["messages"][-1] and prompt["messages"] == multi["messages"][:-1]
    assert prompt["tools"] == multi["tools"] and reference_of(multi) is ref
    # Ending with a tool result: the reference is the last assistant turn, the prompt stops before it.
    upto_tool = {**multi, "messages": multi["messages"][:3]}
    prompt, ref = split_prompt_reference(upto_tool)
    assert ref is multi["messages"][1] and len(prompt["messages"]) == 1
    # No assistant message at all: the whole conversation is the prompt.
    question = {**multi, "messages": multi["messages"][:1]}
    assert split_prompt_reference(question)[1] is None
    assert render_prompt(tiny_tok, question).endswith("Is it warm in Lima?<|im_end|>\n<|im_start|>assistant\n"
                                                      "<think>\n\n</think>\n\n")
    with pytest.raises(DataError, match="messages"):
        render_chat(tiny_tok, {"id": "empty", "messages": [], "tools": []})
