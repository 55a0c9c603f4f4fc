"""Triton CKD kernel cases, run under TRITON_INTERPRET=1 by test_ckd_triton_interpret.py in a subprocess.

Not collected on its own (the name does not start with test_): the @triton.jit decorators, including
triton.language's own (tl.sum, tl.max), choose the interpreter when triton is first imported, so these
cases need a fresh interpreter with the variable set before anything imports triton.
"""

from __future__ import annotations

import os

import pytest
import torch

if os.environ.get("TRITON_INTERPRET") != "1":
    pytest.skip("run by test_ckd_triton_interpret.py with TRITON_INTERPRET=1", allow_module_level=True)
pytest.importorskip("triton")

from fctrain.losses import ckd_loss, fused_linear_ckd_loss  # noqa: E402


def test_kernel_is_interpreted():
    from fctrain.kernels.ckd_triton import kernel_is_interpreted

    assert kernel_is_interpreted()


@pytest.mark.parametrize(("kl_type", "kd_ratio"), [("fkl", 1.0), ("rkl", 1.0), ("akl", 1.0), ("fkl", 0.7),
                                                   ("akl", 0.5)])
def test_triton_matches_reference_fp64(ckd_case, run_loss, kl_type, kd_ratio):
    case = ckd_case()  # V=300, 16 tokens (some masked, some with -inf teacher entries), k=8
    args = (case.teacher_logprobs, case.teacher_ids, case.mask)
    opts = dict(top_m=8, lam=10.0, kl_type=kl_type, kd_ratio=kd_ratio, labels=case.labels)
    ref_loss, ref_grad, ref_stats = run_loss(ckd_loss, case.logits, *args, impl="reference", **opts)
    loss, grad, stats = run_loss(ckd_loss, case.logits, *args, impl="triton", chunk_size=7, **opts)
    torch.testing.assert_close(loss, ref_loss, rtol=1e-12, atol=1e-12)
    torch.testing.assert_close(grad, ref_grad, rtol=1e-10, atol=1e-13)
    for name in ("fkl", "mistake", "entropy", "ce"):
        torch.testing.assert_close(stats[name], ref_stats[name], rtol=1e-12, atol=1e-12)


def test_triton_bf16_all_masked_and_no_grad(ckd_case, run_loss):
    case = ckd_case(dtype=torch.bfloat16)
    args = (case.teacher_logprobs, case.teacher_ids, case.mask)
    ref_loss, ref_grad, _ = run_loss(ckd_loss, case.logits, *args, top_m=8, impl="reference")
    loss, grad, _ = run_loss(ckd_loss, case.logits, *args, top_m=8, impl="triton")
    torch.testing.assert_close(loss, ref_loss, rtol=1e-5, atol=1e-5)
    torch.testing.assert_close(grad.float(), ref_grad.float(), rtol=2e-2, atol=1e-4)

    nothing = torch.zeros_like(case.mask)
    loss, grad, _ = run_loss(ckd_loss, case.logits, case.teacher_logprobs, case.teacher_ids, nothing, top_m=8,
                             impl="triton")
    assert loss.item() == 0.0 and not grad.any()

    with torch.no_grad():
        value = ckd_loss(*((case.logits,) + args), top_m=8, impl="triton")
    torch.testing.assert_close(value, ref_loss, rtol=1e-5, atol=1e-5)


def test_triton_fused_linear_matches_reference(ckd_case):
    case = ckd_case(seed=3)
    gen = torch.Generator().manual_seed(4)
    hidden = torch.randn(*case.mask.shape, 16, generator=gen, dtype=torch.float64, requires_grad=True)
    weight = torch.randn(300, 16, generator=gen, dtype=torch.float64, requires_grad=True)
    args = (case.teacher_logprobs, case.teacher_ids, case.mask)
    ref = ckd_loss(hidden @ weight.T, *args, top_m=8, kl_type="akl", kd_ratio=0.8, impl="reference")
    fused = fused_linear_ckd_loss(hidden, weight, *args, top_m=8, kl_type="akl", kd_ratio=0.8, impl="triton",
                                  chunk_size=5)
    torch.testing.assert_close(fused, ref, rtol=1e-12, atol=1e-12)
    for got, want in zip(torch.autograd.grad(fused, (hidden, weight)), torch.autograd.grad(ref, (hidden, weight))):
        torch.testing.assert_close(got, want, rtol=1e-10, atol=1e-12)



@pytest.mark.parametrize("kl_type", ["fkl", "akl"])
def test_triton_label_among_the_teacher_ids_or_not(ckd_case, run_loss, kl_type):
    """The CE term lands on the label whether or not it is one of the teacher ids (the kernel writes those
    entries with plain stores, no atomics, so it must place the label's term itself)."""
    case = ckd_case(seed=5)
    labels = case.labels.clone()
    labels[1] = case.teacher_ids[1, :, 2]  # row 1: a teacher id (row 1 has no padding); row 0: random labels
    args = (case.teacher_logprobs, case.teacher_ids, case.mask)
    opts = dict(top_m=8, kl_type=kl_type, kd_ratio=0.6, labels=labels)
    ref_loss, ref_grad, _ = run_loss(ckd_loss, case.logits, *args, impl="reference", **opts)
    loss, grad, _ = run_loss(ckd_loss, case.logits, *args, impl="triton", chunk_size=5, **opts)
    torch.testing.assert_close(loss, ref_loss, rtol=1e-12, atol=1e-12)
    torch.testing.assert_close(grad, ref_grad, rtol=1e-10, atol=1e-13)
