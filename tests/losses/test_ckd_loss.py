"""CKD loss: the reference against hand-computed values, and the chunked path against the reference."""

from __future__ import annotations

import math

import pytest
import torch
import torch.nn.functional as F

from fctrain.errors import ConfigError
from fctrain.losses import CKDInputError, CKDLoss, ckd_loss
from fctrain.losses.ckd_common import akl_head_mask

TORCH_IMPLS = ("reference", "chunked")
LN2 = math.log(2.0)


def hand_case():
    """One token, V=6: q = [.4,.25,.15,.1,.06,.04]; T_k = {1: .5, 2: .3}; with m=2, S_m = {0, 1}."""
    q = torch.tensor([0.4, 0.25, 0.15, 0.1, 0.06, 0.04], dtype=torch.float64)
    logits = q.log().view(1, 6)
    teacher_lp = torch.tensor([[0.5, 0.3]], dtype=torch.float64).log()
    teacher_ids = torch.tensor([[1, 2]])
    return logits, teacher_lp, teacher_ids, torch.ones(1, dtype=torch.bool)


@pytest.mark.parametrize("impl", TORCH_IMPLS)
@pytest.mark.parametrize(
    ("kl_type", "kd_ratio", "expected"),
    [
        # FKL = .5 ln(.5/.25) + .3 ln(.3/.15) = .8 ln2; Mistake = q(0) = .4 (token 0 is in S_m, not in T_k).
        ("fkl", 1.0, 0.8 * LN2 + 10 * 0.4),
        # RKL = .25 ln(.25/.5) + .15 ln(.15/.3) = -.4 ln2 (top-k truncation makes it negative).
        ("rkl", 1.0, -0.4 * LN2 + 10 * 0.4),
        # AKL: head = {id 1} (mass before it 0 < .5; before id 2 it is .5). g_head=.25, g_tail=.15.
        ("akl", 1.0, (0.25 * 0.8 * LN2 + 0.15 * -0.4 * LN2) / 0.4 + 10 * 0.4),
        # kd_ratio .5: half CKD, half CE on the teacher's top-1 token (id 1): -ln .25 = 2 ln2.
        ("fkl", 0.5, 0.5 * (0.8 * LN2 + 4.0) + 0.5 * 2 * LN2),
    ],
)
def test_hand_computed_values(impl, kl_type, kd_ratio, expected):
    logits, lp, ids, mask = hand_case()
    loss, stats = ckd_loss(
        logits, lp, ids, mask, top_m=2, lam=10.0, kl_type=kl_type, kd_ratio=kd_ratio, impl=impl, return_stats=True
    )
    assert loss.item() == pytest.approx(expected, abs=1e-12)
    assert stats["fkl"].item() == pytest.approx(0.8 * LN2, abs=1e-12)
    assert stats["mistake"].item() == pytest.approx(0.4, abs=1e-12)
    assert stats["ce"].item() == pytest.approx(2 * LN2, abs=1e-12)
    q = logits.exp()
    assert stats["entropy"].item() == pytest.approx(-(q * q.log()).sum().item(), abs=1e-12)
    assert stats["num_tokens"] == 1


@pytest.mark.parametrize("impl", TORCH_IMPLS)
def test_no_mistake_when_student_top_m_inside_teacher_top_k(impl):
    logits, lp, _, mask = hand_case()
    ids = torch.tensor([[0, 1]])  # the student's top-2 are exactly the teacher's top-2
    _, stats = ckd_loss(logits, lp, ids, mask, top_m=2, impl=impl, return_stats=True)
    assert stats["mistake"].item() == pytest.approx(0.0, abs=1e-15)


def test_akl_head_is_prefix_up_to_half_mass():
    p = torch.tensor([[0.1, 0.3, 0.4, 0.2], [0.6, 0.2, 0.1, 0.05]], dtype=torch.float64)
    head = akl_head_mask(p.log())
    # row 0 sorted: .4 (before: 0), .3 (before: .4 -> reaches .7, included), .2 (before .7: tail), .1
    assert head.tolist() == [[False, True, True, False], [True, False, False, False]]


@pytest.mark.parametrize("kl_type", ["fkl", "rkl", "akl"])
@pytest.mark.parametrize("kd_ratio", [1.0, 0.7])
def test_chunked_matches_reference_fp64(ckd_case, run_loss, kl_type, kd_ratio):
    case = ckd_case()
    args = (case.teacher_logprobs, case.teacher_ids, case.mask)
    opts = dict(top_m=8, lam=10.0, kl_type=kl_type, kd_ratio=kd_ratio, labels=case.labels)
    ref_loss, ref_grad, ref_stats = run_loss(ckd_loss, case.logits, *args, impl="reference", **opts)
    loss, grad, stats = run_loss(ckd_loss, case.logits, *args, impl="chunked", chunk_size=3, **opts)
    torch.testing.assert_close(loss, ref_loss, rtol=1e-12, atol=1e-12)
    torch.testing.assert_close(grad, ref_grad, rtol=1e-10, atol=1e-13)
    for name in ("fkl", "mistake", "entropy", "ce"):
        torch.testing.assert_close(stats[name], ref_stats[name], rtol=1e-12, atol=1e-12)
    assert ref_grad[~case.mask].abs().max() == 0  # masked tokens get no gradient
    assert ref_grad[case.mask].abs().max() > 0


