"""Greedy generation for evaluation: batched Hugging Face `generate` with left padding, or vLLM when installed.

A generate function maps a list of prompt strings to a list of completion strings (the text after the
prompt, special tokens removed). Evaluation code only sees that signature, so tests inject fixed
completions and a GPU run can swap in vLLM.
"""

from __future__ import annotations

import time
from collections.abc import Callable

import torch

from fctrain.render.prompt_ids import encode_prompt

GenerateFn = Callable[[list[str]], list[str]]


def stop_token_ids(tokenizer, model=None) -> list[int]:
    """eos ids of the model's generation config and tokenizer, plus ChatML's end of turn when it is a token."""
    ids: list[int] = []
    eos = getattr(getattr(model, "generation_config", None), "eos_token_id", None)
    for value in (eos, tokenizer.eos_token_id):
        ids.extend(value if isinstance(value, list) else [value] if value is not None else [])
    im_end = tokenizer.convert_tokens_to_ids("<|im_end|>")
    if isinstance(im_end, int) and im_end != tokenizer.unk_token_id:
        ids.append(im_end)
    return sorted(set(ids))


def hf_generate_fn(model, tokenizer, *, batch_size: int = 8, max_new_tokens: int = 256,
                   skip_special_tokens: bool = True) -> GenerateFn:
    """A GenerateFn running greedy `model.generate` in batches (prompts sorted by length to waste less padding).
    skip_special_tokens=False keeps a format's special call delimiters (Gemma 4) in the text."""
    stops = stop_token_ids(tokenizer, model)
    pad_id = tokenizer.pad_token_id if tokenizer.pad_token_id is not None else stops[0]

    @torch.inference_mode()
    def generate(prompts: list[str]) -> list[str]:
        order = sorted(range(len(prompts)), key=lambda i: len(prompts[i]))
        out: list[str] = [""] * len(prompts)
        device = next(model.parameters()).device
        for start in range(0, len(order), batch_size):
            idx = order[start : start + batch_size]
            encoded = [encode_prompt(tokenizer, prompts[i]) for i in idx]
            width = max(len(e) for e in encoded)
            # left padding: every prompt ends at the same column, so generated tokens line up
            input_ids = torch.tensor([[pad_id] * (width - len(e)) + e for e in encoded], device=device)
            attention = torch.tensor([[0] * (width - len(e)) + [1] * len(e) for e in encoded], device=device)
            generated = model.generate(
                input_ids=input_ids, attention_mask=attention, max_new_tokens=max_new_tokens, do_sample=False,
                temperature=None, top_p=None, top_k=None, eos_token_id=stops, pad_token_id=pad_id,
            )
            for row, i in zip(generated[:, width:].tolist(), idx):
                cut = next((k for k, t in enumerate(row) if t in stops), len(row))
                out[i] = tokenizer.decode(row[:cut], skip_special_tokens=skip_special_tokens)
        return out

    return generate


def vllm_generate_fn(model_path: str, *, max_new_tokens: int = 256, **llm_kwargs) -> GenerateFn:
    """A GenerateFn on vLLM (greedy, same stop rule: the model's eos / end of turn)."""
    from vllm import LLM, SamplingParams

    llm = LLM(model=model_path, **llm_kwargs)
    params = SamplingParams(temperature=0.0, max_tokens=max_new_tokens, skip_special_tokens=True)

    tokenizer = llm.get_tokenizer()

    def generate(prompts: list[str]) -> list[str]:
        inputs = [{"prompt_token_ids": encode_prompt(tokenizer, p)} for p in prompts]
        return [r.outputs[0].text for r in llm.generate(inputs, params, use_tqdm=False)]

    return generate


def timed_batches(generate_fn: GenerateFn, prompts: list[str], batch_size: int,
                  progress: Callable[[int], None] | None = None) -> tuple[list[str], list[float]]:
    """Run generate_fn over prompts in chunks of similar length (less padding), results in input order.

    A prompt's latency is its chunk's wall time divided by the chunk size.
    """
    order = sorted(range(len(prompts)), key=lambda i: len(prompts[i]))
    completions: list[str] = [""] * len(prompts)
    latencies: list[float] = [0.0] * len(prompts)
    for start in range(0, len(order), batch_size):
        idx = order[start : start + batch_size]
        t0 = time.perf_counter()
        texts = generate_fn([prompts[i] for i in idx])
        seconds = time.perf_counter() - t0
        if len(texts) != len(idx):
            raise RuntimeError(f"generate_fn returned {len(texts)} completions for {len(idx)} prompts")
        for i, text in zip(idx, texts):
            completions[i], latencies[i] = text, seconds / len(idx)
        if progress:
            progress(len(idx))
    return completions, latencies
