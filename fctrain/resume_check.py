"""Resume only what this recipe would have produced.

Each stage's *settings* are what shapes its result: the recipe's shared sections and the options of that stage
and of every stage before it (their outputs are its inputs), minus FREE_KEYS, which may change on any resume.
A stage records them in STAGE_DIR/settings.json when it starts, and their hash in its outputs.json and in
every checkpoint's COMPLETE marker. Before a run writes anything into an existing directory, `check_resume`
compares the records of every stage holding results (complete, a checkpoint, or partial work) with this
recipe's settings:

- all equal: stages are reused and checkpoints resumed, and the plan says from where;
- any differs, resume=auto: ResumeMismatch names the keys (old and new values) and the choices, and nothing
  in the directory changes (config.yaml included);
- resume=force: the run goes on; what changed is appended to RUN_DIR/resume_force.jsonl and the records are
  restamped with the new settings, so config.yaml, rewritten next, again describes the directory.

A directory from before these records existed is judged by its config.yaml.
"""

from __future__ import annotations

import functools
import hashlib
import json
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from fctrain.config.typed_dict import to_dict
from fctrain.errors import FctrainError
from fctrain.run_dir import atomic_write_json, atomic_write_text, read_json, redact

# Settings that do not shape a result (docs/resume.md): names and paths, logging and tracking, how often to
# checkpoint or evaluate, what to do about a NaN, memory-only switches.
FREE_KEYS = frozenset({"name", "output_dir", "resume", "tracking"})
FREE_STAGE_KEYS = frozenset({"save_steps", "save_total_limit", "eval_steps", "on_nan", "log_completions",
                             "gradient_checkpointing"})
FREE_KEYS_BY_STAGE = {"cache_teacher": frozenset({"cache_dir", "overwrite"})}  # where the cache is written
# Stages that continue partial work kept outside checkpoints (rollout files, cache shards): a stage folder
# of theirs counts as holding results as soon as it started.
PARTIAL_WORK_STAGES = frozenset({"rollout", "cache_teacher"})
SETTINGS_FILE = "settings.json"
FORCE_LOG = "resume_force.jsonl"
START_OVER = "resume=never (or another output_dir) starts over"  # the way out of a run directory that cannot go on
TRAINER_DIR = "trainer"  # where training stages keep checkpoint-N/ (fctrain.trainers.common_training_args)


class ResumeMismatch(FctrainError):
    """The run directory holds results of other settings than the recipe asks for."""


def flatten(data: Any, prefix: str = "") -> dict[str, Any]:
    """{"a": {"b": [{"c": 1}]}} -> {"a.b.0.c": 1}: the keys a recipe override would name."""
    if isinstance(data, dict) and data:
        items = data.items()
    elif isinstance(data, list) and data and all(isinstance(v, dict) for v in data):
        items = enumerate(data)
    else:
        return {prefix.rstrip("."): data}
    out: dict[str, Any] = {}
    for k, v in items:
        out.update(flatten(v, f"{prefix}{k}."))
    return out


def stage_settings(loaded, index: int) -> dict[str, Any]:
    """What shapes the result of stage `index`, flattened (secrets redacted, as config.yaml holds them)."""
    shared = {k: v for k, v in to_dict(loaded.recipe).items() if k not in FREE_KEYS and k != "stages"}
    chain = []
    for kind, cfg in loaded.stages[: index + 1]:
        free = FREE_STAGE_KEYS | FREE_KEYS_BY_STAGE.get(kind, frozenset())
        chain.append({"type": kind, **{k: v for k, v in to_dict(cfg).items() if k not in free}})
    return flatten(redact({**shared, "stages": chain}))


def data_settings(loaded) -> dict[str, Any]:
    """What shapes RUN_DIR/data: the data section and the seed."""
    return flatten(redact({"seed": loaded.recipe.seed, "data": to_dict(loaded.recipe.data)}))


def settings_hash(settings: dict[str, Any]) -> str:
    text = json.dumps(settings, sort_keys=True, default=str, ensure_ascii=False)
    return hashlib.sha256(text.encode()).hexdigest()[:16]


def stage_dir(run_dir: Path, index: int, kind: str) -> Path:
    return run_dir / f"{index + 1:02d}-{kind}"


