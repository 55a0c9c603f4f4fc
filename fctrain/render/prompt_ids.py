"""Token ids of a generation prompt exactly as training saw them.

A prompt string is a prefix of the training text, but its tokens need not be a prefix of the training
tokens: BPE pre-tokenisers split trailing whitespace differently at the end of a string. With SmolLM2's
(GPT-2 style) tokenizer, the prompt's last "</think>\\n\\n" ends in ONE token "\\n\\n", while in training,
where an answer follows, the same characters are the two tokens "\\n", "\\n". Generating from the first
puts the model in a state it was never trained in. `encode_prompt` tokenises the prompt as it is when an
answer follows it (prompt + a probe character, then the tokens that end inside the prompt), so every
generation path (evaluation, teacher rollouts, GRPO) starts where the loss mask starts.
"""

from __future__ import annotations

# Answers start with "<" (<tool_call>, <think>) or text; every pre-tokeniser we know splits whitespace before
# either the same way, so "<" stands for "an answer follows".
ANSWER_PROBE = "<"


def encode_prompt(tokenizer, prompt: str, *, probe: str = ANSWER_PROBE) -> list[int]:
    """Ids of `prompt` as a prefix of prompt + answer (no special tokens added), for an answer that starts
    with a non-space character (an answer starting with whitespace shares tokens with the prompt's tail).
    probe: a character answers of the chat format start with (fctrain.render.families.Family.answer_probe).

    Falls back to plain tokenisation when the tokenizer gives no offsets (slow tokenizers) or a token
    straddles the end of the prompt (then no prefix of prompt + answer's tokens spells the prompt).
    """
    plain = tokenizer(prompt, add_special_tokens=False)["input_ids"]
    if not prompt or not prompt[-1].isspace():
        return plain  # only trailing whitespace is split differently at the end of a string
    try:
        enc = tokenizer(prompt + probe, add_special_tokens=False, return_offsets_mapping=True)
    except (NotImplementedError, ValueError, TypeError):  # slow tokenizers have no offsets
        return plain
    end = len(prompt)
    ids = [t for t, (_, stop) in zip(enc["input_ids"], enc["offset_mapping"]) if stop <= end]
    covered = max((stop for _, stop in enc["offset_mapping"] if stop <= end), default=0)
    return ids if covered == end else plain
