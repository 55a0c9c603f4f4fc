"""Shared pieces of the CKD loss: options, input checks, flattening and the teacher-only helpers.

Every implementation (reference, chunked torch, Triton, fused-linear) goes through `prepare_ckd_inputs`,
so they agree on shapes, on which tokens count, on the default labels and on the AKL head split.

Conventions (STAR.md, "CKD loss"):
- A teacher entry whose log-prob is -inf has p = 0: it is padding, not a member of T_k. It adds nothing to
  FKL/RKL/AKL, and the student mass on that id counts as a mistake when the id is in S_m.
- S_m = {v : z_v >= z_(m)}, z_(m) the student's m-th largest logit. This is torch.topk's set whenever the
  m-th and (m+1)-th logits differ; with an exact tie it keeps every tied token, so the result never
  depends on a sort's tie-breaking (which matters in bf16, where ties are common).
"""

from __future__ import annotations

import math
import typing
from dataclasses import dataclass

import torch

from fctrain.errors import ConfigError
from fctrain.trainers.distill_config import KLType, LossImpl

KL_TYPES = typing.get_args(KLType)  # the recipe's ckd.kl_type and loss_impl accept these
IMPLS = typing.get_args(LossImpl)
STAT_NAMES = ("fkl", "mistake", "entropy", "ce")  # per-token statistics, in this column order
# Rows per chunk = this // vocab. CUDA: 883 rows for a 152k vocab, 256 MiB of bf16 logits per chunk (the Triton
# kernel writes the gradient over them): on an H200 the fused-linear loss at N=4096 took 24.7 ms with 220-row
# chunks and 16 ms with 1024-row ones, the lm_head GEMMs being too thin below that (docs/benchmarks.md).
# CPU: ~32 MiB, ~55 rows (a GEMM that size is still efficient on CPU).
DEFAULT_CHUNK_ELEMENTS = {"cuda": 2**27, "cpu": 2**23}


class CKDInputError(ConfigError, ValueError):
    """Bad arguments to the CKD loss (shapes, k or m larger than the vocabulary, unknown kl_type)."""


@dataclass(frozen=True)
class CKDOptions:
    top_m: int = 100
    lam: float = 10.0
    kl_type: str = "fkl"
    kd_ratio: float = 1.0

    def check_values(self) -> None:
        if self.kl_type not in KL_TYPES:
            raise CKDInputError(f"ckd_loss: kl_type={self.kl_type!r}; expected one of {KL_TYPES}")
        if not 0.0 <= self.kd_ratio <= 1.0:
            raise CKDInputError(f"ckd_loss: kd_ratio={self.kd_ratio}; expected a number in [0, 1]")
        if self.top_m < 0:
            raise CKDInputError(f"ckd_loss: top_m={self.top_m}; expected >= 0 (0 disables the mistake term)")

    def check(self, vocab_size: int, k: int) -> None:
        self.check_values()
        if self.top_m > vocab_size:
            raise CKDInputError(
                f"ckd_loss: top_m={self.top_m} is larger than the vocabulary ({vocab_size} logits per token)"
            )
        if k < 1 or k > vocab_size:
            raise CKDInputError(
                f"ckd_loss: the teacher top-k has k={k} entries per token; expected 1 <= k <= vocabulary "
                f"size ({vocab_size})"
            )


@dataclass
class CKDInputs:
    """The selected (unmasked) tokens as rows, and where they sit in the student's [..., V] tensor."""

    rows: torch.Tensor  # [R] int64, positions of unmasked tokens in the flattened leading dims
    coords: tuple[torch.Tensor, ...]  # the same positions as one index tensor per leading dim
    teacher_logprobs: torch.Tensor  # [R, k] float
    teacher_ids: torch.Tensor  # [R, k] int64
    labels: torch.Tensor  # [R] int64, the CE target (the teacher's top-1 id unless given)
    num_tokens: int  # total tokens before masking (flattened leading dims)

    @property
    def count(self) -> int:
        return self.rows.numel()

    def select(self, student: torch.Tensor, chunk: slice = slice(None)) -> torch.Tensor:
        """Rows [R_chunk, last] of a [..., last] tensor. Indexing by coordinates, not reshape(-1, last):
        a non-contiguous input (e.g. logits[:, :-1]) is never copied whole."""
        return student[tuple(c[chunk] for c in self.coords)]

    def scatter(self, out: torch.Tensor, chunk: slice, rows: torch.Tensor) -> None:
        """out[selected rows of chunk] = rows (the inverse of `select`), in place."""
        out.index_put_(tuple(c[chunk] for c in self.coords), rows)


