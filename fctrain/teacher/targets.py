"""Which tokens are distillation targets, and the fingerprints that tie a cache row to exactly those tokens.

A sample is rendered once into (input_ids, assistant_mask). Target positions are the t >= 1 with
mask[t] == 1: the logits at position t-1 predict token t. The teacher cache stores one row per target
position, in order, so row j of a sample belongs to its j-th target position. The same function renders
for the cache build and for the trainer, so their token hashes agree unless the tokenizer, template or
truncation changed.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Sequence

import numpy as np

EOT_TOKENS = ("<|im_end|>", "<|eot_id|>", "<|end|>")  # end-of-turn markers, Qwen/Hermes first


def target_positions(mask: Sequence[int]) -> np.ndarray:
    """Indices t >= 1 with mask[t] == 1 (position 0 has no logits before it to predict it)."""
    m = np.asarray(mask, dtype=bool)
    return np.flatnonzero(m[1:]) + 1


def predict_mask(mask: Sequence[int]) -> np.ndarray:
    """Boolean mask over positions whose logits predict a target token: predict[t-1] = is_target[t]."""
    m = np.asarray(mask, dtype=bool)
    out = np.zeros(len(m), dtype=bool)
    out[:-1] = m[1:]
    return out


def token_hash(input_ids: Sequence[int], mask: Sequence[int]) -> str:
    """sha256 of the token ids (int64 little-endian) followed by the mask (uint8), cut to 128 bits."""
    h = hashlib.sha256(np.asarray(input_ids, dtype="<i8").tobytes())
    h.update(np.asarray(mask, dtype=np.uint8).tobytes())
    return h.hexdigest()[:32]


def vocab_fingerprint(tokenizer) -> dict:
    """Name, size and a hash of the (token -> id) map: two tokenizers with equal hashes tokenize alike."""
    vocab = tokenizer.get_vocab()
    blob = json.dumps(sorted(vocab.items(), key=lambda kv: kv[1]), ensure_ascii=False).encode()
    return {
        "name": getattr(tokenizer, "name_or_path", "") or type(tokenizer).__name__,
        "vocab_size": len(tokenizer),
        "vocab_hash": hashlib.sha256(blob).hexdigest()[:32],
    }


def end_of_turn_id(tokenizer) -> int:
    vocab = tokenizer.get_vocab()
    for tok in EOT_TOKENS:
        if tok in vocab:
            return vocab[tok]
    if tokenizer.eos_token_id is None:
        raise ValueError("tokenizer has no end-of-turn token and no eos_token_id")
    return tokenizer.eos_token_id


def truncate_targets(input_ids: list[int], mask: list[int], max_targets: int | None, eot_id: int):
    """Keep the first `max_targets` target tokens, cut the sequence there and close the turn with `eot_id`.

    STAR truncates KD targets to 512 tokens "+ end-of-turn token": the student still learns to stop.
    """
    pos = target_positions(mask)
    if max_targets is None or len(pos) <= max_targets:
        return list(input_ids), list(mask)
    if max_targets < 1:
        raise ValueError(f"max_target_tokens must be >= 1, got {max_targets}")
    cut = int(pos[max_targets - 1]) + 1
    return list(input_ids[:cut]) + [eot_id], list(mask[:cut]) + [1]


def encode_sample(tokenizer, sample: dict, *, template: str = "qwen3", think: bool = False,
                  max_length: int | None = None, max_target_tokens: int | None = None) -> tuple[list, list]:
    """Render a canonical sample into (input_ids, assistant_mask) with target truncation applied.

    The target is the last assistant turn after its served prompt, as in STAR's data preparation (KD trains on
    the final turn of a conversation); the cache build and the CKD trainer both call this, so they align.
    """
    from fctrain.render import render_chat

    r = render_chat(tokenizer, sample, template=template, think=think, max_length=max_length,
                    train_on="last_assistant")
    return truncate_targets(list(r.input_ids), list(r.assistant_mask), max_target_tokens,
                            end_of_turn_id(tokenizer))
