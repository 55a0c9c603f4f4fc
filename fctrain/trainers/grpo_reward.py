"""The recipe's `rewards: {name: weight}` as a StarGRPOTrainer scorer over the GRPO dataset's columns.

The dataset stores each prompt's reference message and tools as JSON strings (Arrow would otherwise merge
the differently shaped argument dicts of all rows into one struct and fill missing keys with None).
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import dataclass

# The reward's failure reasons are "<kind>:<detail>"; the logs count two kinds.
FAILURE_KINDS = {"format": "format", "schema": "validity"}


@dataclass(frozen=True)
class Scored:
    reward: float  # advantages are computed from this
    score: float  # dynamic filtering looks at this
    failure: str | None = None  # "format", "validity" or None


def failure_kind(reason: str | None) -> str | None:
    if not reason:
        return None
    return FAILURE_KINDS.get(reason.split(":", 1)[0], "other")


class RecipeScorer:
    """Scores completions against the `reference` and `tools` columns with fctrain.rewards."""

    def __init__(self, weights: dict[str, float], *, think: bool, template: str | None = None):
        from fctrain.rewards import combine_rewards

        self.reward_fn = combine_rewards(dict(weights))  # raises ConfigError on unknown names / bad weights
        self.think, self.template = think, template  # template: the completions' format family

    def score(self, completions: Sequence[str], references: Sequence[dict], tools: Sequence[list]) -> list[Scored]:
        results = self.reward_fn(list(completions), list(references), list(tools), think=self.think,
                                 template=self.template)
        return [Scored(float(r.reward), float(r.score), failure_kind(r.reason)) for r in results]

    def __call__(self, completions: list[str], columns: dict[str, list]) -> list[Scored]:
        references = [json.loads(r) for r in columns["reference"]]
        tools = [json.loads(t) for t in columns["tools"]]
        return self.score(completions, references, tools)
