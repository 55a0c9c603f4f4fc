"""ToolRL-style reward (Qian et al. 2025, "ToolRL: Reward is All Tool Learning Needs"), for comparison.

    reward = R_format + R_correct,  R_format in {0, 1} (the completion parses), R_correct in [-3, 3]
    r_name  = |names(G) ∩ names(P)| / |names(G) ∪ names(P)|                (1 when both are empty)
    for a matched pair (p, g) of the same name:
      r_param = |keys(p) ∩ keys(g)| / |keys(p) ∪ keys(g)|                   (1 when both are empty)
      r_value = #{k in keys(g): p[k] == g[k]}                               (canonical-JSON equality)
    R_correct = 6 * (r_name + max over one-to-one matchings of sum(r_param + r_value)) / S_max - 3
    S_max     = 1 + |G| + sum_{g in G} |keys(g)|
G = reference calls, P = predicted calls. A text-reply reference has G empty, so a prediction without
calls gets R_correct = 3 and one with calls -3. A completion that does not parse gets R_format = 0 and
R_correct = -3. The best matching is exact (DP over subsets of G) up to 8 reference calls, greedy beyond.
`score` = (R_correct + 3) / 6 in [0, 1].
"""

from __future__ import annotations

import json
from collections.abc import Sequence

from fctrain.rewards.family_parsing import parse_completion_as
from fctrain.rewards.reference import read_reference
from fctrain.rewards.result import RewardResult, check_batch

_EXACT_MATCHING_MAX = 8  # 2**8 subset states per predicted call


def _same_value(a, b) -> bool:
    return json.dumps(a, sort_keys=True, ensure_ascii=False) == json.dumps(b, sort_keys=True, ensure_ascii=False)


def pair_score(pred: dict, ref: dict) -> float:
    """r_param + r_value of a predicted call against a reference call (0 for different names)."""
    if pred["name"] != ref["name"]:
        return 0.0
    p, g = pred["arguments"], ref["arguments"]
    union = len(set(p) | set(g))
    r_param = len(set(p) & set(g)) / union if union else 1.0
    r_value = sum(1 for k in g if k in p and _same_value(p[k], g[k]))
    return r_param + r_value


def best_matching(weights: list[list[float]]) -> float:
    """Max total weight of a one-to-one matching of rows (predictions) to columns (references)."""
    n_cols = len(weights[0]) if weights else 0
    if n_cols > _EXACT_MATCHING_MAX:
        used, total = set(), 0.0
        for row in weights:
            free = [j for j in range(n_cols) if j not in used]
            if free:
                j = max(free, key=lambda c: row[c])
                used.add(j)
                total += row[j]
        return total
    best = {0: 0.0}  # used-columns bitmask -> best total so far
    for row in weights:
        if not any(w > 0 for w in row):
            continue  # a prediction that matches nothing leaves every state as it is
        nxt = dict(best)
        for mask, total in best.items():
            for j in range(n_cols):
                if not mask >> j & 1 and row[j] > 0:
                    key = mask | 1 << j
                    if total + row[j] > nxt.get(key, -1.0):
                        nxt[key] = total + row[j]
        best = nxt
    return max(best.values())


def toolrl_correctness(pred_calls: Sequence[dict], ref_calls: Sequence[dict]) -> float:
    pred_names, ref_names = {c["name"] for c in pred_calls}, {c["name"] for c in ref_calls}
    union = pred_names | ref_names
    r_name = len(pred_names & ref_names) / len(union) if union else 1.0
    matched = best_matching([[pair_score(p, g) for g in ref_calls] for p in pred_calls])
    s_max = 1 + len(ref_calls) + sum(len(g["arguments"]) for g in ref_calls)
    return 6.0 * (r_name + matched) / s_max - 3.0


def toolrl_rewards(completions: Sequence[str], references: Sequence[dict], tools_list: Sequence[list[dict]],
                   *, think: bool = True, template: str | None = None) -> list[RewardResult]:
    """template: the chat format of the completions (a family name); None or qwen3 = fctrain's Hermes parser."""
    check_batch(completions, references, tools_list)
    results = []
    for completion, reference in zip(completions, references):
        ref = read_reference(reference)
        parsed = parse_completion_as(completion, template, think=think)
        if not parsed.ok:
            results.append(RewardResult(-3.0, 0.0, f"format:{parsed.reason}"))
            continue
        correct = toolrl_correctness(parsed.tool_calls, ref.calls)
        results.append(RewardResult(1.0 + correct, (correct + 3.0) / 6.0))
    return results


def toolrl_reward(completion: str, reference: dict, tools: list[dict], *, think: bool = True,
                  template: str | None = None) -> RewardResult:
    return toolrl_rewards([completion], [reference], [tools], think=think, template=template)[0]
