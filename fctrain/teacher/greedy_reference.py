"""Greedy rollouts that are the dataset's answer, found in one teacher-forced pass instead of token by token.

Greedy decoding emits argmax p(token | prompt, tokens so far). Feeding the dataset's answer after the prompt
gives every one of those argmaxes in one forward pass. Where each is the answer's next token, up to and
including the first stop token (or max_new_tokens of them), greedy decoding would write exactly those
tokens: this is the verification step of speculative decoding, with the answer as the draft. Only the other
prompts are generated. A teacher fine-tuned on the answers reproduces most of them, and with the frozen-block cache the
forced pass reuses the teacher SFT's features of those very sequences (fctrain/models/frozen_block_cache.py).

Rounding: the forced pass runs other batch shapes than generate() would, so a near-tie between two tokens
can be broken the other way, as a change of rollout batch size can.
"""

from __future__ import annotations

from collections.abc import Sequence

import torch

from fctrain.models.selected_logits import selected_logits
from fctrain.render.prompt_ids import encode_prompt
from fctrain.teacher.targets import target_positions


def _draft(tokenizer, sample: dict, prompt: str, *, template: str, think: bool, stop_ids: set[int],
           max_new_tokens: int) -> tuple[list[int], int, int] | None:
    """(the sample's ids as training renders them, start, end): ids[start:end] are the answer tokens greedy
    decoding would have to write, up to the first stop token or max_new_tokens of them. The whole rendering is
    fed (what follows `end` cannot change the argmaxes before it), so its frozen-block features are those of
    the teacher SFT. None when the answer cannot stand for a generation: no answer, one the format cannot
    render, an answer that ends before generation would, or prompt ids other than those generation starts
    from."""
    from fctrain.errors import MaskError, UnrenderableSampleError
    from fctrain.render import render_chat

    try:
        rendered = render_chat(tokenizer, sample, template=template, think=think, train_on="last_assistant")
    except (MaskError, UnrenderableSampleError):  # a reference the format cannot write: generate instead
        return None
    ids, targets = list(rendered.input_ids), target_positions(rendered.assistant_mask)
    if len(targets) == 0:
        return None
    start = int(targets[0])
    stop = next((i for i in range(start, len(ids)) if ids[i] in stop_ids), None)
    end = start + max_new_tokens if stop is None else min(stop + 1, start + max_new_tokens)
    if end > len(ids) or ids[:start] != encode_prompt(tokenizer, prompt):
        return None
    return ids, start, end


def _greedy_matches(model, drafts: list[tuple[list[int], int, int]]) -> list[bool]:
    """Whether every answer token ids[start:end] of each draft is the argmax of the position before it."""
    device = next(model.parameters()).device
    length = max(len(ids) for ids, _, _ in drafts)
    ids = torch.zeros(len(drafts), length, dtype=torch.long)
    attn = torch.zeros_like(ids)
    keep = torch.zeros(ids.shape, dtype=torch.bool)
    for b, (row, start, end) in enumerate(drafts):  # right padding, as the training batches had
        ids[b, : len(row)] = torch.tensor(row)
        attn[b, : len(row)] = 1
        keep[b, start - 1: end - 1] = True  # position t predicts token t + 1
    with torch.no_grad():
        best = selected_logits(model, keep.to(device), input_ids=ids.to(device),
                               attention_mask=attn.to(device)).argmax(-1).cpu()
    out, at = [], 0
    for row, start, end in drafts:
        out.append(bool(torch.equal(best[at: at + end - start], torch.tensor(row[start:end]))))
        at += end - start
    return out


def greedy_reference_completions(model, tokenizer, samples: Sequence[dict], prompts: Sequence[str], *,
                                 template: str, think: bool, stop_ids: set[int], max_new_tokens: int,
                                 batch_size: int) -> dict[str, str]:
    """sample id -> the completion text greedy decoding would give, for the samples whose answer it is."""
    found: dict[str, str] = {}
    drafts = [(s["id"], d) for s, p in zip(samples, prompts)
              if (d := _draft(tokenizer, s, p, template=template, think=think, stop_ids=stop_ids,
                              max_new_tokens=max_new_tokens)) is not None]
    for b in range(0, len(drafts), batch_size):
        chunk = drafts[b: b + batch_size]
        for (sample_id, (row, start, end)), same in zip(chunk, _greedy_matches(model, [d for _, d in chunk])):
            if same:  # the text generate() decodes: the answer's tokens before a stop token
                answer = row[start: end - 1] if row[end - 1] in stop_ids else row[start:end]
                found[sample_id] = tokenizer.decode(answer, skip_special_tokens=False)
    return found
