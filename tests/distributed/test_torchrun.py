"""Acceptance: the smoke recipes on 2 CPU ranks (torchrun, gloo; DeepSpeed ZeRO-2/3) stay in sync and match
a single-process run with the same global batch.

Every multi-process training stage writes STAGE_DIR/rank_sync.json: the sha256 of each rank's full
parameters (ZeRO-3 shards gathered) and the optimizer class that did the update. Each test is one
subprocess run, kept tiny (16-24 samples, 4-6 steps) so the folder costs about three minutes on 2 cores.
"""

from __future__ import annotations

import json
import os
import socket
import subprocess
import sys
from pathlib import Path

import pytest
import torch

pytestmark = pytest.mark.slow

REPO = Path(__file__).resolve().parents[2]
SMOKE = Path("recipes") / "smoke"  # relative: the commands run from the checkout root, as in the README
TIMEOUT_S = 420
SFT = ["data.sources.0.n=16", "stages.sft.max_steps=4", "tracking.tensorboard=false"]
REFERENCE_DIFF = 1e-5  # fp32 weights after 4 AdamW steps: only the all-reduce summation order differs

if not torch.distributed.is_available() or not torch.distributed.is_gloo_available():
    pytest.skip("torch.distributed with gloo is not available", allow_module_level=True)


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def fctrain(args: list[str], nproc: int = 1, launcher: str = "torchrun") -> None:
    """`fctrain run` in one process, or on `nproc` ranks through torchrun / `fctrain launch`.

    Run as a user runs them: the installed `fctrain` and `torchrun` commands, from the checkout root (which
    `-m` puts first on sys.path), with no PYTHONSAFEPATH to hide a top-level folder shadowing a package.
    """
    env = {**os.environ, "OMP_NUM_THREADS": "1", "TOKENIZERS_PARALLELISM": "false", "HF_HUB_OFFLINE": "1"}
    for key in ("RANK", "WORLD_SIZE", "LOCAL_RANK", "MASTER_ADDR", "MASTER_PORT", "PYTHONSAFEPATH"):
        env.pop(key, None)
    bin_dir = Path(sys.executable).parent
    if nproc == 1:
        cmd = [str(bin_dir / "fctrain"), "run", *args]
    elif launcher == "fctrain launch":
        cmd = [str(bin_dir / "fctrain"), "launch", "--nproc", str(nproc), "--master-port", str(free_port()), *args]
    else:
        cmd = [str(bin_dir / "torchrun"), f"--nproc_per_node={nproc}", "--master_addr=127.0.0.1",
               f"--master_port={free_port()}", "-m", "fctrain.cli", "run", *args]
    proc = subprocess.run(cmd, cwd=REPO, env=env, capture_output=True, text=True, timeout=TIMEOUT_S)
    assert proc.returncode == 0, f"{' '.join(cmd)} failed ({proc.returncode}):\n{proc.stderr[-6000:]}"


def rank_sync(stage_dir: Path) -> dict:
    """The stage's rank_sync.json, checked: two ranks, identical parameter digests."""
    report = json.loads((stage_dir / "rank_sync.json").read_text())
    assert report["world_size"] == 2 and report["in_sync"] is True
    a, b = report["param_sha256"]
    assert a == b and len(a) == 64
    return report


def weights(stage_dir: Path, name: str = "model") -> dict[str, torch.Tensor]:
    from safetensors.torch import load_file

    return load_file(str(stage_dir / name / "model.safetensors"))


def losses(stage_dir: Path) -> list[tuple[int, float]]:
    rows = [json.loads(line) for line in (stage_dir / "metrics.jsonl").read_text().splitlines()]
    return [(r["step"], r["loss"]) for r in rows if "loss" in r]


def assert_matches_reference(run: Path, reference: Path) -> None:
    """Same weights (within REFERENCE_DIFF) and the same logged losses as the single-process run."""
    ref, got = weights(reference / "01-sft"), weights(run / "01-sft")
    assert set(ref) <= set(got)  # ZeRO-2 also writes a tied lm_head copy
    worst = max((ref[k] - got[k]).abs().max().item() for k in ref)
    assert worst < REFERENCE_DIFF, f"max |w_ref - w_run| = {worst:.3g}"
    ref_losses, run_losses = losses(reference / "01-sft"), losses(run / "01-sft")
    assert [s for s, _ in ref_losses] == [s for s, _ in run_losses] and ref_losses
    assert all(abs(a - b) < 1e-4 for (_, a), (_, b) in zip(ref_losses, run_losses)), (ref_losses, run_losses)


