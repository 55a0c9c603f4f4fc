"""Rewards by name, and their weighted combination (what a recipe's `rewards: {name: weight}` builds).

Every entry is batched: fn(completions, references, tools_list, *, think=True, template=None) ->
list[RewardResult], where template names the completions' chat format (a family; None = Qwen3/Hermes).
A combination's reward is sum_k w_k * reward_k and its score the weight-averaged score sum_k w_k * score_k
/ sum_k w_k (so it stays in [0, 1] for dynamic filtering); `components` keeps each reward's value and
`reason` the first component's failure reason.
"""

from __future__ import annotations

from collections.abc import Sequence

from fctrain.errors import ConfigError
from fctrain.rewards.exact_match_reward import exact_match_rewards
from fctrain.rewards.format_reward import format_rewards
from fctrain.rewards.result import BatchedReward, RewardResult
from fctrain.rewards.similarity_reward import similarity_rewards
from fctrain.rewards.toolrl_reward import toolrl_rewards

REWARDS: dict[str, BatchedReward] = {
    "similarity": similarity_rewards,
    "exact_match": exact_match_rewards,
    "format": format_rewards,
    "toolrl": toolrl_rewards,
}


def combine_rewards(weights: dict[str, float]) -> BatchedReward:
    """A batched reward = the weighted sum of the named rewards; raises ConfigError on bad weights."""
    if not isinstance(weights, dict) or not weights:
        raise ConfigError(f"rewards: expected a non-empty mapping name -> weight, got {weights!r}")
    for name, w in weights.items():
        if name not in REWARDS:
            raise ConfigError(f"rewards.{name}: unknown reward; expected one of {sorted(REWARDS)}")
        if isinstance(w, bool) or not isinstance(w, (int, float)) or w < 0:
            raise ConfigError(f"rewards.{name}: expected a non-negative number, got {w!r}")
    total = float(sum(weights.values()))
    if total <= 0:
        raise ConfigError(f"rewards: at least one weight must be positive, got {weights!r}")
    active = {name: float(w) for name, w in weights.items() if w > 0}

    def combined(completions: Sequence[str], references: Sequence[dict], tools_list: Sequence[list[dict]],
                 *, think: bool = True, template: str | None = None) -> list[RewardResult]:
        per_reward = {name: REWARDS[name](completions, references, tools_list, think=think, template=template)
                      for name in active}
        out = []
        for i in range(len(completions)):
            parts = {name: results[i] for name, results in per_reward.items()}
            out.append(RewardResult(
                reward=sum(active[n] * r.reward for n, r in parts.items()),
                score=sum(active[n] * r.score for n, r in parts.items()) / total,
                reason=next((r.reason for r in parts.values() if r.reason), None),
                components={n: r.reward for n, r in parts.items()},
            ))
        return out

    combined.weights = dict(active)
    return combined