@pytest.mark.parametrize("kl_type", ["fkl", "akl"])
def test_reference_gradient_passes_gradcheck(ckd_case, kl_type):
    case = ckd_case(batch=1, seq=3, vocab=20, k=4, pad_entries=1)
    logits = case.logits.detach().requires_grad_(True)

    def f(z):
        return ckd_loss(z, case.teacher_logprobs, case.teacher_ids, case.mask, top_m=3, kl_type=kl_type,
                        kd_ratio=0.8, impl="reference")

    assert torch.autograd.gradcheck(f, (logits,))


def test_bf16_chunked_matches_reference(ckd_case, run_loss):
    case = ckd_case(dtype=torch.bfloat16)
    args = (case.teacher_logprobs, case.teacher_ids, case.mask)
    ref_loss, ref_grad, _ = run_loss(ckd_loss, case.logits, *args, top_m=8, impl="reference")
    loss, grad, _ = run_loss(ckd_loss, case.logits, *args, top_m=8, impl="chunked", chunk_size=5)
    assert loss.dtype == torch.float32 and grad.dtype == torch.bfloat16
    torch.testing.assert_close(loss, ref_loss, rtol=1e-5, atol=1e-5)
    torch.testing.assert_close(grad.float(), ref_grad.float(), rtol=2e-2, atol=1e-4)


@pytest.mark.parametrize("impl", TORCH_IMPLS)
def test_all_masked_batch_gives_zero_and_zero_grad(ckd_case, run_loss, impl):
    case = ckd_case()
    mask = torch.zeros_like(case.mask)
    loss, grad, stats = run_loss(ckd_loss, case.logits, case.teacher_logprobs, case.teacher_ids, mask,
                                 top_m=8, impl=impl)
    assert loss.item() == 0.0 and stats["num_tokens"] == 0
    assert torch.equal(grad, torch.zeros_like(grad))


@pytest.mark.parametrize("impl", TORCH_IMPLS)
@pytest.mark.parametrize("kl_type", ["fkl", "rkl", "akl"])
def test_neg_inf_teacher_entries_equal_a_shorter_top_k(ckd_case, run_loss, impl, kl_type):
    """-inf entries are padding: the loss equals the one with those entries removed, and is finite."""
    case = ckd_case(batch=1, seq=4, pad_entries=3, masked_fraction=0.0)
    lp, ids = case.teacher_logprobs[:, :3], case.teacher_ids[:, :3]  # first 3 tokens padded in 3 entries
    loss, grad, _ = run_loss(ckd_loss, case.logits[:, :3], lp, ids, None, top_m=8, kl_type=kl_type, impl=impl)
    short_loss, short_grad, _ = run_loss(ckd_loss, case.logits[:, :3], lp[..., 3:], ids[..., 3:], None,
                                         top_m=8, kl_type=kl_type, impl="reference")
    assert torch.isfinite(loss) and torch.isfinite(grad).all()
    torch.testing.assert_close(loss, short_loss, rtol=1e-12, atol=1e-12)
    torch.testing.assert_close(grad, short_grad, rtol=1e-10, atol=1e-13)


@pytest.mark.parametrize("impl", TORCH_IMPLS)
def test_kd_ratio_zero_is_cross_entropy_on_teacher_top1(ckd_case, impl):
    case = ckd_case()
    loss = ckd_loss(case.logits, case.teacher_logprobs, case.teacher_ids, case.mask, kd_ratio=0.0, top_m=8,
                    impl=impl)
    top1 = case.teacher_ids.gather(-1, case.teacher_logprobs.argmax(-1, keepdim=True)).squeeze(-1)
    expected = F.cross_entropy(case.logits[case.mask], top1[case.mask])
    torch.testing.assert_close(loss, expected, rtol=1e-12, atol=1e-12)
    with_labels = ckd_loss(case.logits, case.teacher_logprobs, case.teacher_ids, case.mask, kd_ratio=0.0,
                           top_m=8, labels=case.labels, impl=impl)
    torch.testing.assert_close(with_labels, F.cross_entropy(case.logits[case.mask], case.labels[case.mask]))


