"""The Triton kernels compiled for a real GPU, against the torch references, at the vocabulary size they serve.

Skipped without CUDA (CI and every laptop); the interpreter tests cover the same code paths there at tiny
shapes. Run on a GPU machine with `pytest tests/gpu -q` (docs/benchmarks.md records the last run).
"""

from __future__ import annotations

import random

import pytest
import torch

if not torch.cuda.is_available():
    pytest.skip("needs a CUDA device", allow_module_level=True)
pytest.importorskip("triton")

from fctrain.losses import ckd_loss, fused_linear_ckd_loss  # noqa: E402

QWEN_VOCAB = 151_936


def teacher_top_k(n: int, vocab: int, k: int, gen: torch.Generator):
    """A real top-k of random teacher logits: log-probs and ids, [n, k]."""
    logits = torch.randn(n, vocab, device="cuda", generator=gen) * 3
    return torch.log_softmax(logits, -1).topk(k, dim=-1)


def loss_and_grad(fn, logits, *args, **kwargs):
    leaf = logits.detach().clone().requires_grad_(True)
    loss, stats = fn(leaf, *args, return_stats=True, **kwargs)
    loss.backward()
    return loss.detach(), leaf.grad, stats


@pytest.mark.parametrize(("kl_type", "kd_ratio"), [("fkl", 1.0), ("rkl", 1.0), ("akl", 1.0), ("fkl", 0.5)])
def test_ckd_triton_matches_reference_fp32(kl_type, kd_ratio):
    gen = torch.Generator(device="cuda").manual_seed(0)
    n, k = 96, 100
    lp, ids = teacher_top_k(n, QWEN_VOCAB, k, gen)
    logits = torch.randn(n, QWEN_VOCAB, device="cuda", generator=gen) * 2
    mask = torch.rand(n, device="cuda", generator=gen) > 0.2
    # half the labels are a teacher id (the CE term joins that entry's correction), half are not
    random_labels = torch.randint(0, QWEN_VOCAB, (n,), device="cuda", generator=gen)
    labels = torch.where(torch.arange(n, device="cuda") % 2 == 0, ids[:, 0], random_labels)
    opts = dict(top_m=100, lam=10.0, kl_type=kl_type, kd_ratio=kd_ratio, labels=labels)
    # The reference in float64 on the same values: the kernel's fp32 accumulation is what is being judged.
    ref_loss, ref_grad, ref_stats = loss_and_grad(ckd_loss, logits.double(), lp.double(), ids, mask,
                                                  impl="reference", **opts)
    loss, grad, stats = loss_and_grad(ckd_loss, logits, lp, ids, mask, impl="triton", **opts)
    assert grad.dtype == torch.float32
    torch.testing.assert_close(loss.double(), ref_loss, rtol=1e-5, atol=1e-6)
    torch.testing.assert_close(grad.double(), ref_grad, rtol=1e-4, atol=1e-8)
    for name in ("fkl", "mistake", "entropy", "ce"):
        torch.testing.assert_close(stats[name].double(), ref_stats[name], rtol=1e-4, atol=1e-5)


def test_ckd_triton_bf16_logits_match_reference():
    gen = torch.Generator(device="cuda").manual_seed(1)
    n, k = 64, 100
    lp, ids = teacher_top_k(n, QWEN_VOCAB, k, gen)
    logits = (torch.randn(n, QWEN_VOCAB, device="cuda", generator=gen) * 2).bfloat16()
    mask = torch.ones(n, dtype=torch.bool, device="cuda")
    ref_loss, ref_grad, _ = loss_and_grad(ckd_loss, logits, lp, ids, mask, top_m=100, impl="reference")
    loss, grad, _ = loss_and_grad(ckd_loss, logits, lp, ids, mask, top_m=100, impl="triton")
    assert grad.dtype == torch.bfloat16
    torch.testing.assert_close(loss, ref_loss, rtol=1e-3, atol=1e-4)
    torch.testing.assert_close(grad.float(), ref_grad.float(), rtol=2e-2, atol=1e-5)


