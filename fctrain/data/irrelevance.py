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


def contrast_pairs(samples: list[dict], n: int, seed: int = 0, negatives: int = 1) -> list[dict]:
    """`n` groups [original, twin, ...]: a single-turn sample that calls tools, then its request offered the tools
    of `negatives` other samples (distinct tool sets, with as many tools as it has when there are such), none
    of which it needs. A group carries one "group" id, which trainers keep in one micro-batch
    (fctrain/trainers/group_batches.py). More negatives than 1 weigh declining more, as BFCL does: its
    irrelevance category counts as much as all its call categories together."""
    if negatives < 1:
        raise ValueError(f"contrast_pairs: negatives={negatives}; expected at least 1")
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
        if negatives == 1:  # the original one-twin draw: recipes with one negative keep their data
            partners = [rng.choice(same_size or fits)]
        else:
            partners = _distinct_tool_sets(same_size, rng, negatives)
            other_size = [s for s in fits if len(s["tools"]) != len(src["tools"])]
            partners += _distinct_tool_sets(other_size, rng, negatives - len(partners))
        group = f"contrast-{seed}-{src['id']}"
        out.append({**src, "group": group})
        for j, partner in enumerate(partners):
            out.append({**_twin(src, partner["tools"], group if j == 0 else f"{group}-{j}"), "group": group})
    return out


def _distinct_tool_sets(samples: list[dict], rng: random.Random, k: int) -> list[dict]:
    """Up to k samples, drawn at random, no two offering the same set of tool names."""
    by_tools = {}
    for s in samples:
        by_tools.setdefault(frozenset(t["name"] for t in s["tools"]), s)
    return rng.sample(list(by_tools.values()), min(k, len(by_tools)))
