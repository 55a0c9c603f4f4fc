"""Benchmark the CKD loss: time and peak extra memory of forward+backward from hidden states.

Methods (all start from hidden [N, H] and lm_head W [V, H] and end with grads of both):
  naive    logits = h W^T, full-vocab log_softmax for every token, softmax, student top-m with torch.topk,
           [N, m, k] membership test against the teacher ids; autograd (the shape of STAR's published code)
  chunked  logits = h W^T materialised, then ckd_loss(impl="chunked") (closed-form grad per token chunk)
  triton   logits = h W^T materialised, then ckd_loss(impl="triton") (CUDA only)
  fused    fused_linear_ckd_loss: logits only ever exist one chunk at a time (Triton on CUDA, torch on CPU)
  matmul   the lm_head matmuls alone (h W^T, g W, g^T h): the compute floor

Every (method, N) runs in a fresh Python process. Peak extra memory is measured above the baseline with the
inputs (h, W, teacher top-k) allocated: on CUDA torch.cuda.max_memory_allocated() after a reset; on CPU the
process's peak resident set (VmHWM, reset through /proc/self/clear_refs) minus the resident set before the
step. Both include the gradients the step produces (grad_W is [V, H], the same for every method).

    python scripts/bench_ckd.py --device cpu                # N in 256, 1024, 4096
    python scripts/bench_ckd.py --device cuda               # N in 1024, 4096, 16384
    python scripts/bench_ckd.py --device cpu --write-docs   # also replace the "CKD loss" section of docs/benchmarks.md
    python scripts/bench_ckd.py --device cuda --write-docs  # the "CKD loss on GPU" section (the CPU one stays)
    python scripts/bench_ckd.py --device cuda --breakdown   # where the fused-linear path's time goes
"""

from __future__ import annotations

import argparse
import json
import math
import os
import platform
import re
import subprocess
import sys
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
DOCS = REPO / "docs" / "benchmarks.md"
SECTION = "## CKD loss"
GPU_SECTION = "## CKD loss on GPU"


# --------------------------------------------------------------------------------------------- child side
def naive_ckd_loss(logits, teacher_lp, teacher_ids, top_m, lam):
    """Full-vocab log_softmax for every token plus a student top-m, as in STAR's published code."""
    import torch.nn.functional as F

    log_q = F.log_softmax(logits.float(), dim=-1)  # [N, V]
    fkl = (teacher_lp.exp() * (teacher_lp - log_q.gather(-1, teacher_ids))).sum(-1)
    q = log_q.exp()  # [N, V]
    top_q, top_ids = q.topk(top_m, dim=-1)
    in_teacher = (top_ids.unsqueeze(-1) == teacher_ids.unsqueeze(-2)).any(-1)  # [N, m, k] compare
    mistake = (top_q * ~in_teacher).sum(-1)
    return (fkl + lam * mistake).mean()


def make_inputs(n, args, device, dtype):
    import torch

    gen = torch.Generator(device=device).manual_seed(0)
    hidden = torch.randn(n, args.hidden, device=device, dtype=dtype, generator=gen)
    weight = torch.randn(args.vocab, args.hidden, device=device, dtype=dtype, generator=gen) * args.hidden**-0.5
    # A plausible teacher: log-probs of a top-k with a heavy head (sum of p about 0.95), ids random.
    raw = torch.randn(n, args.k, device=device, generator=gen) * 2
    teacher_lp = (torch.log_softmax(raw, -1) + torch.log(torch.tensor(0.95))).sort(-1, descending=True).values
    # Distinct ids per token, as in a real top-k: a random start plus k steps coprime to V.
    step = next(s for s in range(1499, args.vocab + 1500) if math.gcd(s, args.vocab) == 1)
    start = torch.randint(0, args.vocab, (n, 1), device=device, generator=gen)
    teacher_ids = (start + step * torch.arange(args.k, device=device)) % args.vocab
    return hidden.requires_grad_(True), weight.requires_grad_(True), teacher_lp, teacher_ids


