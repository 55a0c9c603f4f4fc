"""Run a recipe: prepare data once, then each stage in order, each stage's outputs feeding the next.

    run_dir/data/{train,val}.jsonl   canonical samples after adapters, mixing, dedup and split
    run_dir/01-sft/outputs.json      written last by a finished stage; `resume: auto` skips such stages
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
from fctrain.run_dir import atomic_write_json, choose_run_dir, write_run_files
from fctrain.stages.context import StageContext
from fctrain.stages.registry import stage_runner

console = Console(stderr=True)


def seed_everything(seed: int) -> None:
    import numpy as np
    import torch

    random.seed(seed)
    np.random.seed(seed)
    torch.manual_seed(seed)


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


def run_recipe(loaded: LoadedRecipe, argv: list[str] | None = None) -> dict[str, Any]:
    r = loaded.recipe
    run_dir = choose_run_dir(r.output_dir, r.name, r.resume).resolve()
    config = to_dict(r)
    config["stages"] = [{"type": kind, **to_dict(cfg)} for kind, cfg in loaded.stages]
    write_run_files(run_dir, config, r.seed, argv)
    console.print(f"[bold]run directory[/]: {run_dir}")
    seed_everything(r.seed)

    outputs: dict[str, Any] = prepare_data(loaded, run_dir)
    summary: dict[str, Any] = {"run_dir": str(run_dir), "stages": []}
    for i, (kind, cfg) in enumerate(loaded.stages):
        stage_dir = _stage_dir(run_dir, i, kind)
        done = stage_dir / "outputs.json"
        if r.resume == "auto" and done.exists():
            result = json.loads(done.read_text())
            console.print(f"[dim]stage {i + 1} ({kind}): already complete, reusing its outputs[/]")
        else:
            stage_dir.mkdir(parents=True, exist_ok=True)
            console.rule(f"stage {i + 1}/{len(loaded.stages)}: {kind}")
            ctx = StageContext(run_dir=run_dir, stage_dir=stage_dir, recipe=r, outputs=dict(outputs), seed=r.seed)
            t0 = time.time()
            result = stage_runner(kind)(ctx, cfg) or {}
            result["seconds"] = round(time.time() - t0, 1)
            atomic_write_json(done, result)  # the completion marker, written last
        outputs.update({k: v for k, v in result.items() if k not in ("metrics", "seconds")})
        summary["stages"].append({"type": kind, "dir": stage_dir.name, **result})
        atomic_write_json(run_dir / "summary.json", summary)
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
        out = next((s[k] for k in ("model_path", "teacher_path", "cache_dir", "data_path", "eval_dir") if s.get(k)), "")
        table.add_row(s["type"], _fmt(s.get("seconds", "")), shown, str(out))
    Console().print(table)
