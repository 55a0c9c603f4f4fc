"""Irrelevance samples by tool swapping (the recipe behind Hammer's xlam-irrelevance data).

Take a request and offer it another sample's tools, none of which shares a name with the tools it needs:
the right answer is then a plain reply that no function fits, not a call. Mixed into training data, this
keeps a model that learns to call tools from calling one for every request.
"""

from __future__ import annotations

import random

from fctrain.data.sample import make_sample

NO_TOOL_REPLY = "None of the available functions can be used to answer this request."


def _needed(sample: dict) -> set[str]:
    return {c["name"] for m in sample["messages"] if m["role"] == "assistant" for c in m.get("tool_calls") or []}


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
        user = next(m for m in src["messages"] if m["role"] == "user")
        messages = [dict(user), {"role": "assistant", "content": NO_TOOL_REPLY}]
        out.append(make_sample(f"irrelevance-{seed}-{i:05d}-{src['id']}", messages, others[0]["tools"]))
    return out