@pytest.fixture(scope="module")
def single_process_sft(tmp_path_factory) -> Path:
    """The reference: one process, micro-batch 2 (= 2 ranks x micro-batch 1)."""
    out = tmp_path_factory.mktemp("sft1") / "run"
    fctrain([str(SMOKE / "sft.yaml"), f"output_dir={out}", *SFT, "stages.sft.per_device_train_batch_size=2"])
    return out


@pytest.mark.parametrize("launcher", ["torchrun", "fctrain launch"])
def test_sft_two_ranks_in_sync_and_equal_to_one_process(single_process_sft, tmp_path, launcher):
    out = tmp_path / "run"
    fctrain([str(SMOKE / "sft.yaml"), f"output_dir={out}", *SFT, "stages.sft.per_device_train_batch_size=1"],
            nproc=2, launcher=launcher)
    report = rank_sync(out / "01-sft")
    assert report["optimizer"] == "AdamW"
    assert_matches_reference(out, single_process_sft)
    # One run directory (both ranks agreed on it), rank 0's files only.
    assert sorted(p.name for p in tmp_path.iterdir()) == ["run"]
    summary = json.loads((out / "summary.json").read_text())
    assert [s["type"] for s in summary["stages"]] == ["sft"]


@pytest.mark.parametrize("stage, optimizer", [("zero2", "DeepSpeedZeroOptimizer"),
                                              ("zero3", "DeepSpeedZeroOptimizer_Stage3")])
def test_sft_deepspeed_two_cpu_ranks(single_process_sft, tmp_path, stage, optimizer):
    pytest.importorskip("deepspeed")
    out = tmp_path / "run"
    fctrain([str(SMOKE / "sft.yaml"), f"output_dir={out}", *SFT, "stages.sft.per_device_train_batch_size=1",
             f"deepspeed={stage}"], nproc=2)
    report = rank_sync(out / "01-sft")
    assert report["optimizer"] == optimizer  # DeepSpeed really trained it, not a silent DDP fallback
    assert (report["zero3_partitioned_params"] > 0) == (stage == "zero3")
    assert_matches_reference(out, single_process_sft)


def test_ckd_two_ranks(tmp_path):
    """sft_teacher -> rollout (split across ranks) -> cache_teacher (rank 0) -> ckd, ranks in sync."""
    out = tmp_path / "run"
    fctrain([str(SMOKE / "ckd.yaml"), f"output_dir={out}", "data.sources.0.n=16", "tracking.tensorboard=false",
             "stages.sft_teacher.max_steps=4", "stages.sft_teacher.per_device_train_batch_size=1",
             "stages.rollout.max_prompts=8", "stages.rollout.max_new_tokens=24",
             "stages.ckd.max_steps=4", "stages.ckd.per_device_train_batch_size=1"], nproc=2)
    rank_sync(out / "01-sft_teacher")
    rank_sync(out / "04-ckd")
    rollout = out / "02-rollout"
    prompts = [s["id"] for s in map(json.loads, (out / "data" / "train.jsonl").read_text().splitlines())][:8]
    for r in (0, 1):  # each rank sampled its own half of the prompts
        done = [json.loads(x)["prompt_id"] for x in (rollout / f"rollouts.rank{r}-of-2.done.jsonl").read_text().splitlines()]
        assert sorted(done, key=prompts.index) == prompts[r::2]  # generated shortest answer first
    joined = [json.loads(x)["source_id"] for x in (rollout / "rollouts.jsonl").read_text().splitlines()]
    assert joined and sorted(set(joined), key=prompts.index) == list(dict.fromkeys(joined))  # prompt order
    assert json.loads((rollout / "outputs.json").read_text())["metrics"]["prompts"] == 8
    cache = json.loads((out / "03-cache_teacher" / "outputs.json").read_text())
    assert cache["metrics"]["n_samples"] == len(joined)
    assert weights(out / "04-ckd")  # rank 0 saved the student


def test_grpo_two_ranks_through_fctrain_launch(tmp_path):
    out = tmp_path / "run"
    fctrain([str(SMOKE / "grpo.yaml"), f"output_dir={out}", "data.sources.0.n=16", "tracking.tensorboard=false",
             "stages.grpo.max_steps=2", "stages.grpo.max_new_tokens=12"], nproc=2, launcher="fctrain launch")
    rank_sync(out / "01-grpo")
    rows = [json.loads(line) for line in (out / "01-grpo" / "metrics.jsonl").read_text().splitlines()]
    steps = [r for r in rows if "reward" in r]
    # 2 ranks x 1 prompt group each per step: the filter's count is job-wide.
    assert len(steps) == 2 and all(r["filter/groups_generated"] >= 2 for r in steps)
