"""Run a recipe: prepare data once, then each stage in order, each stage's outputs feeding the next.

    run_dir/data/{train,val}.jsonl   canonical samples after adapters, mixing, dedup and split
    run_dir/01-sft/settings.json     the settings that shape the stage, written when it starts
    run_dir/01-sft/outputs.json      written last by a finished stage; `resume: auto` skips such stages when
                                     their settings are the recipe's (fctrain/resume_check.py, docs/resume.md)

Rank 0 holds RUN_DIR/fctrain.lock for the whole run (fctrain/run_lock.py): one writer per run directory.

Under torchrun every rank runs this same function: rank 0 picks the run directory and tells the others,
writes every shared file (run files, data, outputs.json, summary.json) while they wait at a barrier, and
hands its stage outputs to all ranks, so every rank continues from the same paths. Training stages run on
all ranks; MAIN_RANK_STAGES run on rank 0 alone (the others wait for its result).
"""

from __future__ import annotations

import random
import re
import shutil
import sys
import time
from collections.abc import Callable
from dataclasses import replace
from pathlib import Path
from typing import Any, TypeVar

from rich.console import Console
from rich.table import Table

from fctrain.config.loader import LoadedRecipe
from fctrain.config.typed_dict import to_dict
from fctrain.distributed import ranks
from fctrain.errors import DataError, FctrainError
from fctrain.resume_check import (
    FORCE_LOG,
    START_OVER,
    ResumeMismatch,
    check_resume,
    data_settings,
    describe,
    force,
    mismatch_message,
    settings_hash,
    stage_dir,
    stage_settings,
    write_stage_settings,
)
from fctrain.run_dir import Claim, atomic_write_json, claim_run_dir, read_json, write_run_files
from fctrain.stages.context import StageContext
from fctrain.stages.registry import stage_runner

console = Console(stderr=True, quiet=not ranks.is_main())  # one copy of the progress messages, not one per rank
MAIN_RANK_STAGES = frozenset({"cache_teacher", "eval"})  # one pass over the data, written to one place
T = TypeVar("T")
STAGE_DIR = re.compile(r"^\d{2}-")  # NN-<stage>: a stage started in the run directory


def seed_everything(seed: int, device: str | None = None) -> None:
    """Seed every generator. On CPU also ask torch for deterministic kernels, so that two runs on one machine
    (same thread count) give the same numbers; CUDA runs keep the fast kernels."""
    import numpy as np
    import torch

    from fctrain.models.device import cuda_wanted

    random.seed(seed)
    np.random.seed(seed)
    torch.manual_seed(seed)
    if not cuda_wanted(device):
        torch.use_deterministic_algorithms(True, warn_only=True)
        # Deterministic mode also fills every new tensor with NaN to expose reads of uninitialised memory; that
        # changes no result and cost ~10% of a CPU training step (fill_empty_deterministic_ in a profile).
        torch.utils.deterministic.fill_uninitialized_memory = False


def prepare_data(loaded: LoadedRecipe, run_dir: Path) -> dict[str, Any]:
    """Load every source with its adapter, mix by weight, dedup, split by id hash; write JSONL files."""
    from fctrain.data import load_source, mix_sources, split_train_val, write_jsonl
    from fctrain.data.builtin_sources import BUILTIN_SOURCES
    from fctrain.data.sources import LoadResult

    cfg, seed = loaded.recipe.data, loaded.recipe.seed
    if not cfg.sources:
        return {}
    out = run_dir / "data"
    train_path, val_path, stats_path = out / "train.jsonl", out / "val.jsonl", out / "stats.json"
    digest = settings_hash(data_settings(loaded))
    if train_path.exists() and val_path.exists() and stats_path.exists() and \
            read_json(stats_path).get("config_hash") == digest:  # else made for other data settings: redo
        return {"data_path": str(train_path), "val_path": str(val_path)}
    results = []
    for i, src in enumerate(cfg.sources):
        if src.format in BUILTIN_SOURCES:
            res = LoadResult(samples=BUILTIN_SOURCES[src.format](src), source=src.format)
        else:
            res = load_source(src.path, src.format, on_invalid=cfg.on_invalid, split=src.split,
                              max_samples=src.max_samples)
        if not res.samples:
            why = f"every record was skipped ({dict(res.skipped)})" if res.skipped else "it holds no records"
            raise DataError(f"{loaded.source}: 'data.sources.{i}' ({src.path}, format {src.format}) gave no "
                            f"samples: {why}")
        results.append((res, src.weight))
    mixed = mix_sources(results, seed=seed, total=cfg.total, dedup=cfg.dedup)
    train, val = split_train_val(mixed.samples, cfg.val_fraction, seed=seed)
    if cfg.rename_functions:
        from fctrain.data.function_renaming import rename_share

        train = rename_share(train, cfg.rename_functions, seed=seed)
    write_jsonl(train_path, train)
    write_jsonl(val_path, val)
    skipped = {r.source: dict(r.skipped) for r, _ in results if r.skipped}
    if mixed.skipped:
        skipped["mixture"] = dict(mixed.skipped)
    stats = {"train": len(train), "val": len(val), "skipped": skipped, "config_hash": digest}
    atomic_write_json(stats_path, stats)
    console.print(f"[bold]data[/]: {len(train)} train / {len(val)} val samples" +
                  (f", skipped {skipped}" if skipped else ""))
    return {"data_path": str(train_path), "val_path": str(val_path)}


