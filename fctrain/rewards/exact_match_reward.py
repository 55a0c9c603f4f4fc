"""Binary exact-match reward: the baseline STAR compares its similarity reward against.

1 when the completion is well-formed and schema-valid and its calls equal the reference calls as a
multiset (order-free; names equal and argument objects equal as canonical JSON, so True != 1, 1 != 1.0 and
"5" != 5); for a text-reply reference, when it makes no call and its stripped content equals the reference's.
Else 0. `score` equals `reward`.
"""

from __future__ import annotations

import json
from collections import Counter
from collections.abc import Sequence

from fctrain.rewards.family_parsing import parse_completion_as
from fctrain.rewards.reference import read_reference
from fctrain.rewards.result import RewardResult, check_batch
from fctrain.rewards.tool_keys import allowed_calls, schema_violation


def canonical_call(call: dict) -> str:
    """A call as canonical JSON text: equal strings <=> equal calls (key order inside objects ignored)."""
    return json.dumps([call["name"], call["arguments"]], sort_keys=True, ensure_ascii=False)


def exact_match_rewards(completions: Sequence[str], references: Sequence[dict],
                        tools_list: Sequence[list[dict]], *, think: bool = True,
                        template: str | None = None) -> list[RewardResult]:
    check_batch(completions, references, tools_list)
    results = []
    for completion, reference, tools in zip(completions, references, tools_list):
        ref = read_reference(reference)
        parsed = parse_completion_as(completion, template, think=think)
        if not parsed.ok:
            results.append(RewardResult(0.0, 0.0, f"format:{parsed.reason}"))
            continue
        violation = schema_violation(parsed.tool_calls, allowed_calls(tools))
        if violation:
            results.append(RewardResult(0.0, 0.0, f"schema:{violation}"))
            continue
        if ref.is_reply:
            hit = not parsed.tool_calls and parsed.content == ref.text
        else:
            hit = Counter(map(canonical_call, parsed.tool_calls)) == Counter(map(canonical_call, ref.calls))
        results.append(RewardResult(float(hit), float(hit)))
    return results


def exact_match_reward(completion: str, reference: dict, tools: list[dict], *, think: bool = True,
                       template: str | None = None) -> RewardResult:
    return exact_match_rewards([completion], [reference], [tools], think=think, template=template)[0]
