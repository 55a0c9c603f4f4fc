"""`fctrain report RUN_DIR [RUN_DIR ...]`: training curves and side-by-side evaluation charts as PNG.

Training logs: every `metrics.jsonl` below a run directory (one JSON object per logged step, keys such as
step, loss, reward, kl, kept_fraction, stage; any may be missing; a key also matches with a prefix, e.g.
"train/loss"). Each file (and each stage inside it) becomes one line per panel of `training_curves.png`.
Evaluations: every BFCL `results.json` below the run directories, compared in `eval_compare.png` and
`eval_compare.md`.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from fctrain.errors import ConfigError
from fctrain.eval.aggregate import AGGREGATE_ORDER
from fctrain.eval.outputs import pct

METRICS = {"loss": "loss", "reward": "mean reward", "kl": "KL to reference", "kept_fraction": "kept fraction"}
# extra names trainers use for the same quantity (matched exactly or as the last "/" component)
# (not "train_loss": HF's end-of-training row averages the whole run, which is not a point of the curve)
ALIASES = {"loss": (), "reward": ("rewards/mean", "reward_mean"), "kl": ("kl_div",),
           "kept_fraction": ("keep_fraction", "kept_frac")}


@dataclass
class Series:
    label: str
    points: dict[str, list[tuple[float, float]]] = field(default_factory=dict)  # metric -> [(step, value)]


def _metric_value(row: dict[str, Any], metric: str) -> float | None:
    """The metric's value in one log row: the exact key first, else an alias or a "prefix/<name>" key."""
    names = (metric, *ALIASES.get(metric, ()))
    keys = [metric] + [k for k in row if k != metric and (k in names or k.rsplit("/", 1)[-1] in names)]
    for key in keys:
        value = row.get(key)
        if isinstance(value, (int, float)) and not isinstance(value, bool):
            return float(value)
    return None


def metric_series(path: Path, label: str) -> tuple[list[Series], int]:
    """One metrics.jsonl -> one Series per stage found in it; also the number of unreadable lines."""
    by_stage: dict[str, Series] = {}
    bad = 0
    with open(path, encoding="utf-8") as f:
        for index, line in enumerate(f):
            if not line.strip():
                continue
            try:
                row = json.loads(line)
            except json.JSONDecodeError:
                bad += 1
                continue
            if not isinstance(row, dict):
                bad += 1
                continue
            stage = row.get("stage")
            name = f"{label} [{stage}]" if stage and not label.endswith(f"/{stage}") else label
            series = by_stage.setdefault(str(stage), Series(name))
            step = row.get("step", row.get("global_step", index))
            step = float(step) if isinstance(step, (int, float)) else float(index)
            for metric in METRICS:
                value = _metric_value(row, metric)
                if value is not None:
                    series.points.setdefault(metric, []).append((step, value))
    return [s for s in by_stage.values() if s.points], bad


def _label(run_dir: Path, file: Path) -> str:
    rel = file.parent.relative_to(run_dir)
    return run_dir.name if str(rel) == "." else f"{run_dir.name}/{rel}"


def collect(run_dirs: list[Path]) -> tuple[list[Series], list[tuple[str, dict]], int]:
    series, evals, bad = [], [], 0
    for run_dir in run_dirs:
        for file in sorted(run_dir.rglob("metrics.jsonl")):
            found, n_bad = metric_series(file, _label(run_dir, file))
            series += found
            bad += n_bad
        for file in sorted(run_dir.rglob("results.json")):
            try:
                results = json.loads(file.read_text(encoding="utf-8"))
            except json.JSONDecodeError:
                bad += 1
                continue
            if isinstance(results, dict) and "categories" in results and "aggregates" in results:
                evals.append((_label(run_dir, file), results))
    return series, evals, bad


