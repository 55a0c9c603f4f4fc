"""Group advantages, KL estimators and the TRL-matching reductions, by hand."""

from __future__ import annotations

import math

import pytest
import torch

from fctrain.trainers.grpo_batch import take_rows
from fctrain.trainers.grpo_math import group_advantages, kl_penalty, reduce_like_trl


def test_star_group_advantages():
    rewards = torch.tensor([1.0, 0.0, 0.0, 0.0, -1.0, 0.5, 0.5, 0.5])
    adv = group_advantages(rewards, 4, "group")
    std = math.sqrt((0.75**2 + 3 * 0.25**2) / 3)  # Bessel-corrected, like torch.std
    expected = torch.tensor([0.75, -0.25, -0.25, -0.25]) / (std + 1e-9)
    torch.testing.assert_close(adv[:4], expected)
    second = torch.tensor([-1.125, 0.375, 0.375, 0.375]) / (math.sqrt((1.125**2 + 3 * 0.375**2) / 3) + 1e-9)
    torch.testing.assert_close(adv[4:], second)


def test_constant_group_has_zero_advantage_and_no_nan():
    adv = group_advantages(torch.tensor([0.3, 0.3, 1.0, 0.0]), 2, "group")
    assert adv[:2].tolist() == [0.0, 0.0] and torch.isfinite(adv).all()


def test_dr_grpo_and_batch_normalisation():
    rewards = torch.tensor([1.0, 0.0, 3.0, 1.0])
    torch.testing.assert_close(group_advantages(rewards, 2, "none"), torch.tensor([0.5, -0.5, 1.0, -1.0]))
    batch = group_advantages(rewards, 2, "batch")
    torch.testing.assert_close(batch, torch.tensor([0.5, -0.5, 1.0, -1.0]) / (rewards.std() + 1e-9))
    with pytest.raises(ValueError):
        group_advantages(rewards, 2, "nope")


def test_kl_estimators():
    logp, ref = torch.tensor([-1.0, -2.0]), torch.tensor([-1.5, -2.0])
    torch.testing.assert_close(kl_penalty(logp, ref, "k1"), torch.tensor([0.5, 0.0]))
    torch.testing.assert_close(kl_penalty(logp, ref, "k2"), torch.tensor([0.125, 0.0]))
    torch.testing.assert_close(kl_penalty(logp, ref, "k3"), torch.tensor([math.exp(-0.5) + 0.5 - 1, 0.0]))
    # k2's gradient is the log-ratio itself (what makes it the "squared" estimator)
    x = torch.tensor([-1.0], requires_grad=True)
    kl_penalty(x, torch.tensor([-1.5]), "k2").sum().backward()
    assert x.grad.item() == pytest.approx(0.5)


def test_reductions():
    per_token = torch.tensor([[1.0, 2.0, 9.0], [3.0, 9.0, 9.0]])
    mask = torch.tensor([[1, 1, 0], [1, 0, 0]])
    kw = dict(max_completion_length=4, num_items_in_batch=torch.tensor(6.0), num_processes=1, grad_accum=2,
              steps_per_generation=4, training=True)
    assert reduce_like_trl(per_token, mask, "grpo", **kw).item() == pytest.approx((1.5 + 3.0) / 2 / 2)
    assert reduce_like_trl(per_token, mask, "bnpo", **kw).item() == pytest.approx(6 / 3 / 2)
    assert reduce_like_trl(per_token, mask, "dr_grpo", **kw).item() == pytest.approx(6 / (2 * 4) / 2)
    assert reduce_like_trl(per_token, mask, "dapo", **kw).item() == pytest.approx(6 / (6 * 2 / 4))


def test_take_rows_repads_and_trims():
    a = {"prompt_ids": torch.tensor([[9, 5], [5, 6]]), "prompt_mask": torch.tensor([[0, 1], [1, 1]]),
         "completion_ids": torch.tensor([[7, 9], [7, 8]]), "completion_mask": torch.tensor([[1, 0], [1, 1]]),
         "advantages": torch.tensor([0.1, 0.2]), "num_items_in_batch": torch.tensor(3)}
    b = {"prompt_ids": torch.tensor([[4, 4, 4]]), "prompt_mask": torch.tensor([[1, 1, 1]]),
         "completion_ids": torch.tensor([[3, 9, 9]]), "completion_mask": torch.tensor([[1, 0, 0]]),
         "advantages": torch.tensor([0.3]), "num_items_in_batch": torch.tensor(1)}
    out = take_rows([a, b], [[0], [0]], pad_token_id=9)
    assert out["prompt_ids"].tolist() == [[9, 9, 5], [4, 4, 4]]  # left padded to the widest prompt
    assert out["prompt_mask"].tolist() == [[0, 0, 1], [1, 1, 1]]
    assert out["completion_ids"].tolist() == [[7], [3]]  # trailing all-padding columns trimmed
    assert out["advantages"].tolist() == pytest.approx([0.1, 0.3])
    assert "num_items_in_batch" not in out
    both = take_rows([a], [[1, 0]], pad_token_id=9)
    assert both["prompt_ids"].tolist() == [[5, 6], [9, 5]] and both["completion_mask"].tolist() == [[1, 1], [1, 0]]
