"""Public entry points of the CKD loss (STAR.md, "CKD loss"): `ckd_loss`, `fused_linear_ckd_loss`, `CKDLoss`.

    L = masked_mean_t [ r * (KD_k(t) + lam * Mistake_m(t)) + (1 - r) * CE(t) ],   r = kd_ratio

KD_k is FKL (default), RKL or AKL over the teacher's top-k, without renormalisation; Mistake_m is the
student's probability mass on its own top-m tokens that are not in the teacher's top-k; CE is on `labels`
(default: the teacher's top-1 token). The mean is over the tokens where `mask` is set (all tokens when
mask is None); an all-masked batch gives 0 with a zero gradient.

Implementations (`impl`), all with the same result: "reference" (plain autograd, holds log-softmax for
every token), "chunked" (closed-form gradient per chunk of tokens, plain torch), "triton" (the same, one
fused kernel per chunk; CUDA, or CPU under TRITON_INTERPRET=1), "auto" (triton on CUDA, chunked on CPU).
"""

from __future__ import annotations

import torch
from torch import nn

from fctrain.losses.ckd_common import (
    IMPLS,
    STAT_NAMES,
    CKDInputError,
    CKDOptions,
    default_chunk_rows,
    prepare_ckd_inputs,
)


def _resolve_impl(impl: str, device: torch.device, dtype: torch.dtype, *, allowed=IMPLS) -> str:
    if impl not in allowed:
        raise CKDInputError(f"ckd_loss: impl={impl!r}; expected one of {allowed}")
    if impl == "auto":
        # fp64 stays on the torch path: it is for checking, and not every GPU runs fp64 kernels fast.
        return "triton" if device.type == "cuda" and dtype != torch.float64 and _triton_runs_on(device) else "chunked"
    if impl == "triton" and not _triton_runs_on(device):
        raise CKDInputError(
            f"ckd_loss: impl='triton' needs the triton package and CUDA tensors (got {device}); on CPU use "
            "impl='chunked', or set TRITON_INTERPRET=1 before fctrain.kernels.ckd_triton is imported to run "
            "the kernel in Triton's interpreter"
        )
    return impl


def _triton_runs_on(device: torch.device) -> bool:
    try:
        from fctrain.kernels.ckd_triton import triton_available_for
    except ImportError:  # triton not installed (e.g. macOS, Windows)
        return False
    return triton_available_for(device)


def _stats_dict(stats: torch.Tensor, count: int) -> dict[str, torch.Tensor | int]:
    out: dict[str, torch.Tensor | int] = {name: stats[i] for i, name in enumerate(STAT_NAMES)}
    out["num_tokens"] = count
    return out


def ckd_loss(
    student_logits: torch.Tensor,
    teacher_topk_logprobs: torch.Tensor,
    teacher_topk_ids: torch.Tensor,
    mask: torch.Tensor | None = None,
    *,
    top_m: int = 100,
    lam: float = 10.0,
    kl_type: str = "fkl",
    kd_ratio: float = 1.0,
    labels: torch.Tensor | None = None,
    impl: str = "auto",
    chunk_size: int | None = None,
    return_stats: bool = False,
):
    """CKD loss of student logits [..., V] against the teacher's top-k log-probs and ids [..., k].

    mask [...] (bool or 0/1) selects the target tokens; labels [...] the CE targets when kd_ratio < 1.
    chunk_size is the number of tokens per chunk (chunked/triton). With return_stats=True returns
    (loss, stats) where stats holds detached token means "fkl", "mistake", "entropy", "ce" and the int
    "num_tokens", for logging.
    """
    vocab = student_logits.shape[-1]
    options = CKDOptions(top_m=top_m, lam=lam, kl_type=kl_type, kd_ratio=kd_ratio)
    inputs = prepare_ckd_inputs(
        student_logits.shape[:-1], vocab, teacher_topk_logprobs, teacher_topk_ids, mask, labels, options
    )
    impl = _resolve_impl(impl, student_logits.device, student_logits.dtype)
    if impl == "reference":
        from fctrain.losses.ckd_reference import ckd_loss_reference

        loss, stats = ckd_loss_reference(student_logits, inputs, options)
    else:
        from fctrain.losses.ckd_chunked import ckd_loss_chunked

        chunk_rows = _chunk_rows(chunk_size, vocab, student_logits.device)
        backend = "triton" if impl == "triton" else "torch"
        loss, stats = ckd_loss_chunked(student_logits, inputs, options, backend=backend, chunk_rows=chunk_rows)
    return (loss, _stats_dict(stats, inputs.count)) if return_stats else loss


