"""CKD loss over chunks of tokens, the gradient computed in the forward pass (the Liger-Kernel habit).

Only one chunk of [rows, vocab] intermediates is alive at a time, in forward and in backward: each chunk
returns its loss and its gradient w.r.t. the logits in closed form, the gradient is written into one
[tokens, vocab] buffer and backward only scales it. The per-chunk work is done by a row backend:
`fctrain.kernels.ckd_torch` (plain torch) or `fctrain.kernels.ckd_triton` (one fused kernel).
"""

from __future__ import annotations

from collections.abc import Callable

import torch

from fctrain.losses.ckd_common import (
    CKDInputs,
    CKDOptions,
    akl_head_mask,
    compute_dtype,
    student_topm_threshold,
)

RowBackend = Callable[..., tuple[torch.Tensor, torch.Tensor, "torch.Tensor | None"]]


def row_backend(name: str) -> RowBackend:
    if name == "triton":
        from fctrain.kernels.ckd_triton import ckd_rows_triton  # imports triton: only when asked for

        return ckd_rows_triton
    from fctrain.kernels.ckd_torch import ckd_rows_torch

    return ckd_rows_torch


def ckd_chunk(
    logits: torch.Tensor,
    inputs: CKDInputs,
    chunk: slice,
    options: CKDOptions,
    backend: RowBackend,
    *,
    grad_scale: float,
    compute_grad: bool,
) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor | None]:
    """Loss [R], stats [R, 4] and scaled grad [R, V] for the logits of the selected rows `chunk`."""
    teacher_logprobs = inputs.teacher_logprobs[chunk]
    if options.kl_type == "akl":
        head = akl_head_mask(teacher_logprobs)
    else:
        head = torch.zeros(teacher_logprobs.shape, dtype=torch.bool, device=logits.device)
    return backend(
        logits,
        teacher_logprobs,
        inputs.teacher_ids[chunk],
        head,
        inputs.labels[chunk],
        student_topm_threshold(logits, options.top_m),
        lam=options.lam,
        kl_type=options.kl_type,
        kd_ratio=options.kd_ratio,
        grad_scale=grad_scale,
        compute_grad=compute_grad,
        overwrite_logits=True,  # callers pass a scratch copy (advanced indexing or a fresh matmul)
    )


class ChunkedCKDFunction(torch.autograd.Function):
    @staticmethod
    def forward(ctx, logits, inputs: CKDInputs, options: CKDOptions, backend_name: str, chunk_rows: int):
        backend = row_backend(backend_name)
        count = inputs.count
        compute_grad = ctx.needs_input_grad[0]
        grad = torch.zeros_like(logits) if compute_grad else None
        acc = compute_dtype(logits.dtype)
        loss_sum = torch.zeros((), dtype=acc, device=logits.device)
        stats_sum = torch.zeros(4, dtype=acc, device=logits.device)
        for start in range(0, count, chunk_rows):
            chunk = slice(start, start + chunk_rows)
            loss, stats, grad_chunk = ckd_chunk(
                inputs.select(logits, chunk), inputs, chunk, options, backend,
                grad_scale=1.0 / count, compute_grad=compute_grad,
            )
            loss_sum += loss.sum()
            stats_sum += stats.sum(0)
            if compute_grad:
                inputs.scatter(grad, chunk, grad_chunk.to(grad.dtype))
        ctx.save_for_backward(grad)
        mean_stats = stats_sum / max(count, 1)
        ctx.mark_non_differentiable(mean_stats)
        return loss_sum / max(count, 1), mean_stats

    @staticmethod
    def backward(ctx, grad_loss, grad_stats):
        forbid_second_backward(ctx)
        (grad,) = ctx.saved_tensors
        # In place: the buffer is used once, and a second [tokens, V] copy is avoided.
        return grad.mul_(grad_loss.to(grad.dtype)), None, None, None, None


def forbid_second_backward(ctx) -> None:
    """The gradient was computed in forward and is scaled in place, so a second backward through the same
    graph (retain_graph=True) would return a wrongly scaled gradient: refuse it."""
    if getattr(ctx, "backward_done", False):
        raise RuntimeError("the CKD loss (chunked/triton/fused-linear) supports one backward per forward")
    ctx.backward_done = True


def ckd_loss_chunked(
    student_logits: torch.Tensor,
    inputs: CKDInputs,
    options: CKDOptions,
    *,
    backend: str = "torch",
    chunk_rows: int,
) -> tuple[torch.Tensor, torch.Tensor]:
    """Masked token mean of the CKD loss and of the statistics, for student logits [..., V]."""
    return ChunkedCKDFunction.apply(student_logits, inputs, options, backend, chunk_rows)