def step(method, hidden, weight, teacher_lp, teacher_ids, args):
    """One forward+backward; returns the loss value."""

    from fctrain.losses import ckd_loss, fused_linear_ckd_loss

    if method == "matmul":
        logits = hidden.detach() @ weight.detach().t()
        grad_logits = logits  # stands in for dL/dlogits: same shape, dtype and cost
        grad_hidden = grad_logits @ weight.detach()
        grad_weight = grad_logits.t() @ hidden.detach()
        return float(grad_hidden[0, 0] + grad_weight[0, 0])
    if method == "fused":
        loss = fused_linear_ckd_loss(hidden, weight, teacher_lp, teacher_ids, None, top_m=args.top_m, lam=args.lam,
                                     chunk_size=args.chunk_size)
    else:
        logits = hidden @ weight.t()
        if method == "naive":
            loss = naive_ckd_loss(logits, teacher_lp, teacher_ids, args.top_m, args.lam)
        else:
            loss = ckd_loss(logits, teacher_lp, teacher_ids, None, top_m=args.top_m, lam=args.lam, impl=method,
                            chunk_size=args.chunk_size)
        del logits
    loss.backward()
    return float(loss)


def run_breakdown_child(n, args):
    """The fused-linear path's per-chunk loop, each part timed with CUDA events (fkl, bf16 by default)."""
    import torch
    from fctrain.kernels.ckd_triton import ckd_rows_triton

    from fctrain.losses.ckd_common import default_chunk_rows, student_topm_threshold

    device = torch.device("cuda")
    hidden, weight, teacher_lp, teacher_ids = (t.detach() for t in make_inputs(n, args, device, getattr(torch, args.dtype)))
    rows = args.chunk_size or default_chunk_rows(args.vocab, device)
    head = torch.zeros(teacher_ids.shape, dtype=torch.bool, device=device)
    labels = teacher_ids[:, 0].contiguous()
    grad_weight = torch.zeros_like(weight)
    names = ["logits = h W^T", "student top-m (torch.topk)", "CKD kernel", "gradient matmuls"]
    best = None
    for rep in range(args.warmup + args.repeat):
        spent = [0.0] * len(names)
        for start in range(0, n, rows):
            part = slice(start, start + rows)
            events = [torch.cuda.Event(enable_timing=True) for _ in range(len(names) + 1)]
            events[0].record()
            logits = hidden[part] @ weight.t()
            events[1].record()
            tau = student_topm_threshold(logits, args.top_m)
            events[2].record()
            _, _, grad = ckd_rows_triton(logits, teacher_lp[part], teacher_ids[part], head[part], labels[part], tau,
                                         lam=args.lam, kl_type="fkl", kd_ratio=1.0, grad_scale=1.0 / n,
                                         compute_grad=True, overwrite_logits=True)
            events[3].record()
            grad @ weight
            grad_weight.addmm_(grad.t(), hidden[part])
            events[4].record()
            torch.cuda.synchronize()
            for i in range(len(names)):
                spent[i] += events[i].elapsed_time(events[i + 1])
        if rep >= args.warmup and (best is None or sum(spent) < sum(best)):
            best = spent
    print(json.dumps(dict(n=n, rows_per_chunk=rows, parts_ms=dict(zip(names, best)))))


def run_breakdown(args):
    for n in args.tokens or [4096, 16384]:
        cmd = [sys.executable, __file__, "--child", "breakdown", str(n)] + child_flags(args)
        proc = subprocess.run(cmd, capture_output=True, text=True)
        if proc.returncode != 0:
            print(f"breakdown N={n}: failed ({(proc.stderr or proc.stdout).strip()[-300:]})", file=sys.stderr)
            continue
        row = json.loads(proc.stdout.strip().splitlines()[-1])
        total = sum(row["parts_ms"].values())
        parts = ", ".join(f"{name} {ms:.2f} ms" for name, ms in row["parts_ms"].items())
        print(f"breakdown N={n} ({row['rows_per_chunk']} rows per chunk): {total:.2f} ms = {parts}", flush=True)


