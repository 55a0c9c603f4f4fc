"""CKD loss, forward and backward fused in one Triton kernel per row block.

One program per row (token). The math and the gradient are derived in `ckd_torch.py`, which computes the
same thing with torch ops; here the [R, V] intermediates (log-softmax, probabilities, masks) never exist:

1. sweep over the vocabulary in BLOCK_V tiles with an online logsumexp: running max m, sum exp(z - m),
   the mass of the student's top-m tokens sum_{z >= tau} exp(z - m) and sum exp(z - m) * z (entropy);
2. gather the teacher's k ids, compute FKL / RKL / AKL, the mistake mass (top-m mass minus the teacher
   tokens that are in it) and CE on the label, and the k per-entry derivatives a_i = dKD/dlq_i;
3. a second sweep writes the dense gradient q_j * (c + r*lam*[z_j >= tau]) in the logits' dtype, then, after
   a block barrier, the k + 1 entries with sparse corrections (the teacher ids and the label) are written
   again, dense value plus correction, with plain stores: the valid teacher ids of a row are distinct
   (`prepare_ckd_inputs` refuses repeats; padding entries are masked out) and a label that is one of them
   takes its CE term there. No atomics: the gradient is deterministic and each entry is rounded once.

The gradient can be written over the logits themselves (`overwrite_logits=True`, what the chunked and
fused-linear callers pass: their logits are a scratch copy): every element is read before it is overwritten,
and the values needed after the sweep (the logits at the teacher ids and at the label) are read before it.
In bf16 that saves the fp32 [R, V] buffer and the pass that rounded it.

Student top-m: tau, the m-th largest logit of each row, comes from torch.topk outside the kernel (a
sort inside the kernel would need the whole row in registers); the kernel then only compares z >= tau.
Logits are read in their own dtype and upcast to ACC (fp32, or fp64 for fp64 inputs); the gradient is
computed in ACC and stored in the dtype of the gradient buffer (the logits' dtype).

The kernel runs on CUDA, and on CPU tensors under TRITON_INTERPRET=1 (set before this module is
imported: the @triton.jit decorator picks the interpreter at import time).
"""

from __future__ import annotations

import torch
import triton
import triton.language as tl

KL_TYPE_CODES = {"fkl": 0, "rkl": 1, "akl": 2}


