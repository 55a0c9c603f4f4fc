"""Dynamic filtering for GRPO (STAR, after DAPO): train only on prompts whose group of completions disagrees.

A group of n completions of one prompt carries a policy gradient only when its rewards differ. STAR keeps a
prompt's group when its mean *score* (the answer score in [0, 1], not the reward with its -1 failures) lies
strictly inside (lo, hi) and max(score) - min(score) > min_diff, and keeps sampling fresh prompts until the
batch is full. This file is the pure bookkeeping; the trainer (grpo_trainer.py) generates, this decides.

When `max_extra_rounds` extra rollout rounds still leave the batch short, the batch is padded with the best
*rejected* groups (largest reward spread first, then mean score nearest 0.5) instead of shrinking: the batch
shape stays what the optimiser schedule and every rank expect, and a padded group whose rewards are all equal
has zero advantage, so it adds nothing to the policy gradient (only to the KL term). In effect the step trains
on what passed.
"""

from __future__ import annotations

import math
import random
from collections.abc import Sequence
from dataclasses import dataclass

from fctrain.errors import ConfigError


@dataclass(frozen=True)
class FilterSpec:
    lo: float = 0.01  # keep when lo < mean score < hi ...
    hi: float = 0.99
    min_diff: float = 0.0  # ... and max score - min score > min_diff
    max_extra_rounds: int = 4  # extra rollout rounds per batch before padding with rejected groups

    def __post_init__(self):
        if not self.lo < self.hi:
            raise ConfigError(f"dynamic filter: lo ({self.lo}) must be < hi ({self.hi})")
        if self.min_diff < 0 or self.max_extra_rounds < 0:
            raise ConfigError("dynamic filter: min_diff and max_extra_rounds must be >= 0")


def keep_group(scores: Sequence[float], spec: FilterSpec) -> bool:
    """STAR's rule: mean strictly inside (lo, hi) and a spread strictly above min_diff."""
    mean = sum(scores) / len(scores)
    return spec.lo < mean < spec.hi and max(scores) - min(scores) > spec.min_diff


def _std(xs: Sequence[float]) -> float:
    m = sum(xs) / len(xs)
    return math.sqrt(sum((x - m) ** 2 for x in xs) / max(1, len(xs) - 1))


@dataclass(frozen=True)
class GroupRef:
    round: int  # which rollout round produced the group
    index: int  # the group's position within that round (rows index*n .. index*n + n - 1)
    kept: bool
    reward_std: float
    mean_score: float


class GroupSelector:
    """Collects the groups of successive rollout rounds until `target` groups passed the filter.

    `spec=None` turns filtering off: every group passes and one round always fills the batch.
    """

    def __init__(self, target: int, num_generations: int, spec: FilterSpec | None):
        if target <= 0 or num_generations < 2:
            raise ValueError("GroupSelector needs target >= 1 groups of num_generations >= 2")
        self.target, self.n, self.spec = target, num_generations, spec
        self.groups: list[GroupRef] = []
        self.rounds = 0

    def add_round(self, scores: Sequence[float], rewards: Sequence[float]) -> list[bool]:
        """Record one round (rows grouped as n consecutive completions per prompt); returns keep per group."""
        if len(scores) != len(rewards) or len(scores) % self.n:
            raise ValueError(f"a round needs whole groups of {self.n}: got {len(scores)} scores, {len(rewards)} rewards")
        keeps = []
        for g in range(len(scores) // self.n):
            s, r = scores[g * self.n:(g + 1) * self.n], rewards[g * self.n:(g + 1) * self.n]
            kept = self.spec is None or keep_group(s, self.spec)
            self.groups.append(GroupRef(self.rounds, g, kept, _std(r), sum(s) / len(s)))
            keeps.append(kept)
        self.rounds += 1
        return keeps

    @property
    def kept(self) -> int:
        return sum(g.kept for g in self.groups)

    @property
    def deficit(self) -> int:
        return max(0, self.target - self.kept)

    @property
    def extra_rounds(self) -> int:
        return max(0, self.rounds - 1)

    def exhausted(self) -> bool:
        """No more rounds allowed: the next selection pads if it is still short."""
        return self.spec is None or self.extra_rounds >= self.spec.max_extra_rounds

    def select(self) -> tuple[list[GroupRef], int]:
        """The `target` groups to train on, in generation order, and how many of them are padding."""
        kept = [g for g in self.groups if g.kept][: self.target]
        short = self.target - len(kept)
        if short > len(self.groups) - len(kept):
            raise ValueError(f"only {len(self.groups)} groups were generated for a batch of {self.target}")
        rejected = sorted((g for g in self.groups if not g.kept),
                          key=lambda g: (-g.reward_std, abs(g.mean_score - 0.5), g.round, g.index))
        return sorted(kept + rejected[:short], key=lambda g: (g.round, g.index)), short


def groups_to_request(deficit: int, kept: int, generated: int, cap: int, *, min_rate: float = 0.25) -> int:
    """Size of the next rollout round: enough groups to fill `deficit` at the pass rate seen so far.

    The rate is floored at `min_rate` so a bad first round does not ask for a huge one; `cap` (the batch's
    own group count) bounds the round so its memory is that of a normal rollout.
    """
    if deficit <= 0:
        return 0
    rate = max(min_rate, kept / generated if generated else 1.0)
    return max(1, min(cap, math.ceil(deficit / rate)))


class PromptStream:
    """An endless shuffled walk over dataset indices for extra rollout rounds (its own seed: the trainer's
    dataloader order is untouched)."""

    def __init__(self, size: int, seed: int):
        if size <= 0:
            raise ValueError("PromptStream needs a non-empty dataset")
        self.size, self.rng, self.order = size, random.Random(seed), []

    def take(self, k: int) -> list[int]:
        out = []
        while len(out) < k:
            if not self.order:
                self.order = list(range(self.size))
                self.rng.shuffle(self.order)
            out.append(self.order.pop())
        return out