def fused_linear_ckd_loss(
    hidden: torch.Tensor,
    lm_head_weight: torch.Tensor,
    teacher_topk_logprobs: torch.Tensor,
    teacher_topk_ids: torch.Tensor,
    mask: torch.Tensor | None = None,
    *,
    bias: torch.Tensor | None = None,
    top_m: int = 100,
    lam: float = 10.0,
    kl_type: str = "fkl",
    kd_ratio: float = 1.0,
    labels: torch.Tensor | None = None,
    impl: str = "auto",
    chunk_size: int | None = None,
    return_stats: bool = False,
):
    """`ckd_loss(hidden @ lm_head_weight.T + bias, ...)` without materialising the logits.

    hidden [..., H], lm_head_weight [V, H], bias [V] or None. impl: "auto" | "chunked" | "triton".
    Gradients flow to hidden, lm_head_weight and bias (each only when it requires grad).
    """
    if lm_head_weight.dim() != 2 or lm_head_weight.shape[1] != hidden.shape[-1]:
        raise CKDInputError(
            f"fused_linear_ckd_loss: lm_head_weight has shape {tuple(lm_head_weight.shape)}; expected "
            f"[vocab, {hidden.shape[-1]}] to match hidden [..., {hidden.shape[-1]}]"
        )
    vocab = lm_head_weight.shape[0]
    if bias is not None and bias.shape != (vocab,):
        raise CKDInputError(f"fused_linear_ckd_loss: bias has shape {tuple(bias.shape)}; expected ({vocab},)")
    options = CKDOptions(top_m=top_m, lam=lam, kl_type=kl_type, kd_ratio=kd_ratio)
    inputs = prepare_ckd_inputs(
        hidden.shape[:-1], vocab, teacher_topk_logprobs, teacher_topk_ids, mask, labels, options, what="hidden"
    )
    impl = _resolve_impl(impl, hidden.device, hidden.dtype, allowed=("auto", "chunked", "triton"))
    from fctrain.losses.fused_linear_ckd import fused_linear_ckd_chunked

    loss, stats = fused_linear_ckd_chunked(
        hidden,
        lm_head_weight,
        bias,
        inputs,
        options,
        backend="triton" if impl == "triton" else "torch",
        chunk_rows=_chunk_rows(chunk_size, vocab, hidden.device),
    )
    return (loss, _stats_dict(stats, inputs.count)) if return_stats else loss


def _chunk_rows(chunk_size: int | None, vocab: int, device: torch.device) -> int:
    if chunk_size is None:
        return default_chunk_rows(vocab, device)
    if chunk_size < 1:
        raise CKDInputError(f"ckd_loss: chunk_size={chunk_size}; expected a positive number of tokens")
    return int(chunk_size)


class CKDLoss(nn.Module):
    """`ckd_loss` with its options fixed at construction; forward takes the tensors."""

    def __init__(
        self,
        *,
        top_m: int = 100,
        lam: float = 10.0,
        kl_type: str = "fkl",
        kd_ratio: float = 1.0,
        impl: str = "auto",
        chunk_size: int | None = None,
    ):
        super().__init__()
        CKDOptions(top_m=top_m, lam=lam, kl_type=kl_type, kd_ratio=kd_ratio).check_values()
        self.options = dict(top_m=top_m, lam=lam, kl_type=kl_type, kd_ratio=kd_ratio, impl=impl,
                            chunk_size=chunk_size)

    def forward(
        self,
        student_logits: torch.Tensor,
        teacher_topk_logprobs: torch.Tensor,
        teacher_topk_ids: torch.Tensor,
        mask: torch.Tensor | None = None,
        labels: torch.Tensor | None = None,
        return_stats: bool = False,
    ):
        return ckd_loss(
            student_logits, teacher_topk_logprobs, teacher_topk_ids, mask,
            labels=labels, return_stats=return_stats, **self.options,
        )

    def extra_repr(self) -> str:
        return ", ".join(f"{k}={v}" for k, v in self.options.items())
