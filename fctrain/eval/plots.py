"""Bar charts of BFCL results: one run per category, and two or more runs side by side (before / after)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import matplotlib

matplotlib.use("Agg")  # files only, no display (CI, servers)
import matplotlib.pyplot as plt  # noqa: E402

from fctrain.eval.aggregate import AGGREGATE_ORDER  # noqa: E402

COLORS = ["#9aa5b1", "#2f6fdf", "#e07b39", "#3a9d5d", "#a24ccf"]


def _bars(results: dict[str, Any]) -> dict[str, tuple[float | None, str]]:
    """{label: (accuracy, count note)}: each category, then the BFCL summary scores that could be computed."""
    bars = {}
    for category, score in results["categories"].items():
        note = f" ({score['correct']}/{score['total_count']})" if "correct" in score and "total_count" in score else ""
        bars[category] = (score["accuracy"], note)
    for name in AGGREGATE_ORDER:
        accuracy = results.get("aggregates", {}).get(name, {}).get("accuracy")
        if accuracy is not None:
            bars[f"{name} (summary)"] = (accuracy, "")
    return bars


def plot_categories(results: dict[str, Any], path: str | Path, title: str | None = None) -> Path:
    """Horizontal bars: accuracy per category and the BFCL summaries, value printed on each bar."""
    return plot_runs([results], [results.get("model") or "model"], path,
                     title=title or f"BFCL accuracy: {results.get('model') or 'model'}")


def plot_compare(results_a: dict[str, Any], results_b: dict[str, Any], labels: list[str] | tuple[str, str],
                 path: str | Path, *, title: str = "BFCL accuracy: before vs after") -> Path:
    """Before / after chart of two runs: `plot_compare(base, trained, ["base", "trained"], "cmp.png")`."""
    return plot_runs([results_a, results_b], list(labels), path, title=title)


def plot_runs(results_list: list[dict[str, Any]], labels: list[str], path: str | Path, *,
              title: str = "BFCL accuracy") -> Path:
    """Grouped horizontal bars of several runs over the union of their categories. Returns the PNG path."""
    if len(results_list) != len(labels):
        raise ValueError(f"{len(results_list)} results but {len(labels)} labels")
    rows: list[str] = []
    per_run = []
    for results in results_list:
        bars = _bars(results)
        per_run.append(bars)
        rows += [n for n in bars if n not in rows]
    # summaries last, in a fixed order, so that side-by-side charts line up
    rows = [r for r in rows if "(summary)" not in r and r != "OVERALL"] + [r for r in rows if "(summary)" in r or r == "OVERALL"]
    n_runs = len(results_list)
    height = 0.8 / n_runs
    fig, ax = plt.subplots(figsize=(9, 0.45 * len(rows) * max(1, n_runs * 0.7) + 1.6))
    for k, (run, label) in enumerate(zip(per_run, labels)):
        ys = [i + (k - (n_runs - 1) / 2) * height for i in range(len(rows))]
        present = [r in run and run[r][0] is not None for r in rows]
        values = [100 * run[r][0] if ok else 0.0 for r, ok in zip(rows, present)]
        bars = ax.barh(ys, values, height=height * 0.95, label=label, color=COLORS[(k + (n_runs == 1)) % len(COLORS)])
        for bar, row, value, ok in zip(bars, rows, values, present):
            text = f"{value:.1f}%{run[row][1]}" if ok else "not run"
            ax.text(bar.get_width() + 1, bar.get_y() + bar.get_height() / 2, text, va="center", fontsize=8)
    n_categories = sum(1 for r in rows if "(summary)" not in r and r != "OVERALL")
    if n_categories < len(rows):
        ax.axhline(n_categories - 0.5, color="black", linewidth=0.8, linestyle="--")
    ax.set_yticks(range(len(rows)), rows)
    ax.invert_yaxis()  # first category on top
    ax.set_xlim(0, 118)
    ax.set_xlabel("accuracy (%) judged by BFCL's ast_checker")
    ax.grid(axis="x", alpha=0.3)
    if n_runs > 1:  # above the bars, under the title: never covers a bar
        ax.legend(loc="lower center", bbox_to_anchor=(0.5, 1.0), ncol=n_runs, frameon=False)
        ax.set_title(title, pad=28)
    else:
        ax.set_title(title)
    fig.tight_layout()
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(path, dpi=120)
    plt.close(fig)
    return path


def plot_before_after(before: dict[str, float | None], after: dict[str, float | None], path: str | Path, *,
                      labels: tuple[str, str] = ("before", "after"),
                      title: str = "BFCL accuracy on held-out questions: before vs after") -> Path:
    """Before / after chart from flat {"single_turn": acc, "<category>": acc, ...} dicts (the demo's summary.json).

    Held-out reward keys ("heldout_*") are left out: they are not BFCL accuracies.
    """
    def as_results(flat: dict[str, float | None]) -> dict[str, Any]:
        categories = {k: {"accuracy": v} for k, v in flat.items()
                      if v is not None and not k.startswith("heldout_") and k not in AGGREGATE_ORDER}
        aggregates = {k: {"accuracy": flat.get(k)} for k in AGGREGATE_ORDER}
        return {"categories": categories, "aggregates": aggregates}

    return plot_runs([as_results(before), as_results(after)], list(labels), path, title=title)
