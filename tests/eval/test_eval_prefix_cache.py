"""The multi-turn generator that reuses a conversation's cache: same answers as plain batched generation,
and it does reuse the shared prefix."""

from __future__ import annotations

from fctrain.eval import prefix_cache
from fctrain.eval.generate import hf_generate_fn

SYSTEM = "<|im_start|>system\n" + "tool docs " * 100 + "<|im_end|>\n"


def turn(text: str) -> str:
    return f"<|im_start|>user\n{text}<|im_end|>\n<|im_start|>assistant\n"


def test_reused_cache_gives_the_same_answers(tiny_tok, tiny_qwen3, monkeypatch):
    reused = []
    take = prefix_cache._Store.take

    def spy(self, ids):
        cache = take(self, ids)
        reused.append(0 if cache is None else cache.get_seq_length())
        return cache

    monkeypatch.setattr(prefix_cache._Store, "take", spy)
    cached = prefix_cache.prefix_cached_generate_fn(tiny_qwen3, tiny_tok, max_new_tokens=6)
    plain = hf_generate_fn(tiny_qwen3, tiny_tok, batch_size=2, max_new_tokens=6)
    first = [SYSTEM + turn("list files"), SYSTEM + turn("what is 2+2?")]
    answers = cached(first)
    assert answers == plain(first)
    second = [p + a + "<|im_end|>\n" + turn("and now?") for p, a in zip(first, answers)]
    assert cached(second) == plain(second)
    # the first prompt finds nothing stored; every later one starts from a stored cache holding at least the
    # shared system prompt (the bulk of a BFCL prompt), so only its own tail is encoded
    system_tokens = len(tiny_tok(SYSTEM, add_special_tokens=False)["input_ids"])
    assert reused[0] == 0 and len(reused) == 4
    assert all(n >= system_tokens - 1 for n in reused[1:])


def test_common_prefix():
    assert prefix_cache.common_prefix([1, 2, 3], [1, 2, 4]) == 2
    assert prefix_cache.common_prefix([1, 2], [1, 2, 3]) == 2