def reused_outputs(kind: str, result: dict[str, Any]) -> dict[str, Any]:
    """A completed stage's outputs.json as this version reads it: a rollout stage written before rollouts had
    their own key (they were `data_path`) hands them on as `rollouts_path`, so a later grpo keeps the references."""
    if kind == "rollout" and "data_path" in result and "rollouts_path" not in result:
        result = dict(result)
        result["rollouts_path"] = result.pop("data_path")
    return result


def stage_template(loaded: LoadedRecipe) -> str:
    """The template the stages render with. template.name=model takes each model's own (student and teacher)
    when it renders tools; else template.fallback, said here (config.yaml records the key), else an error."""
    r, t = loaded.recipe, loaded.recipe.template
    if t.name != "model":
        return t.name
    from fctrain.models.load import load_tokenizer
    from fctrain.render.template import no_tool_template_error, own_template_problem

    for key, cfg in (("model", r.model), ("teacher", r.teacher)):
        problem = None if cfg is None else own_template_problem(load_tokenizer(cfg))
        if problem is None:
            continue
        if t.fallback is None:
            raise no_tool_template_error(cfg.name_or_path, problem, where=f"{loaded.source}: ")
        console.print(f"[yellow]template[/]: the {key} {cfg.name_or_path!r} {problem}; every stage renders with "
                      f"template.fallback={t.fallback}")
        return t.fallback
    return t.name


def _on_main_or_raise(fn: Callable[[], T]) -> T:
    """fn on rank 0; every rank returns its result or raises its FctrainError, so no rank waits forever for a
    rank 0 that stopped."""
    def attempt():
        try:
            return fn(), None
        except FctrainError as e:
            return None, e

    result, error = ranks.on_main(attempt)
    if error is not None:
        raise error if ranks.is_main() else FctrainError(str(error))
    return result


def _start_run(loaded: LoadedRecipe, claims: list[Claim], argv: list[str] | None) -> Path:
    """Rank 0 claims (locks) the run directory and writes the run files, adding its claim to `claims`; every
    rank gets the path. Only rank 0 locks: the ranks of one torchrun job are one writer."""
    def write() -> Path:
        r = loaded.recipe
        claim = claim_run_dir(r.output_dir, r.name, r.resume)
        claims.append(claim)
        if note := claim.lock.stale_note():
            console.print(f"[yellow]lock[/]: {note}")
        if r.resume != "never":
            _check_resume(claim.path, loaded, argv)
        config = to_dict(r)
        config["stages"] = [{"type": kind, **to_dict(cfg)} for kind, cfg in loaded.stages]
        write_run_files(claim.path, config, r.seed, argv)
        return claim.path

    run_dir = _on_main_or_raise(write)
    if not (run_dir / "config.yaml").is_file():  # only reachable on another node
        raise FctrainError(f"rank {ranks.rank()}: {run_dir}/config.yaml written by rank 0 is not visible here; "
                           "in a multi-node run output_dir must be on a filesystem every node shares")
    return run_dir


def _completed(i: int, kind: str, folder: Path, resume: str) -> dict[str, Any] | None:
    """The outputs of a stage already complete in the run directory (checked by _check_resume), or None."""
    done = folder / "outputs.json"
    if resume == "never" or not done.is_file():
        return None
    console.print(f"[dim]stage {i + 1} ({kind}): already complete, reusing its outputs[/]")
    return reused_outputs(kind, read_json(done, fix=START_OVER))


def _run_fresh(loaded: LoadedRecipe, i: int, cfg: Any, ctx: StageContext, run_started: float) -> dict[str, Any]:
    """Run stage i (continuing its checkpoint, if any); its outputs.json, the completion marker, comes last and
    records the hash of the settings that produced it, as settings.json and its checkpoints do."""
    kind, settings = loaded.stages[i][0], stage_settings(loaded, i)
    ctx.stage_dir.mkdir(parents=True, exist_ok=True)
    ctx.config_hash = write_stage_settings(ctx.stage_dir, settings) if ranks.is_main() else settings_hash(settings)
    console.rule(f"stage {i + 1}/{len(loaded.stages)}: {kind}")
    t0 = time.time()
    result = _run_stage(kind, cfg, ctx)
    result["seconds"] = round(time.time() - t0, 1)
    result["config_hash"] = ctx.config_hash
    console.print(f"[bold]stage {i + 1}/{len(loaded.stages)} ({kind})[/]: {result['seconds']:.0f} s "
                  f"(run so far: {time.time() - run_started:.0f} s)")
    if ranks.is_main():
        atomic_write_json(ctx.stage_dir / "outputs.json", result)
    return result


