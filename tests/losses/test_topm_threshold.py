"""student_topm_threshold (segment maxima, then a top-m of the candidates) equals a plain top-m's m-th value."""

from __future__ import annotations

import pytest
import torch

from fctrain.losses.ckd_common import student_topm_threshold


def plain(logits, m):
    return logits.topk(m, dim=-1).values.amin(-1)


@pytest.mark.parametrize("dtype", [torch.float32, torch.bfloat16, torch.float64])
@pytest.mark.parametrize(("vocab", "m"), [(300, 8), (1000, 1), (4099, 20), (50_000, 100), (2048, 600)])
def test_equals_plain_topk(dtype, vocab, m):
    gen = torch.Generator().manual_seed(vocab + m)
    logits = (torch.randn(6, 5, vocab, generator=gen) * 4).to(dtype)
    torch.testing.assert_close(student_topm_threshold(logits, m), plain(logits, m), rtol=0, atol=0)


@pytest.mark.parametrize("m", [1, 7, 64, 100])
def test_ties_and_infinities(m):
    """Integer logits from a small range (every value repeated hundreds of times, as bf16 rounding does near
    the top of a 152k vocabulary), -inf entries, a row of one value, and a non-contiguous view."""
    gen = torch.Generator().manual_seed(m)
    logits = torch.randint(-20, 4, (4, 8, 20_001), generator=gen).float()
    logits[0, 0, ::3] = float("-inf")
    logits[1, 1] = 2.5  # a constant row
    logits[2, :, 5000:] = float("-inf")  # most of the row ruled out
    view = logits[:, 1:, :-7]  # not contiguous, and the vocabulary no longer a multiple of the segment length
    assert not view.is_contiguous()
    torch.testing.assert_close(student_topm_threshold(view, m), plain(view, m), rtol=0, atol=0)
    torch.testing.assert_close(student_topm_threshold(logits, m), plain(logits, m), rtol=0, atol=0)


def test_no_gradient_graph_and_empty_top():
    logits = torch.randn(3, 10_000, requires_grad=True)
    assert not student_topm_threshold(logits, 50).requires_grad
    assert torch.isinf(student_topm_threshold(logits, 0)).all()
