"""After training, prove that every rank holds the same weights (or fail loudly).

Data parallelism (DDP, DeepSpeed ZeRO) keeps replicas identical by construction: same initial weights,
all-reduced gradients, the same optimizer step. A bug that breaks this (a rank skipping or adding an
optimizer step, a rank-dependent update outside the all-reduce) does not crash anything; it silently trains
n different models and saves rank 0's. So each rank hashes its full parameters (ZeRO-3 shards gathered
first) and rank 0 compares: `STAGE_DIR/rank_sync.json` records the digests, a mismatch raises.
The hash reads every weight once (seconds for a few GB); FCTRAIN_RANK_SYNC_CHECK=0 turns it off.
"""

from __future__ import annotations

import hashlib
from pathlib import Path

from transformers import TrainerCallback

from fctrain.errors import FctrainError


def _full_tensor(param):
    """The parameter's complete data: ZeRO-3 partitions parameters, so gather before reading."""
    if hasattr(param, "ds_id"):
        import deepspeed

        with deepspeed.zero.GatheredParameters([param], modifier_rank=None):
            return param.data.detach().cpu().clone()
    return param.data.detach().cpu()


def param_digest(model) -> str:
    """sha256 over (name, dtype, shape, bytes) of every parameter in name order: equal iff bit-identical.

    Collective under ZeRO-3 (every rank must call it, in the same order)."""
    import torch

    h = hashlib.sha256()
    for name, param in sorted(model.named_parameters(), key=lambda kv: kv[0]):
        t = _full_tensor(param).contiguous()
        h.update(f"{name}|{t.dtype}|{tuple(t.shape)}\n".encode())
        h.update(t.reshape(-1).view(torch.uint8).numpy().tobytes())
    return h.hexdigest()


def optimizer_kind(optimizer) -> str | None:
    """The class doing the update under accelerate's wrapper: AdamW (DDP), DeepSpeedZeroOptimizer (ZeRO-1/2),
    DeepSpeedZeroOptimizer_Stage3 (ZeRO-3). Recorded so a run shows which engine actually trained it."""
    while type(optimizer).__name__ in ("AcceleratedOptimizer", "DeepSpeedOptimizerWrapper"):
        optimizer = optimizer.optimizer
    return None if optimizer is None else type(optimizer).__name__


def check_ranks_in_sync(model, stage_dir: Path, optimizer=None) -> list[str]:
    """Digest on every rank, gathered; rank 0 writes rank_sync.json. Raises when the ranks differ."""
    from fctrain.distributed.ranks import all_gather_object, is_main, world_size
    from fctrain.run_dir import atomic_write_json

    digests = all_gather_object(param_digest(model))
    in_sync = len(set(digests)) == 1
    if is_main():
        atomic_write_json(Path(stage_dir) / "rank_sync.json",
                          {"world_size": world_size(), "in_sync": in_sync, "param_sha256": digests,
                           "optimizer": optimizer_kind(optimizer),
                           "zero3_partitioned_params": sum(hasattr(p, "ds_id") for p in model.parameters())})
    if not in_sync:
        groups: dict[str, list[int]] = {}
        for r, d in enumerate(digests):
            groups.setdefault(d, []).append(r)
        raise FctrainError(f"ranks hold different weights after training ({stage_dir}): "
                           + "; ".join(f"ranks {rs} -> {d[:12]}" for d, rs in groups.items()))
    return digests


class RankSyncCheck(TrainerCallback):
    """At the end of training in a multi-process run, check that all ranks hold identical parameters."""

    def __init__(self, stage_dir: Path):
        self.stage_dir = Path(stage_dir)

    def on_train_end(self, args, state, control, model=None, optimizer=None, **kwargs):
        import os

        from fctrain.distributed.ranks import is_distributed

        if is_distributed() and model is not None and os.environ.get("FCTRAIN_RANK_SYNC_CHECK") != "0":
            check_ranks_in_sync(model, self.stage_dir, optimizer)
