"""What a recipe stage receives: where to write, the whole recipe, and what earlier stages produced."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any


@dataclass
class StageContext:
    run_dir: Path  # the run directory; a stage writes under run_dir / stage_dir
    stage_dir: Path  # this stage's own folder, e.g. run_dir / "02-ckd"
    recipe: Any  # fctrain.config.schema.Recipe (model, teacher, data, template, tracking, ...)
    outputs: dict[str, Any] = field(default_factory=dict)  # merged outputs of earlier stages
    # Keys stages read/write in `outputs`: "model_path" (latest trained model dir), "teacher_path",
    # "data_path" (JSONL of canonical samples with their references), "rollouts_path" (the teacher's kept
    # rollouts: what cache_teacher and ckd train on), "cache_dir" (teacher top-k cache), "metrics" (dict).
    seed: int = 0
    config_hash: str | None = None  # of the settings that shape this stage (fctrain/resume_check.py); checkpoints record it
