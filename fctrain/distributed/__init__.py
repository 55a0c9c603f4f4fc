"""Multi-process runs: torchrun launching, rank-aware pipeline helpers, DeepSpeed configs, rank sync checks.

docs/distributed.md has the commands (one node, several nodes) and the ZeRO stage guidance.
"""

from __future__ import annotations

from fctrain.distributed.deepspeed_configs import resolve_deepspeed, skip_cpu_shm_comm
from fctrain.distributed.ranks import (
    all_gather_object,
    barrier,
    broadcast_object,
    init_distributed,
    is_distributed,
    is_main,
    local_rank,
    main_first,
    on_main,
    rank,
    world_size,
)


def prepare_process(recipe) -> bool:
    """Before the first stage: join the torchrun process group (if any) and set DeepSpeed up for the device.

    Returns True in a multi-process run."""
    import torch

    started = init_distributed(recipe.device)
    if recipe.deepspeed and (recipe.device == "cpu" or not torch.cuda.is_available()):
        skip_cpu_shm_comm()
    return started


__all__ = [
    "all_gather_object", "barrier", "broadcast_object", "init_distributed", "is_distributed", "is_main",
    "local_rank", "main_first", "on_main", "prepare_process", "rank", "resolve_deepspeed", "skip_cpu_shm_comm",
    "world_size",
]