def prepare_ckd_inputs(
    lead_shape: torch.Size,
    vocab_size: int,
    teacher_topk_logprobs: torch.Tensor,
    teacher_topk_ids: torch.Tensor,
    mask: torch.Tensor | None,
    labels: torch.Tensor | None,
    options: CKDOptions,
    *,
    what: str = "student_logits",
) -> CKDInputs:
    """Check shapes against the student's leading shape and keep only the tokens the mask selects."""
    if len(lead_shape) == 0:
        raise CKDInputError(f"ckd_loss: {what} must be [..., tokens, last dim]; got a single vector")
    if teacher_topk_logprobs.shape != teacher_topk_ids.shape:
        raise CKDInputError(
            f"ckd_loss: teacher_topk_logprobs {tuple(teacher_topk_logprobs.shape)} and teacher_topk_ids "
            f"{tuple(teacher_topk_ids.shape)} must have the same shape [..., k]"
        )
    if teacher_topk_ids.shape[:-1] != lead_shape:
        raise CKDInputError(
            f"ckd_loss: teacher tensors have leading shape {tuple(teacher_topk_ids.shape[:-1])} but "
            f"{what} has {tuple(lead_shape)}; expected the same tokens"
        )
    if not teacher_topk_logprobs.is_floating_point():
        raise CKDInputError("ckd_loss: teacher_topk_logprobs must be a floating-point tensor of log-probs")
    if teacher_topk_ids.is_floating_point():
        raise CKDInputError("ckd_loss: teacher_topk_ids must be an integer tensor of token ids")
    k = teacher_topk_ids.shape[-1]
    options.check(vocab_size, k)
    if mask is not None and mask.shape != lead_shape:
        raise CKDInputError(f"ckd_loss: mask has shape {tuple(mask.shape)}; expected {tuple(lead_shape)}")
    if labels is not None and labels.shape != lead_shape:
        raise CKDInputError(f"ckd_loss: labels has shape {tuple(labels.shape)}; expected {tuple(lead_shape)}")

    num_tokens = int(lead_shape.numel())
    lp = teacher_topk_logprobs.reshape(num_tokens, k)
    ids = teacher_topk_ids.reshape(num_tokens, k)
    if mask is None:
        rows = torch.arange(num_tokens, device=ids.device)
    else:
        rows = mask.reshape(num_tokens).ne(0).nonzero().squeeze(1)  # one host sync; skips padding rows
    lp, ids = lp[rows], ids[rows].long()
    valid = lp > float("-inf")
    ids = torch.where(valid, ids, 0)  # padding entries may carry any id (e.g. -1); point them at a real one
    if labels is None:
        labels_sel = teacher_top1_ids(lp, ids)
    else:
        labels_sel = labels.reshape(num_tokens)[rows].long()
    # One host sync, worth it: the Triton kernel would read out of bounds on a bad id instead of failing,
    # and the O(V + k) mistake mass (S_m mass minus the T_k tokens inside it) needs T_k to be a set.
    out_of_range = ((ids < 0) | (ids >= vocab_size)).any() | ((labels_sel < 0) | (labels_sel >= vocab_size)).any()
    sorted_ids = torch.where(valid, ids, -1 - torch.arange(k, device=ids.device)).sort(-1).values
    repeated = (sorted_ids[:, 1:] == sorted_ids[:, :-1]).any()
    out_of_range, repeated = torch.stack([out_of_range, repeated]).tolist()
    if out_of_range:
        raise CKDInputError(
            f"ckd_loss: a teacher id or label of an unmasked token lies outside [0, {vocab_size}); was the "
            "teacher cache built for another vocabulary?"
        )
    if repeated:
        raise CKDInputError(
            "ckd_loss: a token's teacher top-k repeats an id among its finite log-probs; expected distinct "
            "ids (padding entries must carry log-prob -inf)"
        )
    coords = torch.unravel_index(rows, tuple(lead_shape))
    return CKDInputs(rows, tuple(coords), lp, ids, labels_sel, num_tokens)