def _check_resume(run_dir: Path, loaded: LoadedRecipe, argv: list[str] | None) -> None:
    """Before config.yaml is rewritten: stop when the directory holds results of other settings (resume=auto),
    or record the change (resume=force); then say where the run continues from."""
    check = check_resume(run_dir, loaded)
    if check.mismatched and loaded.recipe.resume != "force":
        raise ResumeMismatch(mismatch_message(run_dir, check))
    if check.mismatched:
        force(run_dir, check, argv if argv is not None else sys.argv)
        console.print(f"[yellow]resume=force[/]: continuing with changed settings; recorded in {run_dir / FORCE_LOG}")
    for line in describe(check.plans):
        console.print(f"[bold]resume[/]: {line}")


def _run_stage(kind: str, cfg: Any, ctx: StageContext) -> dict[str, Any]:
    """Every rank runs the stage (or rank 0 alone, for MAIN_RANK_STAGES); all ranks return rank 0's result."""
    if kind in MAIN_RANK_STAGES:
        return ranks.on_main(lambda: stage_runner(kind)(ctx, cfg) or {})
    return ranks.broadcast_object(stage_runner(kind)(ctx, cfg) or {})


def run_recipe(loaded: LoadedRecipe, argv: list[str] | None = None) -> dict[str, Any]:
    from fctrain.distributed import prepare_process

    r = loaded.recipe
    prepare_process(r)  # torchrun: join the process group before any rank touches the run directory
    template = _on_main_or_raise(lambda: stage_template(loaded))  # before the run directory: a refusal leaves none
    stage_recipe = replace(r, template=replace(r.template, name=template))
    claims: list[Claim] = []
    try:
        return _run(loaded, stage_recipe, _start_run(loaded, claims, argv))
    except BaseException:
        for claim in claims:
            _discard_if_unstarted(claim)
        raise
    finally:
        from fctrain.models.frozen_block_cache import release_shared_features

        release_shared_features()  # the features shared by this run's stages
        for claim in claims:
            claim.lock.release()


def _discard_if_unstarted(claim: Claim) -> None:
    """A run that created its directory and failed before any stage started (bad data, say) leaves no stub
    behind: the next run of the recipe gets the same directory."""
    if claim.created and not any(p.is_dir() and STAGE_DIR.match(p.name) for p in claim.path.iterdir()):
        shutil.rmtree(claim.path, ignore_errors=True)


def _run(loaded: LoadedRecipe, stage_recipe: Any, run_dir: Path) -> dict[str, Any]:
    r = loaded.recipe
    console.print(f"[bold]run directory[/]: {run_dir}" +
                  (f" ({ranks.world_size()} ranks)" if ranks.is_distributed() else ""))
    seed_everything(r.seed, r.device)
    started = time.time()

    outputs: dict[str, Any] = ranks.main_first(lambda: prepare_data(loaded, run_dir))
    summary: dict[str, Any] = {"run_dir": str(run_dir), "stages": []}
    for i, (kind, cfg) in enumerate(loaded.stages):
        folder = stage_dir(run_dir, i, kind)
        result = _completed(i, kind, folder, r.resume)
        if result is None:
            ctx = StageContext(run_dir=run_dir, stage_dir=folder, recipe=stage_recipe, outputs=dict(outputs),
                               seed=r.seed)
            result = _run_fresh(loaded, i, cfg, ctx, started)
        outputs.update({k: v for k, v in result.items() if k not in ("metrics", "seconds", "config_hash")})
        summary["stages"].append({"type": kind, "dir": folder.name, **result})
        if ranks.is_main():
            atomic_write_json(run_dir / "summary.json", summary)
        ranks.barrier()  # no rank starts the next stage before the marker and this stage's files exist
    if ranks.is_main():
        print_summary(summary)
    return summary


def _fmt(value: Any) -> str:
    if isinstance(value, float):
        return f"{value:.4g}"
    return str(value)


def print_summary(summary: dict[str, Any]) -> None:
    table = Table(title=f"fctrain run: {summary['run_dir']}")
    table.add_column("stage")
    table.add_column("seconds", justify="right")
    table.add_column("metrics")
    table.add_column("output")
    for s in summary["stages"]:
        metrics = s.get("metrics") or {}
        shown = ", ".join(f"{k}={_fmt(v)}" for k, v in list(metrics.items())[:6])
        out = next((s[k] for k in ("model_path", "teacher_path", "cache_dir", "rollouts_path", "data_path", "eval_dir") if s.get(k)), "")
        table.add_row(s["type"], _fmt(s.get("seconds", "")), shown, str(out))
    Console().print(table)
