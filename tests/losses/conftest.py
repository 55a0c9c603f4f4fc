"""Random CKD inputs shared by the loss tests: small shapes, a real teacher top-k, padding and a mask."""

from __future__ import annotations

from dataclasses import dataclass

import pytest
import torch


@dataclass
class CKDCase:
    logits: torch.Tensor  # [B, T, V]
    teacher_logprobs: torch.Tensor  # [B, T, k], unsorted, some -inf padding
    teacher_ids: torch.Tensor  # [B, T, k]
    mask: torch.Tensor  # [B, T] bool
    labels: torch.Tensor  # [B, T]


def make_ckd_case(
    *, batch=2, seq=8, vocab=300, k=8, dtype=torch.float64, seed=0, pad_entries=2, masked_fraction=0.3
) -> CKDCase:
    gen = torch.Generator().manual_seed(seed)
    teacher_logits = torch.randn(batch, seq, vocab, generator=gen, dtype=torch.float64) * 3
    # A student that partly agrees with the teacher, so its top-m overlaps T_k only in part.
    logits = 0.5 * teacher_logits + torch.randn(batch, seq, vocab, generator=gen, dtype=torch.float64) * 2
    lp, ids = torch.log_softmax(teacher_logits, -1).topk(k, dim=-1)
    order = torch.rand(batch, seq, k, generator=gen).argsort(-1)  # the cache need not be sorted
    lp, ids = lp.gather(-1, order), ids.gather(-1, order)
    # Padding: entries with log-prob -inf and a junk id (repeated, -1) on the first tokens.
    lp[0, :3, :pad_entries] = float("-inf")
    ids[0, :3, :pad_entries] = -1
    mask = torch.rand(batch, seq, generator=gen) >= masked_fraction
    mask[0, 0] = True  # a padded token is always among the selected ones
    labels = torch.randint(0, vocab, (batch, seq), generator=gen)
    return CKDCase(logits.to(dtype), lp.to(dtype), ids, mask, labels)


def loss_and_grad(fn, logits: torch.Tensor, *args, **kwargs):
    """Run a loss on a fresh leaf copy of logits; return (loss, grad, stats)."""
    leaf = logits.detach().clone().requires_grad_(True)
    loss, stats = fn(leaf, *args, return_stats=True, **kwargs)
    loss.backward()
    return loss.detach(), leaf.grad, stats


@pytest.fixture
def ckd_case():
    """Factory: ckd_case(vocab=..., k=..., dtype=...) -> CKDCase."""
    return make_ckd_case


@pytest.fixture
def run_loss():
    """run_loss(fn, logits, *args, **kwargs) -> (loss, grad wrt logits, stats)."""
    return loss_and_grad
