"""The `fctrain` command line.

    fctrain run RECIPE [key=value ...]        run every stage of a recipe (or a saved RUN_DIR/config.yaml)
    fctrain validate RECIPE [key=value ...]   check a recipe without running it
    fctrain rollout | cache-teacher RECIPE    run only that stage type of a recipe
    fctrain demo [--budget small] [--out DIR] the embedded end-to-end demo on SmolLM2-135M-Instruct
    fctrain eval --model M [--limit N]        BFCL AST evaluation
    fctrain report RUN_DIR [RUN_DIR ...]      curves and side-by-side eval charts as PNG
    fctrain launch --nproc N RECIPE [k=v]     torchrun wrapper for multi-process runs
    fctrain export RUN_DIR --merge            LoRA adapters merged into a plain HF checkpoint
"""

from __future__ import annotations

import argparse
import os
import sys

from fctrain.errors import FctrainError


def _load(args):
    from fctrain.config.loader import load_recipe

    return load_recipe(args.recipe, args.overrides)


def cmd_validate(args) -> int:
    from rich.console import Console

    loaded = _load(args)
    kinds = " -> ".join(k for k, _ in loaded.stages)
    Console().print(f"[green]ok[/]: {loaded.source} ({kinds})")
    return 0


def cmd_run(args, only: str | None = None) -> int:
    from fctrain.pipeline import run_recipe

    loaded = _load(args)
    if only is not None:
        loaded.stages = [(k, c) for k, c in loaded.stages if k == only]
        if not loaded.stages:
            raise FctrainError(f"{loaded.source}: has no '{only}' stage")
    run_recipe(loaded, argv=sys.argv)
    return 0


def cmd_demo(args) -> int:
    from fctrain.demo import run_demo

    run_demo(budget=args.budget, out=args.out, model=args.model)
    return 0


def cmd_eval(args) -> int:
    from fctrain.eval.cli import eval_main

    eval_main(model=args.model, categories=args.categories, limit=args.limit, out=args.out,
              batch_size=args.batch_size, max_new_tokens=args.max_new_tokens, think=args.think,
              seed=args.seed, offset=args.offset, cpu_bf16=args.cpu_bf16, prompt=args.prompt)
    return 0


def cmd_report(args) -> int:
    from fctrain.eval.report import make_report

    make_report(args.run_dirs, args.out)
    return 0


def cmd_launch(args) -> int:
    from fctrain.distributed.launch import launch

    return launch(args)


def cmd_export(args) -> int:
    from fctrain.export import export_run

    export_run(args.run_dir, out=args.out, merge=args.merge)
    return 0


def at_least(low: int):
    """An argparse type: an integer >= low (so `--limit 0` is refused, not read as "no questions")."""
    def parse(text: str) -> int:
        try:
            value = int(text)
        except ValueError:
            raise argparse.ArgumentTypeError(f"expected an integer, got {text!r}") from None
        if value < low:
            raise argparse.ArgumentTypeError(f"must be >= {low}, got {value}")
        return value

    return parse


def build_parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(prog="fctrain", description="Train small function-calling language models.")
    sub = p.add_subparsers(dest="command", required=True)

    def recipe_cmd(name, help, fn):
        s = sub.add_parser(name, help=help)
        s.add_argument("recipe", help="recipe YAML (or a saved RUN_DIR/config.yaml)")
        s.add_argument("overrides", nargs="*", help="key=value overrides, nested keys with dots")
        s.set_defaults(fn=fn)
        return s

    recipe_cmd("run", "run a recipe", cmd_run)
    recipe_cmd("validate", "check a recipe", cmd_validate)
    recipe_cmd("rollout", "run only the rollout stage of a recipe", lambda a: cmd_run(a, "rollout"))
    recipe_cmd("cache-teacher", "run only the cache_teacher stage", lambda a: cmd_run(a, "cache_teacher"))

    d = sub.add_parser("demo", help="end-to-end demo on the embedded SmolLM2-135M-Instruct")
    d.add_argument("--budget", default="small", choices=["small", "medium", "large"])
    d.add_argument("--out", default="runs/demo")
    d.add_argument("--model", default="smollm2-135m-instruct")
    d.set_defaults(fn=cmd_demo)

    e = sub.add_parser("eval", help="BFCL evaluation (single-turn AST and multi-turn categories)")
    e.add_argument("--model", required=True)
    e.add_argument("--categories", nargs="*", default=None)
    e.add_argument("--limit", type=at_least(1), default=None, help="questions per category")
    e.add_argument("--seed", type=int, default=None, help="with --limit: a seeded sample instead of the first ones")
    e.add_argument("--offset", type=at_least(0), default=0,
                   help="skip this many first questions per category (a dev slice disjoint from a held-out set)")
    e.add_argument("--out", default=None)
    e.add_argument("--batch-size", type=at_least(1), default=8)
    e.add_argument("--max-new-tokens", type=at_least(1), default=256)
    e.add_argument("--think", action="store_true")
    e.add_argument("--cpu-bf16", action="store_true",
                   help="on CPU, generate under bf16 autocast (about 2x faster where the CPU has native bf16)")
    e.add_argument("--prompt", choices=["auto", "bfcl", "served"], default="auto",
                   help="bfcl: the prompt BFCL's own handler builds for this model family; served: the model's "
                        "tool template; auto (default): bfcl when BFCL has a handler for the family")
    e.set_defaults(fn=cmd_eval)

    r = sub.add_parser("report", help="plots from run directories")
    r.add_argument("run_dirs", nargs="+")
    r.add_argument("--out", default=None)
    r.set_defaults(fn=cmd_report)

    la = sub.add_parser("launch", help="multi-process launch through torchrun")
    la.add_argument("--nproc", type=at_least(1), default=1)
    la.add_argument("--nnodes", type=at_least(1), default=1)
    la.add_argument("--node-rank", type=at_least(0), default=0)
    la.add_argument("--master-addr", default="127.0.0.1")
    la.add_argument("--master-port", type=int, default=29500)
    la.add_argument("recipe")
    la.add_argument("overrides", nargs="*")
    la.set_defaults(fn=cmd_launch)

    x = sub.add_parser("export", help="export a trained model (merging LoRA adapters)")
    x.add_argument("run_dir")
    x.add_argument("--out", default=None)
    x.add_argument("--merge", action="store_true")
    x.set_defaults(fn=cmd_export)
    return p


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    try:
        return args.fn(args)
    except FctrainError as e:
        print(f"fctrain: error: {e}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        print("fctrain: interrupted", file=sys.stderr)
        return 130


if __name__ == "__main__":
    os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")
    sys.exit(main())