@triton.jit
def _ckd_fwd_bwd_kernel(
    z_ptr,  # [R, V] student logits
    z_row_stride,
    grad_ptr,  # [R, V] output: grad_scale * dloss/dz, in this buffer's dtype (may be z_ptr itself)
    grad_row_stride,
    lp_ptr,  # [R, K] teacher log-probs (-inf = padding)
    ids_ptr,  # [R, K] int64 teacher ids
    head_ptr,  # [R, K] int8 AKL head mask
    teacher_row_stride,
    label_ptr,  # [R] int64
    tau_ptr,  # [R] ACC, m-th largest logit (+inf: no mistake term)
    loss_ptr,  # [R] ACC output
    stats_ptr,  # [R, 4] ACC output: fkl, mistake, entropy, ce
    params_ptr,  # [3] ACC: lam, kd_ratio, grad_scale (a tensor, so fp64 runs keep full precision)
    V,
    K,
    KL_TYPE: tl.constexpr,  # 0 fkl, 1 rkl, 2 akl
    ACC: tl.constexpr,
    BLOCK_V: tl.constexpr,
    BLOCK_K: tl.constexpr,
    COMPUTE_GRAD: tl.constexpr,
):
    row = tl.program_id(0).to(tl.int64)
    lam = tl.load(params_ptr + 0)
    kd_ratio = tl.load(params_ptr + 1)
    grad_scale = tl.load(params_ptr + 2)
    z_row = z_ptr + row * z_row_stride
    tau = tl.load(tau_ptr + row)

    # 1. Online logsumexp; the top-m mass and sum q*z ride along with the same rescaling.
    m_run = tl.full([], float("-inf"), ACC)
    s_all = tl.full([], 0.0, ACC)
    s_top = tl.full([], 0.0, ACC)
    s_z = tl.full([], 0.0, ACC)
    for start in range(0, V, BLOCK_V):
        offs = start + tl.arange(0, BLOCK_V)
        x = tl.load(z_row + offs, mask=offs < V, other=float("-inf")).to(ACC)
        m_new = tl.maximum(m_run, tl.max(x, axis=0))
        alpha = tl.exp(m_run - m_new)
        e = tl.exp(x - m_new)
        s_all = s_all * alpha + tl.sum(e, axis=0)
        s_top = s_top * alpha + tl.sum(tl.where(x >= tau, e, 0.0), axis=0)
        s_z = s_z * alpha + tl.sum(e * tl.where(e > 0, x, 0.0), axis=0)  # no 0 * -inf on padding lanes
        m_run = m_new
    lse = m_run + tl.log(s_all)
    entropy = lse - s_z / s_all

    # 2. Teacher side: k gathered logits.
    ko = tl.arange(0, BLOCK_K)
    t_off = row * teacher_row_stride + ko
    lp = tl.load(lp_ptr + t_off, mask=ko < K, other=float("-inf")).to(ACC)
    valid = lp > float("-inf")
    ids = tl.load(ids_ptr + t_off, mask=valid, other=0)
    zt = tl.load(z_row + ids, mask=valid, other=0.0).to(ACC)
    log_p = tl.where(valid, lp, 0.0)
    p = tl.where(valid, tl.exp(log_p), 0.0)
    log_q = zt - lse
    q = tl.where(valid, tl.exp(log_q), 0.0)
    fkl = tl.sum(tl.where(valid, p * (log_p - log_q), 0.0), axis=0)
    rkl = tl.sum(q * (log_q - log_p), axis=0)
    d_fkl = -p
    d_rkl = q * (log_q - log_p + 1.0)
    if KL_TYPE == 0:
        kd = fkl
        d_kd = d_fkl
    elif KL_TYPE == 1:
        kd = rkl
        d_kd = d_rkl
    else:
        head = tl.load(head_ptr + t_off, mask=valid, other=0) != 0
        diff = q - p
        gap = tl.abs(diff)
        sign = tl.where(diff > 0, 1.0, tl.where(diff < 0, -1.0, 0.0))
        g_head = tl.sum(tl.where(head, gap, 0.0), axis=0)
        g_tail = tl.sum(tl.where(head, 0.0, gap), axis=0)
        total = g_head + g_tail
        safe_total = tl.where(total > 0, total, 1.0)
        w = tl.where(total > 0, g_head / safe_total, 0.5)
        d_w = sign * q * tl.where(head, g_tail, -g_head) / safe_total / safe_total
        kd = w * fkl + (1.0 - w) * rkl
        d_kd = w * d_fkl + (1.0 - w) * d_rkl + (fkl - rkl) * d_w
    teacher_in_top = valid & (zt >= tau)
    q_teacher_top = tl.where(teacher_in_top, q, 0.0)
    mistake = tl.maximum(s_top / s_all - tl.sum(q_teacher_top, axis=0), 0.0)
    label = tl.load(label_ptr + row)
    z_label = tl.load(z_row + label).to(ACC)
    ce = lse - z_label
    loss = kd_ratio * (kd + lam * mistake) + (1.0 - kd_ratio) * ce
    tl.store(loss_ptr + row, loss)
    tl.store(stats_ptr + row * 4 + 0, fkl)
    tl.store(stats_ptr + row * 4 + 1, mistake)
    tl.store(stats_ptr + row * 4 + 2, entropy)
    tl.store(stats_ptr + row * 4 + 3, ce)

    # 3. Gradient: dense sweep, then the entries with sparse corrections (teacher ids, label) written again.
    if COMPUTE_GRAD:
        grad_row = grad_ptr + row * grad_row_stride
        out_ty = grad_ptr.dtype.element_ty
        dense = -kd_ratio * tl.sum(d_kd, axis=0) - kd_ratio * lam * mistake + (1.0 - kd_ratio)
        top_bonus = kd_ratio * lam
        for start in range(0, V, BLOCK_V):
            offs = start + tl.arange(0, BLOCK_V)
            x = tl.load(z_row + offs, mask=offs < V, other=float("-inf")).to(ACC)
            q_all = tl.exp(x - lse)
            g = q_all * (dense + tl.where(x >= tau, top_bonus, 0.0))
            tl.store(grad_row + offs, (g * grad_scale).to(out_ty), mask=offs < V)
        tl.debug_barrier()  # every thread's dense stores land before the corrected entries overwrite some
        sparse = kd_ratio * (d_kd - lam * q_teacher_top)  # 0 on padding entries
        is_label = valid & (ids == label)
        correction = sparse + tl.where(is_label, kd_ratio - 1.0, 0.0)
        g_ids = tl.exp(zt - lse) * (dense + tl.where(zt >= tau, top_bonus, 0.0))
        tl.store(grad_row + ids, ((g_ids + correction) * grad_scale).to(out_ty), mask=valid)
        if kd_ratio < 1.0:
            if tl.sum(is_label.to(tl.int32), axis=0) == 0:  # the label is not a teacher id: its own entry
                g_label = tl.exp(z_label - lse) * (dense + tl.where(z_label >= tau, top_bonus, 0.0))
                tl.store(grad_row + label, ((g_label + (kd_ratio - 1.0)) * grad_scale).to(out_ty))


