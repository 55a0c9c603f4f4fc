"""CKD loss for a block of rows, forward and gradient in closed form, plain torch.

This is the exact algorithm of the Triton kernel in `ckd_triton.py`, written with torch ops: the CPU
backend of the chunked and fused-linear paths, and the readable twin of the kernel.

Per row, with logits z [V], lse = logsumexp(z), q_j = exp(z_j - lse), teacher entries i (ids t_i,
log-probs lp_i, p_i = exp(lp_i); entries with lp_i = -inf are padding and skipped), lq_i = z_{t_i} - lse,
tau = the student's m-th largest logit, r = kd_ratio:

    loss = r * (KD + lam * Mistake) + (1 - r) * CE
    Mistake = sum_{z_j >= tau} q_j  -  sum_{i valid, z_{t_i} >= tau} q_{t_i}      (S_m minus T_k, O(V + k))
    CE = lse - z_y

KD depends on z only through the lq_i. With a_i = dKD/dlq_i:
    fkl = sum p (lp - lq):           a_i = -p_i
    rkl = sum q (lq - lp):           a_i = q_i (lq_i - lp_i + 1)
    akl = w fkl + (1 - w) rkl, w = g_head / (g_head + g_tail), g = sum |p - q| over the head / tail:
        a_i = w (-p_i) + (1 - w) q_i (lq_i - lp_i + 1) + (fkl - rkl) dw_i,
        dw_i = sign(q_i - p_i) q_i * (g_tail if i in head else -g_head) / (g_head + g_tail)^2
Using dlq_i/dz_j = [j = t_i] - q_j, dq_j/dz_l = q_j ([j = l] - q_l), dCE/dz_j = q_j - [j = y]:

    dloss/dz_j = q_j * (-r sum_i a_i - r lam Mistake + (1 - r) + r lam [z_j >= tau])      (dense part)
               + sum_i [j = t_i] r (a_i - lam q_i [z_{t_i} >= tau])                      (k sparse entries)
               - (1 - r) [j = y]                                                        (1 sparse entry)
"""

from __future__ import annotations

import torch


def teacher_terms(
    teacher_logprobs: torch.Tensor,  # [R, k]
    student_logits_at_ids: torch.Tensor,  # [R, k], z_{t_i}
    lse: torch.Tensor,  # [R]
    head: torch.Tensor,  # [R, k] bool, the AKL head (ignored unless kl_type == "akl")
    kl_type: str,
) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor, torch.Tensor, torch.Tensor]:
    """fkl [R], kd [R], a = dKD/dlq [R, k], q on T_k [R, k] and the validity mask [R, k]."""
    valid = teacher_logprobs > float("-inf")
    log_p = torch.where(valid, teacher_logprobs, 0.0).to(lse.dtype)
    p = torch.where(valid, log_p.exp(), 0.0)
    log_q = student_logits_at_ids - lse.unsqueeze(-1)
    q = torch.where(valid, log_q.exp(), 0.0)

    fkl = torch.where(valid, p * (log_p - log_q), 0.0).sum(-1)
    rkl = (q * (log_q - log_p)).sum(-1)  # q = 0 on padding
    d_fkl = -p
    d_rkl = q * (log_q - log_p + 1)
    if kl_type == "fkl":
        return fkl, fkl, d_fkl, q, valid
    if kl_type == "rkl":
        return fkl, rkl, d_rkl, q, valid
    diff = q - p  # 0 on padding
    gap, sign = diff.abs(), diff.sign()
    g_head = torch.where(head, gap, 0.0).sum(-1, keepdim=True)
    g_tail = torch.where(head, 0.0, gap).sum(-1, keepdim=True)
    total = g_head + g_tail
    safe_total = torch.where(total > 0, total, 1.0)
    w = torch.where(total > 0, g_head / safe_total, 0.5)
    d_w = sign * q * torch.where(head, g_tail, -g_head) / safe_total / safe_total
    akl = w.squeeze(-1) * fkl + (1 - w.squeeze(-1)) * rkl
    d_akl = w * d_fkl + (1 - w) * d_rkl + (fkl - rkl).unsqueeze(-1) * d_w
    return fkl, akl, d_akl, q, valid


def ckd_rows_torch(
    logits: torch.Tensor,  # [R, V]
    teacher_logprobs: torch.Tensor,  # [R, k]
    teacher_ids: torch.Tensor,  # [R, k] int64
    head: torch.Tensor,  # [R, k] bool
    labels: torch.Tensor,  # [R] int64
    threshold: torch.Tensor,  # [R], the m-th largest logit (+inf: no mistake term)
    *,
    lam: float,
    kl_type: str,
    kd_ratio: float,
    grad_scale: float,
    compute_grad: bool,
    overwrite_logits: bool = False,
) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor | None]:
    """Per-row loss [R], statistics [R, 4] (fkl, mistake, entropy, ce) and grad_scale * dloss/dlogits.

    overwrite_logits=True lets the function reuse the logits' storage (the chunked callers pass a scratch
    copy), so at most about two [R, V] tensors are alive: this is the CPU path of the fused-linear loss,
    whose point is memory.
    """
    acc = torch.float64 if logits.dtype == torch.float64 else torch.float32
    z = logits.to(acc)
    if z is logits and not overwrite_logits:
        z = z.clone()
    tau = threshold.to(acc).unsqueeze(-1)
    r = kd_ratio

    lse = torch.logsumexp(z, dim=-1)
    in_top = z >= tau  # bool; S_m, compared on the logits themselves (exactly as the kernel does)
    z_at_ids = z.gather(-1, teacher_ids)
    ce = lse - z.gather(-1, labels.unsqueeze(-1)).squeeze(-1)
    log_q_all = z.sub_(lse.unsqueeze(-1))  # z's storage now holds log q
    q_all = log_q_all.exp()
    # -inf logits: q = 0, and 0 * finfo.min = 0 where 0 * -inf would be NaN. Row dot products go via bmm.
    entropy = -torch.einsum("rv,rv->r", q_all, log_q_all.clamp_(min=torch.finfo(acc).min))
    in_top_f = log_q_all.copy_(in_top)  # reuse the storage again: S_m as 0/1
    del in_top, log_q_all
    top_mass = torch.einsum("rv,rv->r", q_all, in_top_f)

    fkl, kd, d_kd, q, valid = teacher_terms(teacher_logprobs, z_at_ids, lse, head, kl_type)
    teacher_in_top = valid & (z_at_ids >= tau)
    mistake = (top_mass - torch.where(teacher_in_top, q, 0.0).sum(-1)).clamp_min(0.0)
    loss = r * (kd + lam * mistake) + (1 - r) * ce
    stats = torch.stack([fkl, mistake, entropy, ce], dim=-1)
    if not compute_grad:
        return loss, stats, None

    dense = -r * d_kd.sum(-1) - r * lam * mistake + (1 - r)  # [R], multiplies q_j everywhere
    grad = q_all.mul_(in_top_f.mul_(r * lam).add_(dense.unsqueeze(-1)))
    del in_top_f
    sparse = torch.where(valid, r * (d_kd - lam * torch.where(teacher_in_top, q, 0.0)), 0.0)
    grad.scatter_add_(-1, teacher_ids, sparse)
    if r < 1:
        grad.scatter_add_(-1, labels.unsqueeze(-1), torch.full_like(lse, -(1 - r)).unsqueeze(-1))
    return loss, stats, grad.mul_(grad_scale)