def plot_training_curves(series: list[Series], path: Path) -> Path:
    """2x2 panels (loss, reward, KL, kept fraction); one line per run/stage; empty panels say so."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    from matplotlib.ticker import MaxNLocator

    # One line style and marker per run, so that a second run's curve stays visible where it matches the first.
    runs = list(dict.fromkeys(s.label.split("/")[0] for s in series))
    styles = [("-", "o"), ("--", "s"), (":", "^"), ("-.", "D")]
    fig, axes = plt.subplots(2, 2, figsize=(12, 8))
    for ax, (metric, title) in zip(axes.flat, METRICS.items()):
        drawn = 0
        for s in series:
            points = sorted(s.points.get(metric, []))
            if not points:
                continue
            xs, ys = zip(*points)
            run = runs.index(s.label.split("/")[0])
            linestyle, marker = styles[run % len(styles)]
            lines = ax.plot(xs, ys, linestyle=linestyle, marker=marker if len(points) <= 30 else None,
                            markersize=3 if len(points) > 1 else 7, fillstyle="full" if run % 2 == 0 else "none",
                            linewidth=1.5, label=s.label)
            if len(points) == 1:  # a one-step stage: no line to read, so print the value beside its dot
                ax.annotate(f"{ys[0]:.4g}", (xs[0], ys[0]), xytext=(8, 0), textcoords="offset points",
                            color=lines[0].get_color(), fontsize=9, va="center")
            drawn += 1
        steps = [x for s in series for x, _ in s.points.get(metric, [])]
        if steps and max(steps) - min(steps) < 2:  # one or two steps: a few whole steps either side
            ax.set_xlim(max(0, min(steps) - 2), max(steps) + 2)
        ax.xaxis.set_major_locator(MaxNLocator(integer=True))  # optimizer steps
        values = [v for s in series for _, v in s.points.get(metric, [])]
        if values and min(values) > 0 and max(values) / min(values) > 50:
            ax.set_yscale("log")  # e.g. a CKD loss of ~3 next to a GRPO loss of ~0.01
        ax.set_title(title)
        ax.set_xlabel("optimizer step")
        ax.set_ylabel(metric)
        ax.grid(alpha=0.3)
        if drawn:
            ax.legend(fontsize=8)
        else:
            ax.text(0.5, 0.5, "not logged", ha="center", va="center", transform=ax.transAxes, color="gray")
    fig.suptitle("Training curves")
    fig.tight_layout()
    path.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(path, dpi=110)
    plt.close(fig)
    return path


def compare_markdown(evals: list[tuple[str, dict]]) -> str:
    """Side-by-side table: one row per category / summary, one column per evaluation."""
    rows: list[str] = []
    for _, results in evals:
        rows += [c for c in results["categories"] if c not in rows]
    header = "| | " + " | ".join(label for label, _ in evals) + " |"
    lines = [header, "|---|" + "---:|" * len(evals)]
    for row in rows:
        cells = [pct(r["categories"][row]["accuracy"]) if row in r["categories"] else "-" for _, r in evals]
        lines.append(f"| {row} | " + " | ".join(cells) + " |")
    for name in AGGREGATE_ORDER:
        cells = [pct(r["aggregates"].get(name, {}).get("accuracy")) for _, r in evals]
        lines.append(f"| **{name}** | " + " | ".join(cells) + " |")
    cells = [pct(r.get("format_failure_rate")) for _, r in evals]
    lines.append("| format failures | " + " | ".join(cells) + " |")
    return "\n".join(lines) + "\n"


def make_report(run_dirs: list[str | Path], out_dir: str | Path | None = None) -> dict[str, Any]:
    """Write training_curves.png (when any metrics were logged) and eval_compare.png/.md (when any BFCL
    results exist) into out_dir (default: RUN_DIR/report of the first run). Returns the paths and counts."""
    dirs = [Path(d) for d in run_dirs]
    for d in dirs:
        if not d.is_dir():
            raise ConfigError(f"report: run directory {d} does not exist")
    out = Path(out_dir) if out_dir else dirs[0] / "report"
    series, evals, bad = collect(dirs)
    report: dict[str, Any] = {"out_dir": out, "series": len(series), "evals": len(evals), "unreadable": bad}
    if series:
        report["training_curves"] = plot_training_curves(series, out / "training_curves.png")
    if evals:
        from fctrain.eval.plots import plot_runs

        labels = [label for label, _ in evals]
        report["eval_compare"] = plot_runs([r for _, r in evals], labels, out / "eval_compare.png",
                                           title="BFCL accuracy by run")
        (out / "eval_compare.md").write_text(compare_markdown(evals), encoding="utf-8")
        report["eval_compare_md"] = out / "eval_compare.md"
    if not series and not evals:
        raise ConfigError(f"report: no metrics.jsonl or results.json found under {', '.join(map(str, dirs))}")
    return report