def test_flat_tokens_and_module_agree_with_batched(ckd_case):
    case = ckd_case()
    v, k = case.logits.shape[-1], case.teacher_ids.shape[-1]
    batched = ckd_loss(case.logits, case.teacher_logprobs, case.teacher_ids, case.mask, top_m=8, impl="chunked")
    flat = ckd_loss(case.logits.reshape(-1, v), case.teacher_logprobs.reshape(-1, k),
                    case.teacher_ids.reshape(-1, k), case.mask.reshape(-1).long(), top_m=8, impl="chunked")
    module = CKDLoss(top_m=8, impl="reference")(case.logits, case.teacher_logprobs, case.teacher_ids, case.mask)
    torch.testing.assert_close(flat, batched, rtol=1e-12, atol=1e-12)
    torch.testing.assert_close(module, batched, rtol=1e-12, atol=1e-12)


@pytest.mark.parametrize("impl", TORCH_IMPLS)
def test_non_contiguous_logits_and_no_mistake_term(ckd_case, run_loss, impl):
    """A shifted view logits[:, :-1] (not viewable as [tokens, V]) works; top_m=0 leaves FKL alone."""
    case = ckd_case()
    wide = torch.cat([case.logits, case.logits[:, :1]], dim=1)[:, :-1]
    assert not wide.is_contiguous()
    args = (case.teacher_logprobs, case.teacher_ids, case.mask)
    view_loss, view_grad, _ = run_loss(ckd_loss, wide, *args, top_m=8, impl=impl, chunk_size=4)
    loss, grad, _ = run_loss(ckd_loss, case.logits.contiguous(), *args, top_m=8, impl="reference")
    torch.testing.assert_close(view_loss, loss, rtol=1e-12, atol=1e-12)
    torch.testing.assert_close(view_grad, grad, rtol=1e-10, atol=1e-13)
    value, stats = ckd_loss(case.logits, *args, top_m=0, impl=impl, return_stats=True)
    assert stats["mistake"].item() == 0.0
    torch.testing.assert_close(value, stats["fkl"], rtol=1e-12, atol=1e-12)


def test_no_grad_inputs_return_the_same_value(ckd_case):
    case = ckd_case()
    args = (case.logits, case.teacher_logprobs, case.teacher_ids, case.mask)
    before = case.logits.clone()
    with torch.no_grad():
        value = ckd_loss(*args, top_m=8, impl="chunked")
    torch.testing.assert_close(value, ckd_loss(*args, top_m=8, impl="reference"), rtol=1e-12, atol=1e-12)
    ckd_loss(case.logits.reshape(-1, 300), case.teacher_logprobs.reshape(-1, 8),
             case.teacher_ids.reshape(-1, 8), None, top_m=8, impl="chunked")
    assert torch.equal(case.logits, before)  # the chunked path works on copies of the rows, never in place


@pytest.mark.parametrize("impl", ["reference", "chunked", "auto"])
def test_k_or_m_larger_than_vocab_is_a_clear_error(ckd_case, impl):
    case = ckd_case(vocab=10, k=8)
    with pytest.raises(ValueError, match=r"top_m=11 is larger than the vocabulary \(10"):
        ckd_loss(case.logits, case.teacher_logprobs, case.teacher_ids, case.mask, top_m=11, impl=impl)
    wide_lp = torch.zeros(*case.logits.shape[:-1], 11, dtype=torch.float64)
    wide_ids = torch.zeros(*case.logits.shape[:-1], 11, dtype=torch.long)
    with pytest.raises(CKDInputError, match=r"k=11 entries per token; expected 1 <= k <= vocabulary size \(10\)"):
        ckd_loss(case.logits, wide_lp, wide_ids, case.mask, top_m=2, impl=impl)


@pytest.mark.parametrize(
    ("change", "message"),
    [
        (dict(kl_type="jsd"), "kl_type='jsd'"),
        (dict(kd_ratio=1.5), "kd_ratio=1.5"),
        (dict(impl="cuda"), "impl='cuda'"),
        (dict(chunk_size=0), "chunk_size=0"),
        (dict(mask=torch.ones(3, dtype=torch.bool)), "mask has shape"),
        (dict(student_logits=torch.zeros(2, 7, 300, dtype=torch.float64)), "leading shape"),
        (dict(teacher_topk_ids=torch.full((2, 8, 8), 300)), r"outside \[0, 300\)"),
        (dict(teacher_topk_ids=torch.arange(8).repeat(2, 8, 1) // 2), "repeats an id"),
        (dict(impl="triton") if not torch.cuda.is_available() else dict(kl_type="x"), "impl='triton'|kl_type"),
    ],
)
def test_bad_arguments_raise_config_errors(ckd_case, change, message):
    case = ckd_case()
    kwargs = dict(student_logits=case.logits, teacher_topk_logprobs=case.teacher_logprobs,
                  teacher_topk_ids=case.teacher_ids, mask=case.mask, top_m=8)
    kwargs.update(change)
    with pytest.raises(ConfigError, match=message):
        ckd_loss(**kwargs)
