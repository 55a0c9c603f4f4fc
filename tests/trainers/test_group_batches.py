"""Grouped micro-batches: the samples of one group (a contrast pair) land in the same micro-batch."""

from __future__ import annotations

import pytest

from fctrain.trainers.group_batches import (
    GroupedRepeatSampler,
    GroupedSampler,
    dataset_groups,
    group_order,
    take_whole_groups,
)


def _batches(order, batch_size):
    return [order[i : i + batch_size] for i in range(0, len(order), batch_size)]


@pytest.mark.parametrize("batch_size", [2, 4, 6])
def test_whole_groups_in_every_micro_batch(batch_size):
    groups = [f"p{i // 2}" for i in range(20)] + [None] * 7  # ten pairs and seven loose samples
    order = group_order(groups, batch_size, seed=0)
    assert sorted(order) == list(range(27))  # a permutation: nothing dropped or repeated
    for batch in _batches(order, batch_size):
        for i in batch:
            if groups[i] is not None:
                assert sum(groups[j] == groups[i] for j in batch) == 2, (batch, groups[i])


def test_order_is_seeded_and_changes_per_epoch():
    groups = [f"p{i // 2}" for i in range(12)]
    sampler = GroupedSampler(groups, batch_size=4, seed=3)
    first = list(sampler)
    assert list(GroupedSampler(groups, batch_size=4, seed=3)) == first
    sampler.set_epoch(1)
    assert list(sampler) != first and sorted(sampler) == list(range(12)) and len(sampler) == 12


def test_a_group_larger_than_a_batch_is_split_not_dropped():
    for seed in range(5):
        order = group_order(["big"] * 5 + [None], batch_size=4, seed=seed)
        assert sorted(order) == list(range(6)) and sorted(order[:4]) == [0, 1, 2, 3]


def test_dataset_groups_from_columns_and_rows():
    from datasets import Dataset

    from fctrain.trainers.distill import RenderedDataset

    assert dataset_groups(Dataset.from_list([{"x": 1}, {"x": 2}])) is None
    assert dataset_groups(Dataset.from_list([{"x": 1, "group": "a"}, {"x": 2, "group": None}])) == ["a", None]
    assert dataset_groups(RenderedDataset([{"id": "a", "group": None}])) is None
    assert dataset_groups(RenderedDataset([{"id": "a", "group": "g"}, {"id": "b"}])) == ["g", None]


def test_sft_trainer_uses_grouped_batches_only_for_grouped_rows(tmp_path, tool_samples):
    from torch.utils.data import RandomSampler
    from trl import SFTConfig

    from fctrain.render import sft_dataset
    from fctrain.testing import tiny_model, tiny_tokenizer
    from fctrain.trainers.sft_trainer import FctrainSFTTrainer

    tok = tiny_tokenizer()
    samples = [s for s in tool_samples if s["id"] != "no-tools-chat"]
    args = SFTConfig(output_dir=str(tmp_path), report_to=[], use_cpu=True, max_length=None,
                     per_device_train_batch_size=2)
    plain, _ = sft_dataset(tok, samples)
    trainer = FctrainSFTTrainer(model=tiny_model("qwen3"), args=args, train_dataset=plain, processing_class=tok)
    assert isinstance(trainer._get_train_sampler(), RandomSampler)

    grouped, _ = sft_dataset(tok, [{**s, "group": "g" if i < 2 else None} for i, s in enumerate(samples)])
    trainer = FctrainSFTTrainer(model=tiny_model("qwen3"), args=args, train_dataset=grouped, processing_class=tok)
    sampler = trainer._get_train_sampler()
    # The multi-turn conversation is one row per assistant turn in Qwen3's format; each row keeps its group.
    assert isinstance(sampler, GroupedSampler) and sampler.groups == ["g", "g", None, None, None]
    order = list(sampler)
    assert [0, 1] in [sorted(order[i:i + 2]) for i in range(0, len(order), 2)]  # the pair fills one micro-batch
    batch = next(iter(trainer.get_train_dataloader()))
    assert batch["input_ids"].shape[0] == 2 and "group" not in batch


def test_a_sample_cut_keeps_whole_groups():
    samples = [{"id": "a", "group": "p"}, {"id": "b"}, {"id": "c", "group": "q"}, {"id": "d", "group": "p"},
               {"id": "e", "group": "q"}]
    assert [s["id"] for s in take_whole_groups(samples, 2)] == ["a", "d"]
    assert [s["id"] for s in take_whole_groups(samples, 3)] == ["a", "b", "d"]
    assert [s["id"] for s in take_whole_groups(samples, 4)] == ["a", "b", "c", "d", "e"]
    assert take_whole_groups(samples, None) == samples
    # shuffled groups of three: the cut takes whole groups up to about n samples, not every group it touches
    shuffled = [{"id": f"{g}-{j}", "group": g} for j in range(3) for g in "pqrstuvw"]
    assert [s["id"] for s in take_whole_groups(shuffled, 6)] == ["p-0", "q-0", "p-1", "q-1", "p-2", "q-2"]
    assert len(take_whole_groups(shuffled, 7)) == 9


def test_repeat_sampler_repeats_prompts_and_rollouts_and_drops_a_partial_batch():
    groups = ["a", "a", "b", "b", None]  # two pairs and a loose row; 2 prompts per rollout
    sampler = GroupedRepeatSampler(groups, batch_size=2, mini_repeat_count=3, repeat_count=2, seed=0)
    order = list(sampler)
    assert len(order) == len(sampler) == 2 * 2 * 3 * 2  # 2 full rollouts (the loose row's is partial: dropped)
    for start in range(0, len(order), 12):
        block = order[start : start + 12]
        assert block[:6] == block[6:]  # each rollout batch twice (repeat_count)
        i, j = block[0], block[3]
        assert block[:6] == [i] * 3 + [j] * 3 and groups[i] == groups[j]  # mini_repeat_count, one pair