def kernel_is_interpreted() -> bool:
    """True when this module was imported with TRITON_INTERPRET=1 (the decorator chose the interpreter)."""
    return not isinstance(_ckd_fwd_bwd_kernel, triton.runtime.JITFunction)


def triton_available_for(device: torch.device) -> bool:
    """The compiled kernel runs on CUDA tensors; the interpreted one on CPU tensors."""
    return device.type == ("cpu" if kernel_is_interpreted() else "cuda")


def ckd_rows_triton(
    logits: torch.Tensor,  # [R, V]
    teacher_logprobs: torch.Tensor,  # [R, k]
    teacher_ids: torch.Tensor,  # [R, k] int64
    head: torch.Tensor,  # [R, k] bool
    labels: torch.Tensor,  # [R] int64
    threshold: torch.Tensor,  # [R]
    *,
    lam: float,
    kl_type: str,
    kd_ratio: float,
    grad_scale: float,
    compute_grad: bool,
    overwrite_logits: bool = False,
) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor | None]:
    """Same contract as `ckd_torch.ckd_rows_torch`: loss [R], stats [R, 4], grad_scale * dloss/dlogits (here in
    the logits' dtype, written over the logits when overwrite_logits=True)."""
    num_rows, vocab = logits.shape
    k = teacher_ids.shape[1]
    acc = torch.float64 if logits.dtype == torch.float64 else torch.float32
    logits = logits if logits.stride(-1) == 1 else logits.contiguous()
    lp = teacher_logprobs.contiguous()
    ids = teacher_ids.contiguous()
    head_i8 = head.to(torch.int8).contiguous()
    params = torch.tensor([lam, kd_ratio, grad_scale], dtype=acc, device=logits.device)
    loss = torch.empty(num_rows, dtype=acc, device=logits.device)
    stats = torch.empty(num_rows, 4, dtype=acc, device=logits.device)
    if compute_grad:
        grad = logits if overwrite_logits else torch.empty_like(logits, memory_format=torch.contiguous_format)
    else:
        grad = loss  # never written (COMPUTE_GRAD=False); any pointer will do
    if num_rows == 0:
        return loss, stats, (grad if compute_grad else None)
    block_v = min(8192, triton.next_power_of_2(vocab))
    _ckd_fwd_bwd_kernel[(num_rows,)](
        logits, logits.stride(0), grad, grad.stride(0) if compute_grad else 0,
        lp, ids, head_i8, k, labels.contiguous(), threshold.to(acc).contiguous(), loss, stats, params,
        vocab, k,
        KL_TYPE=KL_TYPE_CODES[kl_type], ACC=tl.float64 if acc == torch.float64 else tl.float32,
        BLOCK_V=block_v, BLOCK_K=max(16, triton.next_power_of_2(k)), COMPUTE_GRAD=compute_grad,
        num_warps=16 if block_v >= 4096 else 4,
    )
    return loss, stats, (grad if compute_grad else None)
