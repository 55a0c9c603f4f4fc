"""CKD loss straight from hidden states: the [tokens, vocab] logits never exist.

The Liger-Kernel FusedLinearCrossEntropy idea applied to top-k distillation. In forward, for each chunk of
selected tokens: logits = h W^T (+ b), CKD loss and grad_logits (closed form, `ckd_chunked.ckd_chunk`),
then grad_h = grad_logits W and grad_W += grad_logits^T h. Backward only scales those gradients. Peak
extra memory is grad_W plus one chunk of logits and its gradient, instead of several [tokens, V] tensors.
grad_W accumulates in the weight's dtype (as Liger does), one rounding per chunk in bf16.
"""

from __future__ import annotations

import torch

from fctrain.losses.ckd_chunked import ckd_chunk, forbid_second_backward, row_backend
from fctrain.losses.ckd_common import CKDInputs, CKDOptions, compute_dtype


class FusedLinearCKDFunction(torch.autograd.Function):
    @staticmethod
    def forward(
        ctx, hidden, weight, bias, inputs: CKDInputs, options: CKDOptions, backend_name: str, chunk_rows: int
    ):
        backend = row_backend(backend_name)
        count = inputs.count
        need_hidden, need_weight, need_bias = ctx.needs_input_grad[:3]
        compute_grad = need_hidden or need_weight or need_bias
        grad_hidden = torch.zeros_like(hidden) if need_hidden else None
        grad_weight = torch.zeros_like(weight) if need_weight else None
        grad_bias = torch.zeros_like(bias) if need_bias else None
        acc = compute_dtype(weight.dtype)
        loss_sum = torch.zeros((), dtype=acc, device=weight.device)
        stats_sum = torch.zeros(4, dtype=acc, device=weight.device)
        for start in range(0, count, chunk_rows):
            chunk = slice(start, start + chunk_rows)
            hidden_rows = inputs.select(hidden, chunk)
            logits = hidden_rows @ weight.t() if bias is None else torch.addmm(bias, hidden_rows, weight.t())
            loss, stats, grad_logits = ckd_chunk(
                logits, inputs, chunk, options, backend, grad_scale=1.0 / count, compute_grad=compute_grad
            )
            del logits  # free the chunk's logits before the two gradient matmuls allocate
            loss_sum += loss.sum()
            stats_sum += stats.sum(0)
            if not compute_grad:
                continue
            grad_logits = grad_logits.to(weight.dtype)
            if need_hidden:
                inputs.scatter(grad_hidden, chunk, grad_logits @ weight)
            if need_weight:
                grad_weight.addmm_(grad_logits.t(), hidden_rows)
            if need_bias:
                grad_bias += grad_logits.sum(0)
        ctx.save_for_backward(grad_hidden, grad_weight, grad_bias)
        mean_stats = stats_sum / max(count, 1)
        ctx.mark_non_differentiable(mean_stats)
        return loss_sum / max(count, 1), mean_stats

    @staticmethod
    def backward(ctx, grad_loss, grad_stats):
        forbid_second_backward(ctx)
        grads = [None if g is None else g.mul_(grad_loss.to(g.dtype)) for g in ctx.saved_tensors]
        return *grads, None, None, None, None


def fused_linear_ckd_chunked(
    hidden: torch.Tensor,
    weight: torch.Tensor,
    bias: torch.Tensor | None,
    inputs: CKDInputs,
    options: CKDOptions,
    *,
    backend: str,
    chunk_rows: int,
) -> tuple[torch.Tensor, torch.Tensor]:
    """Masked token mean of the CKD loss of logits = hidden @ weight.T + bias ([..., H] -> [..., V])."""
    return FusedLinearCKDFunction.apply(hidden, weight, bias, inputs, options, backend, chunk_rows)
