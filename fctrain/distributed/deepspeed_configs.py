"""Named DeepSpeed configs shipped in recipes/deepspeed/ (installed as fctrain.recipes)."""

from __future__ import annotations

from pathlib import Path

from fctrain.config.shipped_recipes import recipes_root
from fctrain.errors import ConfigError

NAMED = ("zero1", "zero2", "zero3", "zero3_offload")


def resolve_deepspeed(value: str, where: str = "deepspeed") -> Path:
    if value in NAMED:
        return recipes_root() / "deepspeed" / f"{value}.json"
    p = Path(value).expanduser()
    if not p.is_file():
        raise ConfigError(f"{where}: expected one of {list(NAMED)} or a path to a DeepSpeed JSON file, got {value!r}")
    return p.resolve()


SHM_COMM_ENV = "FCTRAIN_DS_CPU_SHM"


def skip_cpu_shm_comm() -> bool:
    """On CPU, keep DeepSpeed's collectives on gloo instead of its JIT-built shared-memory op.

    DeepSpeed's CPU accelerator compiles `deepspeed_shm_comm` with the system C++ compiler the first time a
    job starts (one to two minutes on a small machine, and a hard failure where no compiler is installed);
    gloo gives the same results. CPU DeepSpeed is for testing recipes, so we skip the build unless
    FCTRAIN_DS_CPU_SHM=1. Returns whether it was skipped. GPU runs are unaffected (no such op there).
    """
    import os

    if os.environ.get(SHM_COMM_ENV) == "1":
        return False
    import deepspeed.ops

    compatible = deepspeed.ops.__compatible_ops__  # probed lazily; TorchBackend consults it before building
    if "deepspeed_shm_comm" in compatible:
        compatible["deepspeed_shm_comm"] = False
        return True
    return False