def rss_kib(field):
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith(field + ":"):
            return int(line.split()[1])
    raise RuntimeError(f"{field} not in /proc/self/status")


def run_child(method, n, args):
    import gc

    import torch

    device = torch.device(args.device)
    dtype = getattr(torch, args.dtype)
    torch.set_num_threads(args.threads) if args.threads else None
    inputs = make_inputs(n, args, device, dtype)
    for _ in range(args.warmup):
        step(method, *inputs, args)
        inputs[0].grad = inputs[1].grad = None
    gc.collect()
    times, loss = [], None
    for i in range(args.repeat):
        inputs[0].grad = inputs[1].grad = None
        gc.collect()
        if device.type == "cuda":
            torch.cuda.synchronize()
            torch.cuda.reset_peak_memory_stats()
            base = torch.cuda.memory_allocated()
        else:
            Path("/proc/self/clear_refs").write_text("5")  # reset VmHWM to the current resident set
            base = rss_kib("VmRSS") * 1024
        start = time.perf_counter()
        loss = step(method, *inputs, args)
        if device.type == "cuda":
            torch.cuda.synchronize()
        times.append(time.perf_counter() - start)
        if i == 0:
            peak = (torch.cuda.max_memory_allocated() if device.type == "cuda" else rss_kib("VmHWM") * 1024) - base
    print(json.dumps(dict(method=method, n=n, seconds=min(times), peak_extra_bytes=peak, loss=loss)))


# -------------------------------------------------------------------------------------------- parent side
def run_all(args):
    methods = args.methods or (["naive", "chunked", "triton", "fused", "matmul"] if args.device == "cuda"
                               else ["naive", "chunked", "fused", "matmul"])
    tokens = args.tokens or ([1024, 4096, 16384] if args.device == "cuda" else [256, 1024, 4096])
    results = []
    for n in tokens:
        for method in methods:
            cmd = [sys.executable, __file__, "--child", method, str(n)] + child_flags(args)
            # The child imports the installed fctrain (fctrain.kernels exists only in an install), as the caller does.
            proc = subprocess.run(cmd, capture_output=True, text=True)
            if proc.returncode != 0:
                tail = (proc.stderr or proc.stdout).strip().splitlines()[-1:] or [f"exit {proc.returncode}"]
                print(f"{method:8s} N={n}: failed ({tail[0][:200]})", file=sys.stderr)
                results.append(dict(method=method, n=n, error=tail[0][:120] or f"exit {proc.returncode}"))
                continue
            row = json.loads(proc.stdout.strip().splitlines()[-1])
            results.append(row)
            print(f"{method:8s} N={n:6d}  {row['seconds']:8.3f} s  {row['peak_extra_bytes'] / 2**20:10.1f} MiB  "
                  f"loss {row['loss']:.6g}", flush=True)
    table = markdown_table(results, in_ms=args.device == "cuda")
    targets = target_line(results) + (gpu_target_lines(results) if args.device == "cuda" else "")
    print(table + targets)
    if args.write_docs:
        title = GPU_SECTION if args.device == "cuda" else SECTION
        write_section(section_text(args, table + targets), title)
        print(f"wrote the '{title}' section of {DOCS}")


def child_flags(args):
    flags = ["--device", args.device, "--dtype", args.dtype, "--vocab", str(args.vocab), "--hidden",
             str(args.hidden), "--k", str(args.k), "--top-m", str(args.top_m), "--lam", str(args.lam),
             "--repeat", str(args.repeat), "--warmup", str(args.warmup), "--threads", str(args.threads)]
    return flags + (["--chunk-size", str(args.chunk_size)] if args.chunk_size else [])