def teacher_top1_ids(teacher_logprobs: torch.Tensor, teacher_ids: torch.Tensor) -> torch.Tensor:
    """The teacher's most likely token per row (the cache need not be sorted)."""
    return teacher_ids.gather(-1, teacher_logprobs.argmax(-1, keepdim=True)).squeeze(-1)


def akl_head_mask(teacher_logprobs: torch.Tensor) -> torch.Tensor:
    """AKL's head: sort T_k by p (descending); the prefix up to and including the token where the
    cumulative p first reaches 0.5. Entry i is in the head iff the mass strictly before it is < 0.5.
    Depends on the teacher only, so it is computed once here and passed to every implementation."""
    p = teacher_logprobs.to(compute_dtype(teacher_logprobs.dtype)).exp()
    p_sorted, order = p.sort(dim=-1, descending=True, stable=True)
    mass_before = p_sorted.cumsum(-1) - p_sorted
    head_sorted = mass_before < 0.5
    return torch.zeros_like(head_sorted).scatter(-1, order, head_sorted)


@torch.no_grad()
def student_topm_threshold(logits: torch.Tensor, top_m: int) -> torch.Tensor:
    """z_(m), the m-th largest logit per row ([..., V] -> [...]); +inf when m = 0 (S_m empty).

    Exactly `logits.topk(m).values.amin(-1)`, ties included. On CPU a segmented search does it faster (55 rows
    of 151,936 logits, m = 100: 3.2 ms against 8.2 ms for one top-m on 2 cores): split each row into segments
    of W logits and take each segment's max. The m-th largest segment max L is a lower bound of z_(m) (the m
    largest segment maxima are m distinct logits), and every logit above L lies in one of the m segments with
    the largest maxima (fewer than m segments have a max above L). So z_(m) is the m-th largest logit of those
    m segments plus the tail that does not fill a segment: two top-m's over about sqrt(m * V) values each. On
    an H200 that was slower than torch.topk's own (6.3 ms against 4.9 ms for 4,096 rows in bf16), so CUDA
    tensors take the plain top-m.
    """
    if top_m == 0:
        return torch.full(logits.shape[:-1], float("inf"), dtype=logits.dtype, device=logits.device)
    vocab = logits.shape[-1]
    width = 2 ** max(3, round(math.log2(math.sqrt(vocab / top_m))))  # segment length W, balancing both top-m's
    segments = vocab // width
    if logits.device.type != "cpu" or segments < 2 * top_m:  # (a small vocabulary: one top-m is as cheap)
        return logits.topk(top_m, dim=-1, sorted=False).values.amin(-1)
    split = logits[..., : segments * width].unflatten(-1, (segments, width))  # a view: no copy
    best = split.amax(-1).topk(top_m, dim=-1, sorted=False).indices  # [..., m] segments with the largest maxima
    picked = split.gather(-2, best.unsqueeze(-1).expand(*best.shape, width)).flatten(-2)  # [..., m * W]
    candidates = torch.cat([picked, logits[..., segments * width:]], dim=-1)
    return candidates.topk(top_m, dim=-1, sorted=False).values.amin(-1)


def compute_dtype(dtype: torch.dtype) -> torch.dtype:
    """Half-precision logits are upcast to fp32 for the softmax; fp32/fp64 stay as they are."""
    return torch.float64 if dtype == torch.float64 else torch.float32


def default_chunk_rows(vocab_size: int, device: torch.device) -> int:
    return max(1, DEFAULT_CHUNK_ELEMENTS.get(device.type, 2**25) // vocab_size)


def masked_mean(row_sum: torch.Tensor, count: int) -> torch.Tensor:
    """Token-level masked mean; an all-masked batch gives 0 (and a zero gradient), never NaN."""
    return row_sum / max(count, 1)
