"""Longest-common-subsequence lengths on CPU: the reference the Triton kernel is tested against.

Two independent forms: the textbook O(m*n) table (`lcs_length_dp`, what rouge_score does) and the
bit-parallel recurrence of Allison & Dix (1986) in the form of Hyyrö (2004), run on Python big ints, which
makes the multiword carry free (`lcs_length_bitparallel`). Bit i of V is 1 while a[i] is still unused;
for each symbol c of b, with M = the bits where a[i] == c:

    V <- (V + (V & M)) | (V & ~M)        (restricted to the m bits of a)
    LCS = number of zero bits of V

The addition is where one word's carry enters the next: the Triton kernel does it with a carry scan.
"""

from __future__ import annotations

from collections.abc import Sequence

import torch


def lcs_length_dp(a: Sequence, b: Sequence) -> int:
    prev = [0] * (len(b) + 1)
    for x in a:
        cur = [0]
        for j, y in enumerate(b):
            cur.append(prev[j] + 1 if x == y else max(prev[j + 1], cur[j]))
        prev = cur
    return prev[-1]


def lcs_length_bitparallel(a: Sequence, b: Sequence) -> int:
    m = len(a)
    full = (1 << m) - 1
    match: dict = {}
    for i, x in enumerate(a):
        match[x] = match.get(x, 0) | 1 << i
    v = full
    for y in b:
        mask = match.get(y, 0)
        v = ((v + (v & mask)) | (v & ~mask)) & full
    return m - v.bit_count()


def lcs_lengths_reference(a_ids: torch.Tensor, a_lens: torch.Tensor, b_ids: torch.Tensor,
                          b_lens: torch.Tensor) -> torch.Tensor:
    """LCS length of a_ids[i, :a_lens[i]] and b_ids[i, :b_lens[i]] for each row i (int64, on a_ids' device)."""
    a_rows, b_rows = a_ids.tolist(), b_ids.tolist()
    out = [lcs_length_bitparallel(a[:m], b[:n]) for a, b, m, n in zip(a_rows, b_rows, a_lens.tolist(), b_lens.tolist())]
    return torch.tensor(out, dtype=torch.int64, device=a_ids.device)
