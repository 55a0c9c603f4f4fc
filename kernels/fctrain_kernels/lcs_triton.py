"""Batched LCS lengths with a bit-parallel Triton kernel (Allison-Dix / Hyyrö), for ROUGE-L on GPU.

One program per (a, b) pair. Sequence a (the reference) lives in registers as an [N_WORDS, 64] tile of
token ids; V is an [N_WORDS] vector of uint64 words, bit i = "a[i] still unused". For each token c of b:

    M = bits where a == c                   (compare the tile with c, pack each row of 64 into a word)
    X = V & M
    V = (V + X) | (V & ~M)                  (a multiword addition: carries ripple from word to word)
    LCS = m - popcount(V)

The addition's carries come from a carry-lookahead scan: per word, s = V + X wraps, g = (s < V) says
the word generates a carry and p = (s == ~0) says it passes one on; the scan of (g, p) with
(g1, p1) . (g2, p2) = (g2 | (p2 & g1), p1 & p2) gives each word's carry-out, and a word's carry-in is
its left neighbour's carry-out. Cost per pair: n steps of O(m) lane work, spread over the program's
threads; a, V and the carries never leave registers.

`lcs_lengths` runs the kernel for CUDA tensors and the CPU reference (`lcs_reference`) otherwise; tests
run the kernel itself on CPU under TRITON_INTERPRET=1.
"""

from __future__ import annotations

import torch

from .lcs_reference import lcs_lengths_reference

try:
    import triton
    import triton.language as tl
except ImportError:  # CPU-only installs without triton still get the reference path
    triton = None

_WORD = 64

if triton is not None:

    @triton.jit
    def _carry_combine(g1, p1, g2, p2):
        return g2 | (p2 & g1), p1 & p2

    @triton.jit
    def _lcs_kernel(a_ptr, a_len_ptr, b_ptr, b_len_ptr, out_ptr, a_stride, b_stride, N_WORDS: tl.constexpr):
        pid = tl.program_id(0).to(tl.int64)
        m = tl.load(a_len_ptr + pid).to(tl.int32)
        n = tl.load(b_len_ptr + pid).to(tl.int32)
        words = tl.arange(0, N_WORDS)
        bits = tl.arange(0, 64)
        pos = words[:, None] * 64 + bits[None, :]  # [N_WORDS, 64]: position of each bit in a
        in_a = pos < m
        a = tl.load(a_ptr + pid * a_stride + pos, mask=in_a, other=0)
        one = tl.full([64], 1, tl.uint64)
        bit_value = one << bits.to(tl.uint64)  # [64]: 2**bit
        zero = tl.zeros([N_WORDS, 64], tl.uint64)
        valid = tl.sum(tl.where(in_a, bit_value[None, :], zero), axis=1)  # [N_WORDS]: the m bits of a
        all_ones = ~tl.zeros([N_WORDS], tl.uint64)
        # left_of[w, k]: word k sits just below word w, so its carry-out is w's carry-in
        left_of = words[:, None] == words[None, :] + 1
        v = valid
        for j in range(n):
            c = tl.load(b_ptr + pid * b_stride + j)
            match = tl.sum(tl.where(in_a & (a == c), bit_value[None, :], zero), axis=1)
            x = v & match
            s = v + x
            g = (s < v).to(tl.int32)
            p = (s == all_ones).to(tl.int32)
            carry_out, _ = tl.associative_scan((g, p), 0, _carry_combine)
            carry_in = tl.sum(tl.where(left_of, carry_out[None, :], 0), axis=1)
            v = ((s + carry_in.to(tl.uint64)) | (v & ~match)) & valid
        ones = tl.sum(tl.where(in_a, ((v[:, None] >> bits[None, :].to(tl.uint64)) & 1).to(tl.int32), 0))
        tl.store(out_ptr + pid, (m - ones).to(tl.int64))


def _check(a_ids, a_lens, b_ids, b_lens) -> None:
    if a_ids.dim() != 2 or b_ids.dim() != 2 or a_lens.dim() != 1 or b_lens.dim() != 1:
        raise ValueError("lcs_lengths expects a_ids/b_ids of shape [B, L] and a_lens/b_lens of shape [B]")
    batch = a_ids.shape[0]
    if not (b_ids.shape[0] == a_lens.shape[0] == b_lens.shape[0] == batch):
        raise ValueError(f"batch sizes differ: {a_ids.shape[0]}, {b_ids.shape[0]}, {a_lens.shape[0]}, {b_lens.shape[0]}")
    if batch and (int(a_lens.max()) > a_ids.shape[1] or int(b_lens.max()) > b_ids.shape[1]):
        raise ValueError("a length exceeds the padded width of its id tensor")


def lcs_lengths_triton(a_ids: torch.Tensor, a_lens: torch.Tensor, b_ids: torch.Tensor,
                       b_lens: torch.Tensor) -> torch.Tensor:
    """The Triton kernel for every pair (works on CPU tensors under TRITON_INTERPRET=1)."""
    if triton is None:
        raise RuntimeError("lcs_lengths_triton needs the `triton` package")
    _check(a_ids, a_lens, b_ids, b_lens)
    batch = a_ids.shape[0]
    out = torch.empty(batch, dtype=torch.int64, device=a_ids.device)
    if batch == 0:
        return out
    n_words = triton.next_power_of_2(max(1, triton.cdiv(int(a_lens.max()), _WORD)))
    a_ids, b_ids = a_ids.to(torch.int32).contiguous(), b_ids.to(torch.int32).contiguous()
    a_lens, b_lens = a_lens.to(torch.int32).contiguous(), b_lens.to(torch.int32).contiguous()
    _lcs_kernel[(batch,)](a_ids, a_lens, b_ids, b_lens, out, a_ids.stride(0), b_ids.stride(0),
                          N_WORDS=n_words, num_warps=1 if n_words <= 2 else 4)
    return out


def lcs_lengths(a_ids: torch.Tensor, a_lens: torch.Tensor, b_ids: torch.Tensor, b_lens: torch.Tensor,
                *, impl: str = "auto") -> torch.Tensor:
    """LCS length of a_ids[i, :a_lens[i]] and b_ids[i, :b_lens[i]] per row, as int64 on a_ids' device.

    impl="auto" runs the Triton kernel on CUDA tensors and the CPU reference otherwise.
    """
    if impl not in ("auto", "triton", "reference"):
        raise ValueError(f"impl: expected 'auto', 'triton' or 'reference', got {impl!r}")
    use_triton = impl == "triton" or (impl == "auto" and a_ids.is_cuda and triton is not None)
    if use_triton:
        return lcs_lengths_triton(a_ids, a_lens, b_ids, b_lens)
    _check(a_ids, a_lens, b_ids, b_lens)
    return lcs_lengths_reference(a_ids, a_lens, b_ids, b_lens)
