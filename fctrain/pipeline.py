"""Run a recipe: prepare data once, then each stage in order, each stage's outputs feeding the next.

    run_dir/data/{train,val}.jsonl   canonical samples after adapters, mixing, dedup and split
    run_dir/01-sft/outputs.json      written last by a finished stage; `resume: auto` skips such stages

Under torchrun every rank runs this same function: rank 0 picks the run directory and tells the others,
writes every shared file (run files, data, outputs.json, summary.json) while they wait at a barrier, and
hands its stage outputs to all ranks, so every rank continues from the same paths. Training stages run on
all ranks; MAIN_RANK_STAGES run on rank 0 alone (the others wait for its result).
"""

from __future__ import annotations

import json
import random
import time
from pathlib import Path
from typing import Any

from rich.console import Console
from rich.table import Table

from fctrain.config.loader import LoadedRecipe
from fctrain.config.typed_dict import to_dict
from fctrain.distributed import ranks
from fctrain.errors import FctrainError
from fctrain.run_dir import atomic_write_json, choose_run_dir, write_run_files
from fctrain.stages.context import StageContext
from fctrain.stages.registry import stage_runner

console = Console(stderr=True, quiet=not ranks.is_main())  # one copy of the progress messages, not one per rank
MAIN_RANK_STAGES = frozenset({"cache_teacher", "eval"})  # one pass over the data, written to one place


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


def prepare_data(loaded: LoadedRecipe, run_dir: Path) -> dict[str, Any]:
    """Load every source with its adapter, mix by weight, dedup, split by id hash; write JSONL files."""
    from fctrain.data import load_source, mix_sources, split_train_val, write_jsonl
    from fctrain.data.builtin_sources import BUILTIN_SOURCES
    from fctrain.data.sources import LoadResult

    cfg, seed = loaded.recipe.data, loaded.recipe.seed
    if not cfg.sources:
        return {}
    out = run_dir / "data"
    train_path, val_path = out / "train.jsonl", out / "val.jsonl"
    if train_path.exists() and val_path.exists() and (out / "stats.json").exists():
        return {"data_path": str(train_path), "val_path": str(val_path)}
    results = []
    for src in cfg.sources:
        if src.format in BUILTIN_SOURCES:
            res = LoadResult(samples=BUILTIN_SOURCES[src.format](src), source=src.format)
        else:
            res = load_source(src.path, src.format, on_invalid=cfg.on_invalid, split=src.split,
                              max_samples=src.max_samples)
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
    stats = {"train": len(train), "val": len(val), "skipped": skipped}
    atomic_write_json(out / "stats.json", stats)
    console.print(f"[bold]data[/]: {len(train)} train / {len(val)} val samples" +
                  (f", skipped {skipped}" if skipped else ""))
    return {"data_path": str(train_path), "val_path": str(val_path)}


def _stage_dir(run_dir: Path, i: int, kind: str) -> Path:
    return run_dir / f"{i + 1:02d}-{kind}"


def reused_outputs(kind: str, result: dict[str, Any]) -> dict[str, Any]:
    """A completed stage's outputs.json as this version reads it: a rollout stage written before rollouts had
    their own key (they were `data_path`) hands them on as `rollouts_path`, so a later grpo keeps the references."""
    if kind == "rollout" and "data_path" in result and "rollouts_path" not in result:
        result = dict(result)
        result["rollouts_path"] = result.pop("data_path")
    return result


def _start_run(loaded: LoadedRecipe, argv: list[str] | None) -> Path:
    """Rank 0 picks the run directory (suffixing a taken one) and writes the run files; every rank gets its path."""
    r = loaded.recipe
    run_dir = None
    if ranks.is_main():
        run_dir = choose_run_dir(r.output_dir, r.name, r.resume).resolve()
        config = to_dict(r)
        config["stages"] = [{"type": kind, **to_dict(cfg)} for kind, cfg in loaded.stages]
        write_run_files(run_dir, config, r.seed, argv)
    run_dir = ranks.broadcast_object(run_dir)
    if not (run_dir / "config.yaml").is_file():  # only reachable on another node
        raise FctrainError(f"rank {ranks.rank()}: {run_dir}/config.yaml written by rank 0 is not visible here; "
                           "in a multi-node run output_dir must be on a filesystem every node shares")
    return run_dir


def _run_stage(kind: str, cfg: Any, ctx: StageContext) -> dict[str, Any]:
    """Every rank runs the stage (or rank 0 alone, for MAIN_RANK_STAGES); all ranks return rank 0's result."""
    if kind in MAIN_RANK_STAGES:
        return ranks.on_main(lambda: stage_runner(kind)(ctx, cfg) or {})
    return ranks.broadcast_object(stage_runner(kind)(ctx, cfg) or {})


def run_recipe(loaded: LoadedRecipe, argv: list[str] | None = None) -> dict[str, Any]:
    from fctrain.distributed import prepare_process

    r = loaded.recipe
    prepare_process(r)  # torchrun: join the process group before any rank touches the run directory
    run_dir = _start_run(loaded, argv)
    console.print(f"[bold]run directory[/]: {run_dir}" +
                  (f" ({ranks.world_size()} ranks)" if ranks.is_distributed() else ""))
    seed_everything(r.seed, r.device)
    started = time.time()

    outputs: dict[str, Any] = ranks.main_first(lambda: prepare_data(loaded, run_dir))
    summary: dict[str, Any] = {"run_dir": str(run_dir), "stages": []}
    for i, (kind, cfg) in enumerate(loaded.stages):
        stage_dir = _stage_dir(run_dir, i, kind)
        done = stage_dir / "outputs.json"
        if r.resume == "auto" and done.exists():
            result = reused_outputs(kind, json.loads(done.read_text()))
            console.print(f"[dim]stage {i + 1} ({kind}): already complete, reusing its outputs[/]")
        else:
            stage_dir.mkdir(parents=True, exist_ok=True)
            console.rule(f"stage {i + 1}/{len(loaded.stages)}: {kind}")
            ctx = StageContext(run_dir=run_dir, stage_dir=stage_dir, recipe=r, outputs=dict(outputs), seed=r.seed)
            t0 = time.time()
            result = _run_stage(kind, cfg, ctx)
            result["seconds"] = round(time.time() - t0, 1)
            console.print(f"[bold]stage {i + 1}/{len(loaded.stages)} ({kind})[/]: {result['seconds']:.0f} s "
                          f"(run so far: {time.time() - started:.0f} s)")
            if ranks.is_main():
                atomic_write_json(done, result)  # the completion marker, written last
        outputs.update({k: v for k, v in result.items() if k not in ("metrics", "seconds")})
        summary["stages"].append({"type": kind, "dir": stage_dir.name, **result})
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