def markdown_table(results, in_ms=False):
    """Times in seconds (CPU) or milliseconds (GPU, where a step takes a few)."""
    naive = {r["n"]: r for r in results if r["method"] == "naive" and "error" not in r}
    scale, unit = (1e3, "ms") if in_ms else (1.0, "s")
    lines = [f"| tokens N | method | fwd+bwd time ({unit}) | peak extra memory (MiB) | memory / naive | loss |",
             "|---:|---|---:|---:|---:|---:|"]
    for r in results:
        if "error" in r:
            lines.append(f"| {r['n']} | {r['method']} | failed: {r['error']} | | | |")
            continue
        base = naive.get(r["n"])
        ratio = f"{r['peak_extra_bytes'] / base['peak_extra_bytes']:.3f}" if base else "-"
        loss = "-" if r["method"] == "matmul" else f"{r['loss']:.5f}"
        lines.append(f"| {r['n']} | {r['method']} | {r['seconds'] * scale:.2f} | {r['peak_extra_bytes'] / 2**20:.0f} | "
                     f"{ratio} | {loss} |")
    return "\n".join(lines)


def target_line(results):
    """Issue target: fused-linear peak extra memory at N=4096 at most 1/10 of naive's."""
    rows = {(r["method"], r["n"]): r for r in results if "error" not in r}
    fused, naive = rows.get(("fused", 4096)), rows.get(("naive", 4096))
    if not (fused and naive):
        return ""
    ratio = fused["peak_extra_bytes"] / naive["peak_extra_bytes"]
    verdict = "met" if ratio <= 0.1 else "NOT met"
    return f"\n\nTarget (fused-linear peak extra memory at N=4096 <= 1/10 of naive): {ratio:.3f}, {verdict}."


def gpu_target_lines(results):
    """Issue targets on a GPU: Triton and fused-linear forward+backward no slower than naive, and fused-linear
    within 2x of the lm_head matmuls alone (the compute floor), at every N measured."""
    rows = {(r["method"], r["n"]): r for r in results if "error" not in r}
    lines = []
    for n in sorted({r["n"] for r in results}):
        naive, matmul = rows.get(("naive", n)), rows.get(("matmul", n))
        for method in ("triton", "fused"):
            row = rows.get((method, n))
            if row and naive:
                ok = row["seconds"] <= naive["seconds"]
                lines.append(f"N={n}: {method} {row['seconds'] * 1e3:.1f} ms vs naive {naive['seconds'] * 1e3:.1f} ms "
                             f"({'no slower: met' if ok else 'slower: NOT met'})")
        fused = rows.get(("fused", n))
        if fused and matmul:
            ratio = fused["seconds"] / matmul["seconds"]
            lines.append(f"N={n}: fused / matmul = {ratio:.2f} ({'within 2x: met' if ratio <= 2 else 'over 2x: NOT met'})")
    if not lines:
        return ""
    return ("\n\nTargets on GPU (triton and fused no slower than naive; fused within 2x of matmul):\n"
            + "\n".join(f"- {line}" for line in lines))


def machine_description(args):
    import torch

    if args.device == "cuda":
        return f"{torch.cuda.get_device_name()} (torch {torch.__version__})"
    cpu = "unknown CPU"
    cpuinfo = Path("/proc/cpuinfo")
    if cpuinfo.exists():
        match = re.search(r"model name\s*:\s*(.+)", cpuinfo.read_text())
        cpu = match.group(1).strip() if match else cpu
    threads = args.threads or torch.get_num_threads()
    return f"{cpu}, {os.cpu_count()} cores, {threads} torch threads ({platform.system()}, torch {torch.__version__})"


