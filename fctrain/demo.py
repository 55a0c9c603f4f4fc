"""`fctrain demo`: the STAR curriculum end to end on the embedded SmolLM2-135M-Instruct, fully offline.

The curriculum is an ordinary recipe (recipes/demo/<budget>.yaml): its first eval stage is labelled
"before" and its last "after", both on the same held-out BFCL questions (never trained on). This module
only runs it and writes DIR/summary.json = {"before": {...}, "after": {...}, "stages": [...]}.
"""

from __future__ import annotations

import json
from pathlib import Path

from rich.console import Console
from rich.table import Table

from fctrain.errors import FctrainError


def demo_recipe(budget: str) -> Path:
    from fctrain.config.shipped_recipes import recipes_root

    path = recipes_root() / "demo" / f"{budget}.yaml"
    if not path.exists():
        raise FctrainError(f"no demo recipe for budget {budget!r} ({path} is missing)")
    return path


def accuracies(stage: dict) -> dict:
    """{"single_turn": x, "accuracy": a, <category>: y, ...} from an eval stage (accuracies in [0, 1]).

    single_turn = v4's single-turn weighting of the evaluated categories (non-live AST and irrelevance weigh
    the same; not BFCL's overall, which needs multi-turn and agentic); accuracy = the share of all held-out
    questions answered correctly."""
    m = stage.get("metrics", {})
    out = {"single_turn": m.get("bfcl_single_turn"), "accuracy": _question_accuracy(stage)}
    out.update({k[len("bfcl_"):]: v for k, v in m.items()
                if k.startswith("bfcl_") and k != "bfcl_single_turn" and not k.startswith("bfcl_overall")
                and not (k == "bfcl_multi_turn" and v is None)})  # the demo evaluates single-turn only
    out.update({k: v for k, v in m.items() if k.startswith("heldout_")})
    return out


def _question_accuracy(stage: dict) -> float | None:
    results = Path(stage.get("eval_dir", "")) / "results.json"
    if not results.is_file():
        return None
    cats = json.loads(results.read_text())["categories"].values()
    total = sum(c["total_count"] for c in cats)
    return sum(c["correct"] for c in cats) / total if total else None


def demo_summary(run_summary: dict) -> dict:
    evals = [s for s in run_summary["stages"] if s["type"] == "eval"]
    if len(evals) < 2:
        raise FctrainError("the demo recipe needs an eval stage before and after training")
    return {"before": accuracies(evals[0]), "after": accuracies(evals[-1]), "stages": run_summary["stages"],
            "run_dir": run_summary["run_dir"]}


def print_before_after(summary: dict) -> None:
    table = Table(title="fctrain demo: BFCL AST accuracy on held-out questions")
    table.add_column("category")
    table.add_column("before", justify="right")
    table.add_column("after", justify="right")
    for key in summary["before"]:
        b, a = summary["before"].get(key), summary["after"].get(key)
        fmt = lambda v: "-" if v is None else f"{v:.3f}"
        table.add_row(key, fmt(b), fmt(a))
    Console().print(table)


def run_demo(budget: str = "small", out: str = "runs/demo", model: str = "smollm2-135m-instruct") -> dict:
    from fctrain.config.loader import load_recipe
    from fctrain.pipeline import run_recipe
    from fctrain.run_dir import atomic_write_json

    overrides = [f"output_dir={out}", f"model.name_or_path={model}"]
    loaded = load_recipe(demo_recipe(budget), overrides)
    if loaded.recipe.teacher is not None and loaded.recipe.teacher.name_or_path == "smollm2-135m-instruct":
        loaded.recipe.teacher.name_or_path = model  # the teacher is adapted from a copy of the same model
    run_summary = run_recipe(loaded)
    summary = demo_summary(run_summary)
    atomic_write_json(Path(run_summary["run_dir"]) / "summary.json", summary)
    print_before_after(summary)
    _plot(summary, Path(run_summary["run_dir"]))
    return summary


def _plot(summary: dict, run_dir: Path) -> None:
    try:
        from fctrain.eval.plots import plot_before_after
    except ImportError:
        return
    plot_before_after(summary["before"], summary["after"], run_dir / "before_after.png")


if __name__ == "__main__":
    print(json.dumps(run_demo(), indent=2, default=str))