def test_fused_linear_triton_matches_reference_loss_and_grads():
    gen = torch.Generator(device="cuda").manual_seed(2)
    n, hidden, k = 200, 256, 64
    lp, ids = teacher_top_k(n, QWEN_VOCAB, k, gen)
    h = torch.randn(n, hidden, device="cuda", generator=gen, requires_grad=True)
    w = (torch.randn(QWEN_VOCAB, hidden, device="cuda", generator=gen) * hidden**-0.5).requires_grad_(True)
    mask = torch.rand(n, device="cuda", generator=gen) > 0.1
    opts = dict(top_m=100, kl_type="akl", kd_ratio=0.8, labels=ids[:, 0].clone())
    ref = ckd_loss(h @ w.T, lp, ids, mask, impl="reference", **opts)
    fused = fused_linear_ckd_loss(h, w, lp, ids, mask, impl="triton", chunk_size=48, **opts)
    torch.testing.assert_close(fused, ref, rtol=1e-5, atol=1e-6)
    for got, want in zip(torch.autograd.grad(fused, (h, w)), torch.autograd.grad(ref, (h, w))):
        torch.testing.assert_close(got, want, rtol=1e-3, atol=1e-6)


def test_fused_linear_bf16_matches_reference():
    """The training path: bf16 hidden states and lm_head, the gradient written in bf16 over each chunk's logits."""
    gen = torch.Generator(device="cuda").manual_seed(3)
    n, hidden, k = 300, 512, 100
    lp, ids = teacher_top_k(n, QWEN_VOCAB, k, gen)
    h = torch.randn(n, hidden, device="cuda", generator=gen).bfloat16().requires_grad_(True)
    w = (torch.randn(QWEN_VOCAB, hidden, device="cuda", generator=gen) * hidden**-0.5).bfloat16().requires_grad_(True)
    ref = ckd_loss(h @ w.T, lp, ids, None, impl="reference")
    fused = fused_linear_ckd_loss(h, w, lp, ids, None, impl="triton", chunk_size=128)
    torch.testing.assert_close(fused, ref, rtol=1e-3, atol=1e-4)
    for got, want in zip(torch.autograd.grad(fused, (h, w)), torch.autograd.grad(ref, (h, w))):
        assert got.dtype == torch.bfloat16
        torch.testing.assert_close(got.float(), want.float(), rtol=5e-2, atol=1e-4)


def test_lcs_kernel_on_cuda_matches_dynamic_programming():
    from fctrain.kernels.lcs_reference import lcs_length_dp
    from fctrain.kernels.lcs_triton import lcs_lengths

    rng = random.Random(0)
    lengths = [0, 1, 31, 32, 63, 64, 65, 127, 128, 129, 300, 700]
    rows_a = [[rng.randint(0, 5) for _ in range(m)] for m in lengths * 4]
    rows_b = [[rng.randint(0, 5) for _ in range(rng.randint(0, 90))] for _ in rows_a]

    def pad(rows):
        lens = torch.tensor([len(r) for r in rows], dtype=torch.int32)
        ids = torch.full((len(rows), max(map(len, rows))), -7, dtype=torch.int32)
        for i, r in enumerate(rows):
            ids[i, : len(r)] = torch.tensor(r, dtype=torch.int32)
        return ids.cuda(), lens.cuda()

    got = lcs_lengths(*pad(rows_a), *pad(rows_b), impl="triton")
    assert got.is_cuda
    assert got.tolist() == [lcs_length_dp(a, b) for a, b in zip(rows_a, rows_b)]


def test_similarity_rewards_on_cuda_equal_the_cpu_path():
    from fctrain.rewards import rouge
    from fctrain.rewards.similarity_reward import similarity_rewards

    tools = [{"name": "search", "parameters": {"type": "object", "properties": {"q": {}, "n": {}}}}]
    words = "cheap hotels hotel in near paris rome running shoes shoe the a best budget".split()
    rng = random.Random(1)
    completions, references = [], []
    for _ in range(300):
        ref_q, pred_q = " ".join(rng.choices(words, k=rng.randint(1, 12))), " ".join(rng.choices(words, k=8))
        references.append({"content": None, "tool_calls": [{"name": "search", "arguments": {"q": ref_q, "n": 2}}]})
        completions.append(f'<tool_call>\n{{"name": "search", "arguments": {{"q": "{pred_q}", "n": 2}}}}\n'
                           "</tool_call>")
    references.append({"content": " ".join(rng.choices(words, k=200)), "tool_calls": []})
    completions.append(" ".join(rng.choices(words, k=150)))
    rouge.clear_caches()
    cpu = similarity_rewards(completions, references, [tools] * len(references), think=False)
    rouge.clear_caches()
    gpu = similarity_rewards(completions, references, [tools] * len(references), think=False, device="cuda")
    assert gpu == cpu
    assert len({r.score for r in cpu}) > 10  # the batch exercises many distinct similarities
