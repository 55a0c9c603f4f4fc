"""The GRPO formulas STAR fixes and TRL does differently: group advantages and the KL estimator.

    advantage (STAR)   A_i = (r_i - mean_g r) / (std_g r + 1e-9)     over the n completions of one prompt
    KL k1              log pi - log pi_ref
    KL k2 (STAR)       0.5 * (log pi - log pi_ref)^2
    KL k3 (TRL)        exp(log pi_ref - log pi) - (log pi_ref - log pi) - 1

std is the sample (Bessel) standard deviation, like torch.std and TRL's nanstd.
"""

from __future__ import annotations

from typing import Literal

import torch

Normalisation = Literal["group", "batch", "none"]
KLEstimator = Literal["k1", "k2", "k3"]


def group_advantages(rewards: torch.Tensor, num_generations: int, norm: Normalisation = "group",
                     eps: float = 1e-9) -> torch.Tensor:
    """Advantages of rows grouped as `num_generations` consecutive completions per prompt.

    group: STAR/GRPO, (r - group mean) / (group std + eps). batch: divide by the batch std instead
    (Liu et al. "understanding R1-zero" variant). none: Dr. GRPO, r - group mean.
    """
    grouped = rewards.view(-1, num_generations)
    centred = (grouped - grouped.mean(dim=1, keepdim=True)).view(-1)
    if norm == "none":
        return centred
    if norm == "group":
        std = grouped.std(dim=1, keepdim=True).expand_as(grouped).reshape(-1)
    elif norm == "batch":
        std = rewards.std() if rewards.numel() > 1 else rewards.new_zeros(())
    else:
        raise ValueError(f"unknown advantage normalisation {norm!r} (group, batch, none)")
    return centred / (std + eps)


def kl_penalty(logps: torch.Tensor, ref_logps: torch.Tensor, estimator: KLEstimator = "k2") -> torch.Tensor:
    """Per-token KL(pi || pi_ref) estimate from the sampled tokens' log-probs (Schulman's k1/k2/k3)."""
    log_ratio = logps - ref_logps
    if estimator == "k1":
        return log_ratio
    if estimator == "k2":
        return 0.5 * log_ratio.square()
    if estimator == "k3":
        return torch.exp(-log_ratio) + log_ratio - 1
    raise ValueError(f"unknown KL estimator {estimator!r} (k1, k2, k3)")


def reduce_like_trl(per_token: torch.Tensor, mask: torch.Tensor, loss_type: str, *, max_completion_length: int,
                    num_items_in_batch: torch.Tensor | None, num_processes: int, grad_accum: int,
                    steps_per_generation: int, training: bool) -> torch.Tensor:
    """Reduce a per-token loss term exactly as TRL's GRPOTrainer reduces its policy loss for `loss_type`.

    Every reduction is linear, so adding beta * reduce(KL) afterwards equals TRL's
    reduce(policy + beta * KL); this lets us swap the KL estimator without copying TRL's loss.
    """
    accum = grad_accum if training else 1
    if loss_type == "grpo":  # mean over each sequence's tokens, then over sequences
        return ((per_token * mask).sum(-1) / mask.sum(-1).clamp(min=1.0)).mean() / accum
    if loss_type == "bnpo":  # mean over the micro-batch's tokens
        return (per_token * mask).sum() / mask.sum().clamp(min=1.0) / accum
    if loss_type == "dr_grpo":  # a constant denominator: no length bias
        return (per_token * mask).sum() / (per_token.size(0) * max_completion_length) / accum
    if loss_type == "dapo":  # mean over every token of the generation batch (across ranks)
        normaliser = num_items_in_batch.clamp(min=1.0) / num_processes
        if training:
            normaliser = normaliser * grad_accum / steps_per_generation
        return (per_token * mask).sum() / normaliser
    raise ValueError(f"unsupported loss_type {loss_type!r} (grpo, bnpo, dr_grpo, dapo)")