@dataclass
class StagePlan:
    """One stage of the run directory, as found, against this recipe."""

    index: int
    kind: str
    dir: Path
    settings: dict[str, Any]  # this recipe's
    hash: str
    holds: str | None = None  # "complete", "checkpoint step N" or "partial work"; None = nothing to reuse
    checkpoint: Path | None = None
    records: list[tuple[Path, str | None]] = field(default_factory=list)  # (file, recorded hash)
    damaged: list[tuple[Path, str]] = field(default_factory=list)  # newer checkpoints that are not whole

    @property
    def name(self) -> str:
        return f"{self.dir.name}: {self.holds}"

    def matches(self, recorded_default: str | None) -> bool:
        return all((h or recorded_default) == self.hash for _, h in self.records)


def _check_outputs(done: Path, outputs: dict) -> None:
    """A complete stage's saved models must be whole before a later stage loads them."""
    from fctrain.integrity import folder_damage

    for key in ("model_path", "teacher_path"):
        path = Path(outputs.get(key) or "")
        if outputs.get(key) and path.is_dir() and (problem := folder_damage(path)) is not None:
            raise FctrainError(f"{path}, the {key} in {done}, is damaged ({problem}); delete {done} to run the "
                               "stage again, or start over with resume=never")


def _inspect(plan: StagePlan) -> StagePlan:
    """Which results the stage folder holds, and the settings hash each of them recorded."""
    from fctrain.trainers.checkpointing import MARKER, newest_intact_checkpoint

    d, fix = plan.dir, START_OVER
    if (d / "outputs.json").is_file():
        plan.holds, outputs = "complete", read_json(d / "outputs.json", fix)
        _check_outputs(d / "outputs.json", outputs)
        plan.records.append((d / "outputs.json", outputs.get("config_hash")))
    else:
        ckpt, plan.damaged = newest_intact_checkpoint(d / TRAINER_DIR)
        if ckpt is not None:
            plan.holds, plan.checkpoint = f"checkpoint step {ckpt.name.split('-')[-1]}", ckpt
            plan.records.append((ckpt / MARKER, read_json(ckpt / MARKER, fix).get("config_hash")))
        elif plan.kind in PARTIAL_WORK_STAGES and (d / SETTINGS_FILE).is_file():
            plan.holds = "partial work"
        elif plan.damaged:
            plan.holds = "damaged checkpoints only"
    if (plan.records or plan.holds == "partial work") and (d / SETTINGS_FILE).is_file():
        plan.records.append((d / SETTINGS_FILE, read_json(d / SETTINGS_FILE, fix).get("config_hash")))
    return plan


def _recorded_settings(plan: StagePlan, old_recipe: Callable[[], Any]) -> dict[str, Any] | None:
    """The settings the stage recorded (settings.json), else those of the run's config.yaml (older runs)."""
    path = plan.dir / SETTINGS_FILE
    if path.is_file():
        return read_json(path).get("settings")
    old = old_recipe()
    return None if old is None else stage_settings(old, plan.index)


def _old_recipe(run_dir: Path):
    """The run's config.yaml as the recipe it records, or None when there is none."""
    from fctrain.config.loader import parse_recipe, read_yaml

    path = run_dir / "config.yaml"
    if not path.is_file():
        return None
    try:
        return parse_recipe(read_yaml(path), str(path))
    except FctrainError as e:
        raise FctrainError(f"cannot tell what produced {run_dir}: {e}; {START_OVER}") from None


_NOT_SET = object()  # a key one side of a comparison does not have


def _changes(old: dict[str, Any], new: dict[str, Any]) -> list[tuple[str, Any, Any]]:
    keys = sorted(set(old) | set(new), key=lambda k: [(0, int(p), "") if p.isdigit() else (1, 0, p)
                                                      for p in k.split(".")])
    return [(k, old.get(k, _NOT_SET), new.get(k, _NOT_SET)) for k in keys
            if old.get(k, _NOT_SET) != new.get(k, _NOT_SET)]


def _show(value: Any) -> str:
    return "(not set)" if value is _NOT_SET else repr(value)


