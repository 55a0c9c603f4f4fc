"""Stage types a recipe can name, and where each one's config dataclass and runner live.

Imports are lazy (module path strings) so `fctrain validate` stays fast and a missing optional
dependency of one stage never breaks the others.
"""

from __future__ import annotations

import importlib
from collections.abc import Callable
from typing import Any

from fctrain.errors import ConfigError

# type -> (module, config class, run function)
STAGES: dict[str, tuple[str, str, str]] = {
    "sft": ("fctrain.trainers.sft", "SFTStageConfig", "run_sft"),
    "sft_teacher": ("fctrain.trainers.sft", "SFTStageConfig", "run_sft_teacher"),
    "rollout": ("fctrain.trainers.distill", "RolloutStageConfig", "run_rollout"),
    "cache_teacher": ("fctrain.trainers.distill", "CacheTeacherStageConfig", "run_cache_teacher"),
    "ckd": ("fctrain.trainers.distill", "CKDStageConfig", "run_ckd"),
    "grpo": ("fctrain.trainers.grpo", "GRPOStageConfig", "run_grpo"),
    "eval": ("fctrain.eval.stage", "EvalStageConfig", "run_eval"),
}


def _load(kind: str, index: int, where: str) -> Any:
    if kind not in STAGES:
        raise ConfigError(f"{where}: unknown stage type {kind!r} (expected one of: {', '.join(STAGES)})")
    module, cls_name, fn_name = STAGES[kind]
    return getattr(importlib.import_module(module), (cls_name, fn_name)[index])


def stage_config_class(kind: str, where: str = "stage") -> type:
    return _load(kind, 0, where)


def stage_runner(kind: str) -> Callable:
    return _load(kind, 1, "stage")