def section_text(args, table):
    gpu_note = ("GPU timings in this table were measured on the GPU named above." if args.device == "cuda" else
                "GPU timings (methods `triton`, and `fused` with its Triton kernel) are unmeasured here: this "
                "table comes from a CPU-only machine, where `fused` runs the chunked torch backend.")
    return f"""{GPU_SECTION if args.device == "cuda" else SECTION}

Forward+backward of the CKD loss from hidden states (`scripts/bench_ckd.py`), V={args.vocab:,}, hidden
{args.hidden}, k={args.k}, m={args.top_m}, lambda={args.lam}, dtype {args.dtype}, every token a target.
Machine: {machine_description(args)}. Timing: best of {args.repeat} run(s) after {args.warmup} warm-up run(s).
Peak extra memory: above the inputs (hidden, W, teacher top-k), measured in a fresh process per row:
{"torch.cuda.max_memory_allocated()" if args.device == "cuda" else "peak resident set (VmHWM, reset via /proc/self/clear_refs) minus the resident set before the step"};
it includes the gradients produced (grad_W alone is V x hidden x {4 if args.dtype == "float32" else 2} bytes
= {args.vocab * args.hidden * (4 if args.dtype == "float32" else 2) / 2**20:.0f} MiB, for every method).
`naive` is the full-vocab log_softmax + student top-m approach of STAR's published code; `matmul` is the
lm_head matmuls alone (the compute floor). Times are wall-clock; on a shared machine they are indicative
only. {gpu_note}{" " + args.note if args.note else ""}

{table}

Reproduce: `python scripts/bench_ckd.py --device {args.device} --write-docs`.
"""


def write_section(text, title=SECTION):
    """Replace (or append) the section `title`; other sections of the file are left untouched."""
    old = DOCS.read_text() if DOCS.exists() else "# Benchmarks\n"
    pattern = re.compile(rf"^{re.escape(title)}\n.*?(?=^## |\Z)", re.S | re.M)
    if pattern.search(old):
        new = pattern.sub(lambda _: text.rstrip() + "\n\n", old, count=1)
    else:
        new = old.rstrip() + "\n\n" + text
    DOCS.write_text(new.rstrip() + "\n")


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--device", default=None, choices=["cpu", "cuda"])
    parser.add_argument("--dtype", default=None, help="float32 (CPU default) or bfloat16 (CUDA default)")
    parser.add_argument("--tokens", type=int, nargs="*", help="N values (default: CPU 256 1024 4096, GPU 1k 4k 16k)")
    parser.add_argument("--methods", nargs="*", choices=["naive", "chunked", "triton", "fused", "matmul"])
    parser.add_argument("--vocab", type=int, default=151_936)
    parser.add_argument("--hidden", type=int, default=1024)
    parser.add_argument("--k", type=int, default=100)
    parser.add_argument("--top-m", type=int, default=100)
    parser.add_argument("--lam", type=float, default=10.0)
    parser.add_argument("--chunk-size", type=int, default=None, help="tokens per chunk (default: the library's)")
    parser.add_argument("--repeat", type=int, default=None, help="timed runs (default: CPU 1, GPU 5)")
    parser.add_argument("--warmup", type=int, default=None, help="untimed runs first (default: CPU 0, GPU 2)")
    parser.add_argument("--threads", type=int, default=0, help="torch CPU threads (0: torch's default)")
    parser.add_argument("--write-docs", action="store_true", help=f"replace the '{SECTION}' section of {DOCS}")
    parser.add_argument("--note", default="", help="a sentence added to the docs section (e.g. machine load)")
    parser.add_argument("--breakdown", action="store_true", help="time the parts of the fused-linear path (CUDA)")
    parser.add_argument("--child", nargs=2, metavar=("METHOD", "N"), help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.device is None:
        import torch

        args.device = "cuda" if torch.cuda.is_available() else "cpu"
    gpu = args.device == "cuda"
    args.dtype = args.dtype or ("bfloat16" if gpu else "float32")
    args.repeat = args.repeat if args.repeat is not None else (5 if gpu else 1)
    args.warmup = args.warmup if args.warmup is not None else (2 if gpu else 0)
    if args.child and args.child[0] == "breakdown":
        run_breakdown_child(int(args.child[1]), args)
    elif args.child:
        run_child(args.child[0], int(args.child[1]), args)
    elif args.breakdown:
        run_breakdown(args)
    else:
        run_all(args)


if __name__ == "__main__":
    main()
