"""Who am I in a torchrun job, and the few collectives the pipeline needs around the trainers.

torchrun sets RANK / WORLD_SIZE / LOCAL_RANK; everything here reads them and is a no-op in a plain
single-process run. `init_distributed` starts the process group *before* the first stage, so the pipeline
can agree on one run directory and let rank 0 write shared files while the others wait. transformers'
Trainer (through accelerate) and DeepSpeed find the group already initialised and reuse it.

Coordination (barriers, small Python objects) runs on a separate gloo group with a long timeout: rank 0 may
spend a long time alone (building the teacher cache, evaluating) while the others wait, and gloo needs no
GPU for objects. The training collectives keep the main group (nccl on GPU, gloo on CPU).
"""

from __future__ import annotations

import os
from collections.abc import Callable
from datetime import timedelta
from typing import Any, TypeVar

T = TypeVar("T")

MAIN_TIMEOUT_S = 1800  # transformers' ddp_timeout default: a stuck training collective fails after 30 min
WAIT_TIMEOUT_ENV = "FCTRAIN_RANK0_WAIT_S"  # how long ranks wait for rank 0's solo work (cache build, eval)
WAIT_TIMEOUT_DEFAULT_S = 6 * 3600

_coordination_group = None


def world_size() -> int:
    return int(os.environ.get("WORLD_SIZE", "1"))


def rank() -> int:
    return int(os.environ.get("RANK", "0"))


def local_rank() -> int:
    return int(os.environ.get("LOCAL_RANK", "0"))


def is_distributed() -> bool:
    return world_size() > 1


def is_main() -> bool:
    """Global rank 0: the only process that writes run files, data, summaries and final models."""
    return rank() == 0


def _wants_cuda(device: str) -> bool:
    import torch

    return device != "cpu" and torch.cuda.is_available()


def init_distributed(device: str = "auto") -> bool:
    """Start the process group of a torchrun job (nccl on GPU, gloo on CPU); False in a single process."""
    global _coordination_group
    if not is_distributed():
        return False
    import torch
    import torch.distributed as dist

    if not dist.is_initialized():
        backend = "gloo"
        if _wants_cuda(device):
            torch.cuda.set_device(local_rank())  # before any CUDA work: "cuda" then means this rank's GPU
            backend = "nccl"
        dist.init_process_group(backend=backend, timeout=timedelta(seconds=MAIN_TIMEOUT_S))
    if _coordination_group is None:
        wait = int(os.environ.get(WAIT_TIMEOUT_ENV, WAIT_TIMEOUT_DEFAULT_S))
        _coordination_group = dist.new_group(backend="gloo", timeout=timedelta(seconds=wait))
    return True


def _group():
    import torch.distributed as dist

    if not (is_distributed() and dist.is_available() and dist.is_initialized()):
        return None
    if _coordination_group is None:
        init_distributed()
    return _coordination_group


def barrier() -> None:
    group = _group()
    if group is not None:
        import torch.distributed as dist

        dist.barrier(group=group)


def broadcast_object(obj: T, src: int = 0) -> T:
    """`obj` as rank `src` has it, on every rank (picklable objects only)."""
    group = _group()
    if group is None:
        return obj
    import torch.distributed as dist

    box = [obj]
    dist.broadcast_object_list(box, src=src, group=group)
    return box[0]


def all_gather_object(obj: Any) -> list[Any]:
    """Every rank's `obj`, indexed by rank."""
    group = _group()
    if group is None:
        return [obj]
    import torch.distributed as dist

    out: list[Any] = [None] * world_size()
    dist.all_gather_object(out, obj, group=group)
    return out


def on_main(fn: Callable[[], T]) -> T:
    """Run `fn` on rank 0 only; every rank returns rank 0's result. If rank 0 raises, torchrun stops the job."""
    result = fn() if is_main() else None
    return broadcast_object(result)


def main_first(fn: Callable[[], T]) -> T:
    """Rank 0 runs `fn` first (writing shared files), then the others run it (finding the files written)."""
    result = fn() if is_main() else None
    barrier()
    if not is_main():
        result = fn()
    return result
