"""Irrelevance samples by tool swapping (the recipe behind Hammer's xlam-irrelevance data).

Take a request and offer it another sample's tools, none of which shares a name with the tools it needs:
the right answer is then a plain reply that no function fits, not a call. Mixed into training data, this
keeps a model that learns to call tools from calling one for every request.

`contrast_pairs` keeps each such request next to its original: the same words once with the tools they
need (call) and once with tools they do not (reply). Only the tools differ inside a pair, so the
decision cannot be learnt from the request's wording, only from whether a tool fits it.
"""

from __future__ import annotations

import random

from fctrain.data.sample import make_sample

NO_TOOL_REPLY = "None of the available functions can be used to answer this request."


def _needed(sample: dict) -> set[str]:
    return {c["name"] for m in sample["messages"] if m["role"] == "assistant" for c in m.get("tool_calls") or []}


def _twin(src: dict, tools: list[dict], sample_id: str) -> dict:
    user = next(m for m in src["messages"] if m["role"] == "user")
    return make_sample(sample_id, [dict(user), {"role": "assistant", "content": NO_TOOL_REPLY}], tools)


def swap_tools_irrelevance(samples: list[dict], n: int, seed: int = 0) -> list[dict]:
    """`n` irrelevance samples: the first user turn of one sample with the tools of an unrelated one."""
    with_calls = [s for s in samples if _needed(s)]
    if len(with_calls) < 2:
        return []
    rng = random.Random(f"fctrain-irrelevance:{seed}")
    out = []
    for i in range(n):
        src = rng.choice(with_calls)
        others = [s for s in rng.sample(with_calls, min(8, len(with_calls)))
                  if not ({t["name"] for t in s["tools"]} & _needed(src))]
        if not others:
            continue
        out.append(_twin(src, others[0]["tools"], f"irrelevance-{seed}-{i:05d}-{src['id']}"))
    return out


def contrast_pairs(samples: list[dict], n: int, seed: int = 0) -> list[dict]:
    """`n` pairs [original, twin]: a single-turn sample that calls tools, then its request offered the tools
    of another sample with as many tools (when there is one), none of which it needs. Both carry the same
    "group", which trainers keep in one micro-batch (fctrain/trainers/group_batches.py)."""
    single_turn = [s for s in samples if _needed(s) and sum(m["role"] == "user" for m in s["messages"]) == 1]
    if len(single_turn) < 2:
        return []
    rng = random.Random(f"fctrain-contrast:{seed}")
    out = []
    for src in rng.sample(single_turn, min(n, len(single_turn))):
        fits = [s for s in single_turn if not ({t["name"] for t in s["tools"]} & _needed(src))]
        same_size = [s for s in fits if len(s["tools"]) == len(src["tools"])]
        if not fits:
            continue
        partner = rng.choice(same_size or fits)
        group = f"contrast-{seed}-{src['id']}"
        out += [{**src, "group": group}, {**_twin(src, partner["tools"], group), "group": group}]
    return out