@dataclass
class ResumeCheck:
    plans: list[StagePlan]  # the stages that hold results
    mismatched: list[StagePlan]  # those whose records are not of this recipe's settings
    changes: list[tuple[str, Any, Any]]  # (key, recorded, now) over them; may be empty when nothing says why


def check_resume(run_dir: Path, loaded) -> ResumeCheck:
    """Every stage of `loaded` holding results in run_dir, checked against this recipe's settings."""
    old = functools.cache(lambda: _old_recipe(run_dir))  # read only for a stage without settings.json
    plans, mismatched, changes = [], [], {}
    for i, (kind, _) in enumerate(loaded.stages):
        settings = stage_settings(loaded, i)
        plan = _inspect(StagePlan(i, kind, stage_dir(run_dir, i, kind), settings, settings_hash(settings)))
        if plan.holds is None:
            continue
        plans.append(plan)
        recorded = _recorded_settings(plan, old)
        if not plan.matches(None if recorded is None else settings_hash(recorded)):
            mismatched.append(plan)
            changes.update({k: (k, a, b) for k, a, b in _changes(recorded, settings)} if recorded else {})
    return ResumeCheck(plans, mismatched, list(changes.values()))


def mismatch_message(run_dir: Path, check: ResumeCheck) -> str:
    held = ", ".join(p.name for p in check.mismatched)
    lines = [f"{run_dir} holds results of other settings than this recipe ({held}); nothing was changed."]
    if check.changes:
        lines.append("Settings that differ (recorded -> now):")
        lines += [f"  {key}: {_show(a)} -> {_show(b)}" for key, a, b in check.changes]
    else:
        lines.append("Their recorded settings hash differs from this recipe's, but no recorded setting says how "
                     "(records edited by hand, missing, or written by another fctrain version).")
    lines += ["Choose one:",
              "  - a new run directory: output_dir=<another path>",
              f"  - resume=never: start over in the next free directory ({run_dir.name}-2, -3 ...)",
              f"  - resume=force: continue in {run_dir} with the new settings; the change is recorded in "
              f"{run_dir / FORCE_LOG}"]
    return "\n".join(lines)


def force(run_dir: Path, check: ResumeCheck, argv: list[str]) -> None:
    """resume=force: log what changed, then restamp every record with the new settings."""
    from fctrain.run_dir import redact_argv

    entry = {"time": time.strftime("%Y-%m-%dT%H:%M:%S%z"), "argv": redact_argv(argv),
             "stages": [p.name for p in check.mismatched],
             "changes": [{"key": k, "recorded": _show(a), "now": _show(b)} for k, a, b in check.changes]}
    log = run_dir / FORCE_LOG
    before = log.read_text() if log.is_file() else ""
    atomic_write_text(log, before + json.dumps(entry, default=repr) + "\n")
    for plan in check.mismatched:
        for path, _ in plan.records:
            if path.name != SETTINGS_FILE:
                atomic_write_json(path, {**read_json(path), "config_hash": plan.hash})
        write_stage_settings(plan.dir, plan.settings)


def write_stage_settings(directory: Path, settings: dict[str, Any]) -> str:
    """Record a stage's settings when it starts; returns their hash (for outputs.json and checkpoints)."""
    digest = settings_hash(settings)
    atomic_write_json(directory / SETTINGS_FILE, {"config_hash": digest, "settings": settings})
    return digest


def describe(plans: list[StagePlan]) -> list[str]:
    """Where this run continues from: a line per stage resumed from a checkpoint or from partial work
    (complete stages say so when the run reaches them)."""
    out = []
    for p in plans:
        damaged = "".join(f"; {path.name} is damaged ({problem}) and set aside" for path, problem in p.damaged)
        if p.checkpoint is not None:
            out.append(f"stage {p.index + 1} ({p.kind}) continues from checkpoint step "
                       f"{p.checkpoint.name.split('-')[-1]}: {p.checkpoint}{damaged}")
        elif p.damaged:
            out.append(f"stage {p.index + 1} ({p.kind}) starts over{damaged}")
        elif p.holds != "complete":
            out.append(f"stage {p.index + 1} ({p.kind}) continues its partial work in {p.dir}")
    return out
