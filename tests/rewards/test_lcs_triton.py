"""The Triton LCS kernel, run by Triton's interpreter on CPU, against the CPU references.

TRITON_INTERPRET must be set before triton itself is imported (triton's own tl.sum etc. are @jit functions
decorated at import), and other tests in the same session may already have imported it. So the kernel
checks (`check_*` below) run in a fresh interpreter: `test_kernel_checks_under_interpreter` starts this
file as a script with TRITON_INTERPRET=1.
"""

from __future__ import annotations

import importlib.util
import os
import random
import subprocess
import sys

import pytest
import torch
from fctrain.kernels.lcs_reference import lcs_length_bitparallel, lcs_length_dp, lcs_lengths_reference


def batch(rows_a, rows_b):
    def pad(rows):
        lens = torch.tensor([len(r) for r in rows], dtype=torch.int32)
        ids = torch.full((len(rows), max(1, max(map(len, rows)))), -7, dtype=torch.int32)
        for i, r in enumerate(rows):
            ids[i, : len(r)] = torch.tensor(r, dtype=torch.int32)
        return ids, lens

    return (*pad(rows_a), *pad(rows_b))


def test_references_agree():
    rng = random.Random(0)
    for _ in range(300):
        a = [rng.randint(0, 3) for _ in range(rng.randint(0, 150))]
        b = [rng.randint(0, 3) for _ in range(rng.randint(0, 40))]
        assert lcs_length_bitparallel(a, b) == lcs_length_dp(a, b)


def check_kernel_matches_cpu_path_at_word_boundaries(interpreted):
    rng = random.Random(1)
    lengths = [0, 1, 63, 64, 65, 128, 129, 200]
    rows_a = [[rng.randint(0, 2) for _ in range(m)] for m in lengths]
    rows_b = [[rng.randint(0, 2) for _ in range(rng.randint(0, 8))] for _ in lengths]
    # runs of one symbol make the additions carry across whole words
    rows_a += [[7] * 130, [1, 2] * 70, [5] * 64 + [6] * 64 + [5]]
    rows_b += [[7] * 6, [2, 1] * 3, [6, 5, 6, 5, 5]]
    rows_b[1] = []  # empty b
    args = batch(rows_a, rows_b)
    got = interpreted.lcs_lengths(*args, impl="triton")
    want = lcs_lengths_reference(*args)
    assert got.dtype == torch.int64 and got.tolist() == want.tolist()
    assert got.tolist() == [lcs_length_dp(a, b) for a, b in zip(rows_a, rows_b)]


def check_kernel_with_ids_that_look_like_padding(interpreted):
    # 0 and the padding value must never match beyond a row's length
    rows_a, rows_b = [[0, 0], [3]], [[0, 0, 0, -7], [-7, 3]]
    assert interpreted.lcs_lengths(*batch(rows_a, rows_b), impl="triton").tolist() == [2, 1]


def check_rouge_batch_through_the_kernel_equals_rapidfuzz_path(interpreted):
    from fctrain.rewards.rouge import rouge_l_f1, rouge_l_f1_batch

    rng = random.Random(2)
    words = "run runs running the a of fox foxes hotel hotels paris rome 1 2".split()
    pairs = [(" ".join(rng.choices(words, k=rng.randint(0, 8))), " ".join(rng.choices(words, k=rng.randint(0, 70))))
             for _ in range(8)]
    assert rouge_l_f1_batch(pairs, impl="triton") == [rouge_l_f1(p, r) for p, r in pairs]


def check_similarity_rewards_gpu_path_equals_cpu_path(interpreted):
    import importlib

    from fctrain.rewards.rouge import rouge_l_f1_batch

    module = importlib.import_module("fctrain.rewards.similarity_reward")  # the attribute is the function

    tools = [{"name": "s", "parameters": {"type": "object", "properties": {"q": {}, "n": {}}}}]
    reference = {"content": None, "tool_calls": [{"name": "s", "arguments": {"q": "cheap hotels in Paris", "n": 2}},
                                                 {"name": "s", "arguments": {"q": "running shoes", "n": 1}}]}
    completions = [
        '<think>x</think><tool_call>{"name": "s", "arguments": {"q": "hotels Paris", "n": 2}}</tool_call>',
        '<think>x</think><tool_call>{"name": "s", "arguments": {"q": "run shoe"}}</tool_call>'
        '<tool_call>{"name": "s", "arguments": {"q": "cheap hotel", "n": 1}}</tool_call>',
        "<think>x</think>no calls",
        "broken",
    ]
    references, tools_list = [reference] * 4, [tools] * 4
    cpu = module.similarity_rewards(completions, references, tools_list)
    # the CUDA code path, with the kernel interpreted on CPU tensors
    module.rouge_l_f1_batch = lambda pairs, device: rouge_l_f1_batch(pairs, device="cpu", impl="triton")
    gpu = module.similarity_rewards(completions, references, tools_list, device="cuda")
    assert gpu == cpu and 0 < cpu[0].score < 1


def test_dispatch_on_cpu_uses_reference_and_checks_shapes():
    from fctrain.kernels.lcs_triton import lcs_lengths

    args = batch([[1, 2, 3]], [[3, 2, 1, 2, 3]])
    assert lcs_lengths(*args).tolist() == [3]
    with pytest.raises(ValueError, match="impl"):
        lcs_lengths(*args, impl="cuda")
    with pytest.raises(ValueError, match="batch sizes"):
        lcs_lengths(args[0], args[1], args[2][:0], args[3][:0])


@pytest.mark.skipif(importlib.util.find_spec("triton") is None, reason="triton is not installed")
def test_kernel_checks_under_interpreter():
    env = {**os.environ, "TRITON_INTERPRET": "1"}
    proc = subprocess.run([sys.executable, __file__], env=env, capture_output=True, text=True, timeout=600)
    assert proc.returncode == 0, proc.stdout[-3000:] + proc.stderr[-6000:]
    assert proc.stdout.count("ok ") == 4, proc.stdout


if __name__ == "__main__":
    assert os.environ.get("TRITON_INTERPRET") == "1"
    import fctrain.kernels.lcs_triton as kernel_module

    assert type(kernel_module._lcs_kernel).__name__ == "InterpretedFunction"
    for name, check in list(globals().items()):
        if name.startswith("check_"):
            check(kernel_module)
            print("ok", name, flush=True)
