"""CKD loss, plain torch: the formula of STAR.md written out, differentiated by autograd.

It holds log-softmax for every selected token at once, so it is the readable definition that the chunked,
Triton and fused-linear paths are tested against, not the one to train with on a large vocabulary.
"""

from __future__ import annotations

import torch
import torch.nn.functional as F

from fctrain.losses.ckd_common import (
    CKDInputs,
    CKDOptions,
    akl_head_mask,
    compute_dtype,
    masked_mean,
    student_topm_threshold,
)


def ckd_token_losses(
    logits: torch.Tensor,
    teacher_logprobs: torch.Tensor,
    teacher_ids: torch.Tensor,
    labels: torch.Tensor,
    options: CKDOptions,
) -> tuple[torch.Tensor, torch.Tensor]:
    """Per-token CKD loss [R] and statistics [R, 4] (fkl, mistake, entropy, ce) for logits [R, V]."""
    log_q_all = F.log_softmax(logits, dim=-1)  # student log q over the full vocabulary
    q_all = log_q_all.exp()

    valid = teacher_logprobs > float("-inf")  # -inf entries are padding (p = 0), not part of T_k
    log_p = torch.where(valid, teacher_logprobs, 0.0).to(log_q_all.dtype)
    p = torch.where(valid, log_p.exp(), 0.0)
    log_q = log_q_all.gather(-1, teacher_ids)  # student log q on T_k
    q = log_q.exp()

    # No renormalisation of either side: p and q are the full-vocabulary probabilities restricted to T_k.
    fkl = torch.where(valid, p * (log_p - log_q), 0.0).sum(-1)
    rkl = torch.where(valid, q * (log_q - log_p), 0.0).sum(-1)
    if options.kl_type == "fkl":
        kd = fkl
    elif options.kl_type == "rkl":
        kd = rkl
    else:  # akl: weight FKL by the head gap and RKL by the tail gap (weights not detached)
        head = akl_head_mask(teacher_logprobs)
        gap = torch.where(valid, (p - q).abs(), 0.0)
        g_head = torch.where(head, gap, 0.0).sum(-1)
        g_tail = torch.where(head, 0.0, gap).sum(-1)
        total = g_head + g_tail
        w_head = torch.where(total > 0, g_head / torch.where(total > 0, total, 1.0), 0.5)
        kd = w_head * fkl + (1 - w_head) * rkl

    # Mistake: student mass on its own top-m tokens (logit >= the m-th largest) that are not in T_k.
    threshold = student_topm_threshold(logits, options.top_m)
    in_student_top = logits >= threshold.unsqueeze(-1)
    in_teacher_top = torch.zeros_like(q_all).scatter_add(-1, teacher_ids, valid.to(q_all.dtype)) > 0
    mistake = (q_all * (in_student_top & ~in_teacher_top)).sum(-1)

    ce = -log_q_all.gather(-1, labels.unsqueeze(-1)).squeeze(-1)  # CE on the teacher's token
    r = options.kd_ratio
    loss = r * (kd + options.lam * mistake) + (1 - r) * ce

    entropy = -torch.where(q_all > 0, q_all * log_q_all, 0.0).sum(-1)
    stats = torch.stack([fkl, mistake, entropy, ce], dim=-1).detach()
    return loss, stats


def ckd_loss_reference(
    student_logits: torch.Tensor, inputs: CKDInputs, options: CKDOptions
) -> tuple[torch.Tensor, torch.Tensor]:
    """Masked token mean of the CKD loss and of the statistics, for student logits [..., V]."""
    logits = inputs.select(student_logits).to(compute_dtype(student_logits.dtype))
    loss, stats = ckd_token_losses(logits, inputs.teacher_logprobs, inputs.teacher_ids, inputs.labels, options)
    return masked_mean(loss.sum(), inputs.count), masked_mean(stats.sum(0), inputs.count)
