"""Files an evaluation writes: results.json, predictions.jsonl, results.md, the per-category bar chart and
BFCL's own result files (bfcl_result/BFCL_v4_<category>_result.json, what bfcl-eval's eval_runner reads)."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from fctrain.eval.aggregate import AGGREGATE_ORDER

OVERALL_KEYS = ["overall_v4", "overall_v3"]
BFCL_RESULT_DIR = "bfcl_result"


def write_json(path: Path, data: Any) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(data, indent=2, ensure_ascii=False, default=str) + "\n", encoding="utf-8")


def write_jsonl(path: Path, rows: list[dict]) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    with open(path, "w", encoding="utf-8") as f:
        for row in rows:
            f.write(json.dumps(row, ensure_ascii=False, default=str) + "\n")


def pct(value: float | None) -> str:
    return "n/a" if value is None else f"{100 * value:.1f}%"


def results_markdown(results: dict[str, Any]) -> str:
    """A Markdown report: per-category table, BFCL summary scores, format failures and latency."""
    lines = [f"# BFCL evaluation: {results.get('model') or 'model'}", ""]
    lines += ["| category | accuracy | correct / total | format failures | mean latency (s) |",
              "|---|---:|---:|---:|---:|"]
    for category, s in results["categories"].items():
        lines.append(f"| {category} | {pct(s['accuracy'])} | {s['correct']} / {s['total_count']} | "
                     f"{s.get('format_failures', 0)} | {s.get('mean_latency_s', 0.0):.3f} |")
    lines += ["", "| summary | accuracy | questions | not evaluated |", "|---|---:|---:|---|"]
    for name in AGGREGATE_ORDER:
        a = results["aggregates"][name]
        lines.append(f"| {name} | {pct(a['accuracy'])} | {a['total_count']} | {', '.join(a['missing']) or '-'} |")
    lines += ["", "| BFCL overall (missing categories count 0, as in BFCL) | accuracy | complete | missing |",
              "|---|---:|---|---|"]
    for name in OVERALL_KEYS:
        o = results.get(name)
        if o:
            lines.append(f"| {name} | {pct(o['accuracy'])} | {'yes' if o['complete'] else 'no'} | "
                         f"{', '.join(o['missing']) or '-'} |")
    latency = results.get("latency", {})
    lines += [
        "",
        f"- format-failure rate: {pct(results.get('format_failure_rate'))}",
        f"- latency per question: mean {latency.get('mean_s', 0):.3f} s, p95 {latency.get('p95_s', 0):.3f} s "
        f"(batched; total {latency.get('total_s', 0):.1f} s)",
        f"- questions: {results.get('n_questions')} (limit {results.get('limit')} per category)",
        f"- prompt: {results.get('prompt_format')} (BFCL handler: {results.get('bfcl_handler') or '-'})",
        f"- weighting: {results.get('weighting')}",
        f"- judged by bfcl-eval {results.get('bfcl_eval_version')}'s ast_checker / multi_turn_checker",
        "",
    ]
    return "\n".join(lines)


def write_bfcl_outputs(results: dict[str, Any], predictions: list[dict], out_dir: str | Path) -> dict[str, Path]:
    from fctrain.eval.plots import plot_categories

    out = Path(out_dir)
    paths = {"results": out / "results.json", "predictions": out / "predictions.jsonl",
             "markdown": out / "results.md", "chart": out / "accuracy_by_category.png"}
    write_json(paths["results"], results)
    write_jsonl(paths["predictions"], predictions)
    paths["markdown"].write_text(results_markdown(results), encoding="utf-8")
    plot_categories(results, paths["chart"])
    paths["bfcl_results"] = write_bfcl_result_files(predictions, out / BFCL_RESULT_DIR)
    return paths


def bfcl_result_entry(prediction: dict) -> dict:
    """One line of BFCL's result file: {"id", "result"}. Single-turn: the model's response (BFCL's
    `model_responses`: the text after any `</think>`); multi-turn: per turn, per step, the responses."""
    from fctrain.eval.bfcl_prompts import cleaned_response

    if "result" in prediction:  # multi-turn records carry BFCL's nested list already
        return {"id": prediction["id"], "result": prediction["result"]}
    return {"id": prediction["id"], "result": cleaned_response(prediction["completion"])}


def write_bfcl_result_files(predictions: list[dict], folder: Path) -> Path:
    """BFCL_v4_<category>_result.json per category (JSON lines, sorted by id as BFCL's writer does)."""
    from fctrain.eval.bfcl_data import VERSION_PREFIX

    by_category: dict[str, list[dict]] = {}
    for p in predictions:
        by_category.setdefault(p["category"], []).append(bfcl_result_entry(p))
    for category, rows in by_category.items():
        rows.sort(key=lambda r: int(r["id"].rsplit("_", 1)[1].split("-")[0]))
        write_jsonl(folder / f"{VERSION_PREFIX}_{category}_result.json", rows)
    return folder
