"""Format reward: 1 when the completion parses (think block, tool-call structure, JSON with name and
arguments), else 0. Structure only: names and argument keys are not checked against the tools (the
similarity reward does that). `score` equals `reward`.
"""

from __future__ import annotations

from collections.abc import Sequence

from fctrain.rewards.family_parsing import parse_completion_as
from fctrain.rewards.result import RewardResult, check_batch


def format_rewards(completions: Sequence[str], references: Sequence[dict], tools_list: Sequence[list[dict]],
                   *, think: bool = True, template: str | None = None) -> list[RewardResult]:
    check_batch(completions, references, tools_list)
    results = []
    for completion in completions:
        parsed = parse_completion_as(completion, template, think=think)
        ok = float(parsed.ok)
        results.append(RewardResult(ok, ok, None if parsed.ok else f"format:{parsed.reason}"))
    return results


def format_reward(completion: str, reference: dict, tools: list[dict], *, think: bool = True,
                  template: str | None = None) -> RewardResult:
    return format_rewards([completion], [reference], [tools], think=think, template=template)[0]
