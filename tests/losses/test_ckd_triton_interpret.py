"""The fused Triton CKD kernel: agreement with the reference under TRITON_INTERPRET=1, and a compile check.

The interpreter cases live in ckd_triton_cases.py and run in a fresh Python process, because Triton picks
the interpreter for every @triton.jit function (its own tl.sum/tl.max too) when it is first imported, and
other tests in this process may have imported it already. Shapes there are tiny (V=300, 16 tokens, k=8).
"""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

pytest.importorskip("triton")

CASES = Path(__file__).with_name("ckd_triton_cases.py")


def test_triton_kernel_matches_reference_under_interpreter():
    env = {**os.environ, "TRITON_INTERPRET": "1"}
    proc = subprocess.run(
        [sys.executable, "-m", "pytest", "-q", "-x", "-p", "no:cacheprovider", str(CASES)],
        cwd=CASES.parent, env=env, capture_output=True, text=True, timeout=300,
    )
    assert proc.returncode == 0, proc.stdout[-6000:] + proc.stderr[-3000:]
    assert " passed" in proc.stdout and "skipped" not in proc.stdout, proc.stdout[-3000:]


def test_kernel_compiles_for_hopper():
    """Lower the real (not interpreted) kernel to a cubin for sm_90: catches typing errors that the
    interpreter lets through, without a GPU. Skipped where Triton's NVIDIA backend is not installed."""
    import fctrain.kernels.ckd_triton as module
    import triton
    import triton.language as tl
    from triton.backends.compiler import GPUTarget
    from triton.compiler import ASTSource

    if "nvidia" not in triton.backends.backends:
        pytest.skip("triton has no NVIDIA backend here")
    if module.kernel_is_interpreted():
        pytest.skip("TRITON_INTERPRET=1 is set in this process")
    kernel = module._ckd_fwd_bwd_kernel
    pointers = dict(z_ptr="*bf16", grad_ptr="*bf16", lp_ptr="*fp16", ids_ptr="*i64", head_ptr="*i8",
                    label_ptr="*i64", tau_ptr="*fp32", loss_ptr="*fp32", stats_ptr="*fp32", params_ptr="*fp32")
    scalars = dict(z_row_stride="i64", grad_row_stride="i64", teacher_row_stride="i32", V="i32", K="i32")
    consts = dict(KL_TYPE=2, ACC=tl.float32, BLOCK_V=8192, BLOCK_K=128, COMPUTE_GRAD=True)
    signature = {**pointers, **scalars, **{name: "constexpr" for name in consts}}
    signature = {name: signature[name] for name in kernel.arg_names}
    compiled = triton.compile(ASTSource(kernel, signature, consts), target=GPUTarget("cuda", 90, 32),
                              options={"num_warps": 16})
    ptx = compiled.asm["ptx"]
    assert len(compiled.asm["cubin"]) > 0
    assert "atom." not in ptx  # the sparse corrections are plain stores: a deterministic gradient
