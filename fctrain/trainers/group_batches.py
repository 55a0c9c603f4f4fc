"""Keep the samples of one group in one micro-batch (a sample's optional "group" field).

A contrast pair (fctrain.data.irrelevance.contrast_pairs) is the same request twice: once with a tool that
fits (answer: a call) and once without (answer: a text reply). In one micro-batch, the two gradients on
"call or not" pull the prior in opposite directions and cancel, leaving only what tells the two apart:
whether a tool fits the request. Split across batches, each half mostly moves the prior, and a few
steps teach "always call" (or "never"). Measured on SmolLM2-135M (docs/benchmarks.md): on unseen pairs,
the share of right call/no-call decisions rose from about half to 30 of 32 with pairs kept together.

Order: groups (and ungrouped samples, as groups of one) are shuffled with seed + epoch, then packed
first-fit into micro-batches of `batch_size` (`group_order`). Every rank of a data-parallel run takes
whole micro-batches, so groups survive sharding.
"""

from __future__ import annotations

import random
from collections import Counter
from collections.abc import Iterator, Sequence

from torch.utils.data import Sampler


def take_whole_groups(samples: Sequence[dict], n: int | None) -> list[dict]:
    """About `n` samples made of whole groups (a `max_samples` / `max_prompts` cut never halves a contrast
    pair): groups and loose samples are taken in order of first appearance while fewer than n samples are
    taken, so the last group may overshoot n by its size - 1. Order kept; all samples when n is None.

    (Taking the first n samples plus the rest of every group they open would not do: in shuffled data the
    first n samples open nearly n groups.)"""
    if n is None or n >= len(samples):
        return list(samples)
    keys = [s.get("group") or ("loose", i) for i, s in enumerate(samples)]
    taken, count = set(), 0
    for key, size in Counter(keys).items():  # Counter keeps first-appearance order
        if count >= n:
            break
        taken.add(key)
        count += size
    return [s for s, key in zip(samples, keys) if key in taken]


def dataset_groups(dataset) -> list[str | None] | None:
    """The "group" value of every row (a datasets.Dataset column or a list of row dicts), or None when no row
    has one."""
    if hasattr(dataset, "column_names"):
        groups = list(dataset["group"]) if "group" in dataset.column_names else []
    else:
        rows = getattr(dataset, "rows", None) or []
        groups = [r.get("group") for r in rows]
    return groups if any(g is not None for g in groups) else None


def group_order(groups: Sequence[str | None], batch_size: int, seed: int) -> list[int]:
    """Row indices such that consecutive runs of `batch_size` hold whole groups wherever they fit.

    Units (a group, or a loose row) are shuffled, then placed first-fit into the open micro-batches; full
    batches come first in the order, the few that stayed partial last (only there can a group straddle a
    batch boundary). A unit larger than a batch fills whole batches with its pieces."""
    units: dict[object, list[int]] = {}
    for i, g in enumerate(groups):
        units.setdefault(("group", g) if g is not None else ("row", i), []).append(i)
    pending = list(units.values())
    random.Random(seed).shuffle(pending)
    full: list[list[int]] = []
    open_batches: list[list[int]] = []
    for unit in pending:
        while len(unit) >= batch_size:
            full.append(unit[:batch_size])
            unit = unit[batch_size:]
        if not unit:
            continue
        target = next((b for b in open_batches if len(b) + len(unit) <= batch_size), None)
        if target is None:
            open_batches.append(target := [])
        target.extend(unit)
        if len(target) == batch_size:
            open_batches.remove(target)
            full.append(target)
    return [i for b in full + open_batches for i in b]


class GroupedSampler(Sampler[int]):
    def __init__(self, groups: Sequence[str | None], batch_size: int, seed: int = 0):
        self.groups, self.batch_size, self.seed, self.epoch = list(groups), batch_size, seed, 0

    def set_epoch(self, epoch: int) -> None:  # Trainer calls this every epoch (and on resume)
        self.epoch = epoch

    def __iter__(self) -> Iterator[int]:
        return iter(group_order(self.groups, self.batch_size, self.seed + self.epoch))

    def __len__(self) -> int:
        return len(self.groups)


class GroupedBatchesMixin:
    """For transformers' Trainer (and TRL's): a GroupedSampler when training rows carry groups."""

    def _get_train_sampler(self, train_dataset=None):
        dataset = train_dataset if train_dataset is not None else self.train_dataset
        groups = dataset_groups(dataset) if dataset is not None else None
        if groups is None:
            return super()._get_train_sampler(train_dataset)
        return GroupedSampler(groups, self.args.per_device_train_batch_size, self.args.seed)


class GroupedRepeatSampler(GroupedSampler):
    """TRL's RepeatSampler with whole groups per rollout: GRPO's prompts for one rollout (batch_size of them) come
    from group_order, so both halves of a contrast pair are sampled, scored and stepped on together.

    As in RepeatSampler, each prompt index is yielded mini_repeat_count times in a row (its group of completions)
    and each rollout batch repeat_count times (the optimizer steps that reuse it); a last partial batch is dropped.
    Every rank builds the same order from the same seed; Trainer's set_epoch reshuffles (seed + epoch)."""

    def __init__(self, groups: Sequence[str | None], batch_size: int, mini_repeat_count: int, repeat_count: int = 1,
                 seed: int = 0):
        super().__init__(groups, batch_size, seed)
        self.mini_repeat_count, self.repeat_count = mini_repeat_count, repeat_count

    def __iter__(self) -> Iterator[int]:
        order = list(super().__iter__())
        for start in range(0, len(order) - self.batch_size + 1, self.batch_size):
            chunk = order[start : start + self.batch_size]
            for _ in range(self.repeat_count):
                for index in chunk:
                    yield from [index] * self.mini_repeat_count

    def __len__(self) -> int:
        return (len(self.groups) // self.batch_size) * self.batch_size * self.mini_repeat_count * self.repeat_count
