"""Greedy HF generation that reuses the key/value cache of a conversation's previous step.

In a multi-turn conversation every step's prompt repeats the previous one (system prompt with all tool
docs -- several thousand tokens for BFCL's environments -- and the history) and adds a little. Batched
`generate` encodes it all again at every step, which on a CPU is nearly all the time a step takes. This
generator keeps the cache of recent sequences (prompt + answer) and, for a new prompt, starts from the
stored sequence sharing the longest token prefix with it: the cache is cropped to that prefix and only the
rest of the prompt is encoded. Prompts are generated one at a time (no padding), which a CPU does not run
slower than a batch anyway.

Greedy decoding on a reused cache computes the same attention over the same tokens; the answer can differ
from an uncached run only by floating-point summation order (tests/eval/test_eval_prefix_cache.py checks
equality on a tiny model).
"""

from __future__ import annotations

import torch

from fctrain.eval.generate import GenerateFn, stop_token_ids
from fctrain.render.prompt_ids import encode_prompt

MIN_REUSE = 16  # a shorter shared prefix is not worth a cache copy


def common_prefix(a: list[int], b: list[int]) -> int:
    n = min(len(a), len(b))
    for i in range(n):
        if a[i] != b[i]:
            return i
    return n


class _Store:
    """The caches of the last `size` sequences. A prompt takes out (no copy: a cache is hundreds of MB) the one
    sharing the longest prefix with it; conversations share the system prompt, so one that finds its own
    cache taken still starts from another's, with only its history to encode."""

    def __init__(self, size: int):
        self.size, self.entries = size, []  # [(token ids, DynamicCache)], oldest first

    def take(self, ids: list[int]):
        scored = [(common_prefix(seq, ids), i) for i, (seq, _) in enumerate(self.entries)]
        shared, index = max(scored, default=(0, -1))
        shared = min(shared, len(ids) - 1)  # at least one prompt token must be encoded
        if shared < MIN_REUSE:
            return None
        _, cache = self.entries.pop(index)
        drop = cache.get_seq_length() - shared
        if drop > 0:
            cache.crop(-drop)  # transformers 5: a negative count = how many tokens to remove from the end
        return cache

    def put(self, ids: list[int], cache) -> None:
        self.entries.append((ids, cache))
        del self.entries[: max(0, len(self.entries) - self.size)]


def prefix_cached_generate_fn(model, tokenizer, *, max_new_tokens: int = 256, keep: int = 16,
                              skip_special_tokens: bool = True) -> GenerateFn:
    """A GenerateFn (greedy, same stop rule as hf_generate_fn) reusing caches of up to `keep` sequences."""
    from transformers import DynamicCache

    stops = stop_token_ids(tokenizer, model)
    pad_id = tokenizer.pad_token_id if tokenizer.pad_token_id is not None else stops[0]
    store = _Store(keep)

    @torch.inference_mode()
    def one(prompt: str) -> str:
        device = next(model.parameters()).device
        ids = encode_prompt(tokenizer, prompt)
        cache = store.take(ids) or DynamicCache(config=model.config)
        generated = model.generate(
            input_ids=torch.tensor([ids], device=device), attention_mask=torch.ones(1, len(ids), device=device,
                                                                                  dtype=torch.long),
            cache=cache, max_new_tokens=max_new_tokens, do_sample=False, temperature=None, top_p=None,
            top_k=None, eos_token_id=stops, pad_token_id=pad_id,
        )
        row = generated[0].tolist()
        store.put(row[: cache.get_seq_length()], cache)  # the cache holds all but the last generated token
        answer = row[len(ids):]
        cut = next((k for k, t in enumerate(answer) if t in stops), len(answer))
        return tokenizer.decode(answer[:cut], skip_special_tokens=skip_special_tokens)

    def generate(prompts: list[str]) -> list[str]:
        return [one(p) for p in prompts]

    return generate
