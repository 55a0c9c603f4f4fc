"""What every reward returns, and the batched signature the trainer calls."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, field


@dataclass(frozen=True)
class RewardResult:
    reward: float  # what advantages are computed from (penalties included)
    score: float  # the answer's quality in [0, 1], 0 on failures: what dynamic filtering looks at
    reason: str | None = None  # why a penalty was given ("format:invalid_json", "schema:unknown_tool"), else None
    components: dict[str, float] = field(default_factory=dict)  # per-reward rewards of a weighted combination


# fn(completions, references, tools_list, *, think=True) -> one RewardResult per completion
BatchedReward = Callable[..., list[RewardResult]]


def check_batch(completions: Sequence, references: Sequence, tools_list: Sequence) -> None:
    if not len(completions) == len(references) == len(tools_list):
        raise ValueError(
            f"completions, references and tools_list must have one entry per completion, got "
            f"{len(completions)}, {len(references)} and {len(tools_list)}"
        )
