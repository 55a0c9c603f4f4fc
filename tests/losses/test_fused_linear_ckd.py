"""fused_linear_ckd_loss (logits never materialised) against the reference on materialised logits."""

from __future__ import annotations

import pytest
import torch

from fctrain.losses import CKDInputError, ckd_loss, fused_linear_ckd_loss


def linear_case(ckd_case, *, dtype=torch.float64, hidden_size=16, bias=True, seed=0):
    case = ckd_case(dtype=dtype, seed=seed)
    gen = torch.Generator().manual_seed(seed + 1)
    vocab = case.logits.shape[-1]
    hidden = torch.randn(*case.mask.shape, hidden_size, generator=gen, dtype=torch.float64)
    weight = torch.randn(vocab, hidden_size, generator=gen, dtype=torch.float64) / hidden_size**0.5 * 3
    b = torch.randn(vocab, generator=gen, dtype=torch.float64) if bias else None
    leaves = [t.to(dtype).requires_grad_(True) if t is not None else None for t in (hidden, weight, b)]
    return case, leaves


def grads_of(loss, tensors):
    return torch.autograd.grad(loss, [t for t in tensors if t is not None])


@pytest.mark.parametrize(("kl_type", "kd_ratio"), [("fkl", 1.0), ("rkl", 0.5), ("akl", 0.9)])
def test_fused_linear_matches_reference_fp64(ckd_case, kl_type, kd_ratio):
    case, (hidden, weight, bias) = linear_case(ckd_case)
    args = (case.teacher_logprobs, case.teacher_ids, case.mask)
    opts = dict(top_m=8, kl_type=kl_type, kd_ratio=kd_ratio, labels=case.labels)
    ref = ckd_loss(hidden @ weight.T + bias, *args, impl="reference", **opts)
    fused, stats = fused_linear_ckd_loss(hidden, weight, *args, bias=bias, impl="chunked", chunk_size=4,
                                         return_stats=True, **opts)
    torch.testing.assert_close(fused, ref, rtol=1e-12, atol=1e-12)
    for got, want in zip(grads_of(fused, (hidden, weight, bias)), grads_of(ref, (hidden, weight, bias))):
        torch.testing.assert_close(got, want, rtol=1e-10, atol=1e-12)
    assert stats["num_tokens"] == int(case.mask.sum())


def test_frozen_head_and_scaled_loss(ckd_case):
    """A frozen lm_head (LoRA) gets no gradient; a scaled loss scales the hidden-state gradient."""
    case, (hidden, weight, _) = linear_case(ckd_case, bias=False)
    weight = weight.detach()
    args = (case.teacher_logprobs, case.teacher_ids, case.mask)
    ref = ckd_loss(hidden @ weight.T, *args, top_m=8, impl="reference")
    (ref_grad,) = torch.autograd.grad(3.0 * ref, hidden)
    fused = fused_linear_ckd_loss(hidden, weight, *args, top_m=8, impl="auto", chunk_size=5)
    (3.0 * fused).backward()
    torch.testing.assert_close(hidden.grad, ref_grad, rtol=1e-10, atol=1e-12)
    assert weight.grad is None


def test_fused_linear_bf16_close_to_reference(ckd_case):
    case, (hidden, weight, bias) = linear_case(ckd_case, dtype=torch.bfloat16)
    args = (case.teacher_logprobs, case.teacher_ids, case.mask)
    logits = torch.addmm(bias, hidden.reshape(-1, hidden.shape[-1]), weight.T)  # one bf16 rounding, as fused
    ref = ckd_loss(logits.view(*hidden.shape[:-1], -1), *args, top_m=8, impl="reference")
    fused = fused_linear_ckd_loss(hidden, weight, *args, bias=bias, top_m=8, impl="chunked", chunk_size=6)
    torch.testing.assert_close(fused, ref, rtol=1e-3, atol=1e-3)
    for got, want in zip(grads_of(fused, (hidden, weight, bias)), grads_of(ref, (hidden, weight, bias))):
        assert got.dtype == torch.bfloat16
        torch.testing.assert_close(got.float(), want.float(), rtol=5e-2, atol=2e-3)


def test_fused_linear_all_masked_and_shape_errors(ckd_case):
    case, (hidden, weight, bias) = linear_case(ckd_case)
    mask = torch.zeros_like(case.mask)
    loss = fused_linear_ckd_loss(hidden, weight, case.teacher_logprobs, case.teacher_ids, mask, bias=bias, top_m=8)
    loss.backward()
    assert loss.item() == 0.0 and not hidden.grad.any() and not weight.grad.any() and not bias.grad.any()
    with pytest.raises(CKDInputError, match=r"lm_head_weight has shape \(300, 15\)"):
        fused_linear_ckd_loss(hidden, weight[:, :15], case.teacher_logprobs, case.teacher_ids, case.mask)
    with pytest.raises(CKDInputError, match="impl='reference'"):
        fused_linear_ckd_loss(hidden, weight, case.teacher_logprobs, case.teacher_ids, case.mask, impl="reference")


def test_second_backward_through_the_same_graph_is_refused(ckd_case):
    case, (hidden, weight, _) = linear_case(ckd_case, bias=False)
    loss = fused_linear_ckd_loss(hidden, weight, case.teacher_logprobs, case.teacher_ids, case.mask, top_m=8)
    loss.backward(retain_graph=True)
    with pytest.raises(RuntimeError, match="one backward per forward"):
        loss.backward()
    logits = torch.randn(4, 300, dtype=torch.float64, requires_grad=True)
    loss = ckd_loss(logits, case.teacher_logprobs[0, :4], case.teacher_ids[0, :4].clamp_min(0), None, top_m=8,
                    impl="chunked")
    loss.backward(retain_graph=True)
    with pytest.raises(RuntimeError, match="one backward per forward"):
        loss.backward()
