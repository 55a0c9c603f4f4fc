"""Stage types a recipe can name, and where each one's config dataclass and runner live.

Imports are lazy (module path strings) so `fctrain validate` stays fast and a missing optional
dependency of one stage never breaks the others.
"""

from __future__ import annotations

import importlib
from collections.abc import Callable
from typing import Any

from fctrain.errors import ConfigError

# type -> ("module:ConfigClass", "module:run_function"). Config classes live in light modules so that
# validating a recipe never imports a trainer.
STAGES: dict[str, tuple[str, str]] = {
    "sft": ("fctrain.trainers.sft:SFTStageConfig", "fctrain.trainers.sft:run_sft"),
    "sft_teacher": ("fctrain.trainers.sft:SFTStageConfig", "fctrain.trainers.sft:run_sft_teacher"),
    "rollout": ("fctrain.trainers.distill_config:RolloutStageConfig", "fctrain.trainers.distill:run_rollout"),
    "cache_teacher": ("fctrain.trainers.distill_config:CacheTeacherStageConfig",
                      "fctrain.trainers.distill:run_cache_teacher"),
    "ckd": ("fctrain.trainers.distill_config:CKDStageConfig", "fctrain.trainers.distill:run_ckd"),
    "grpo": ("fctrain.trainers.grpo:GRPOStageConfig", "fctrain.trainers.grpo:run_grpo"),
    "eval": ("fctrain.eval.stage:EvalStageConfig", "fctrain.eval.stage:run_eval"),
}


def _load(kind: str, index: int, where: str) -> Any:
    if kind not in STAGES:
        raise ConfigError(f"{where}: unknown stage type {kind!r} (expected one of: {', '.join(STAGES)})")
    module, name = STAGES[kind][index].split(":")
    return getattr(importlib.import_module(module), name)


def stage_config_class(kind: str, where: str = "stage") -> type:
    return _load(kind, 0, where)


def stage_runner(kind: str) -> Callable:
    return _load(kind, 1, "stage")
