"""Plain-parameter entry points behind `fctrain eval` and `fctrain report` (they print rich tables)."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

from fctrain.eval.aggregate import AGGREGATE_ORDER
from fctrain.eval.outputs import OVERALL_KEYS, pct


def default_out_dir(model: str) -> Path:
    name = re.sub(r"[^A-Za-z0-9._-]+", "-", Path(model.rstrip("/")).name or model).strip("-") or "model"
    return Path("runs") / "eval" / name


def print_results(results: dict[str, Any], out_dir: Path | None = None) -> None:
    from rich.console import Console
    from rich.table import Table

    table = Table(title=f"BFCL (bfcl-eval {results.get('bfcl_eval_version')}): {results.get('model')}")
    table.add_column("category")
    table.add_column("accuracy", justify="right")
    table.add_column("correct / total", justify="right")
    table.add_column("format failures", justify="right")
    for category, s in results["categories"].items():
        table.add_row(category, pct(s["accuracy"]), f"{s['correct']} / {s['total_count']}",
                      str(s.get("format_failures", 0)))
    table.add_section()
    for name in AGGREGATE_ORDER:
        a = results["aggregates"][name]
        note = f" (without {', '.join(a['missing'])})" if a["missing"] and a["accuracy"] is not None else ""
        table.add_row(f"[bold]{name}[/]{note}", f"[bold]{pct(a['accuracy'])}[/]", str(a["total_count"]), "")
    table.add_section()
    for name in OVERALL_KEYS:
        o = results.get(name)
        if o:
            note = "" if o["complete"] else f" (incomplete: {len(o['missing'])} categories missing, counted 0)"
            table.add_row(f"[bold]BFCL {name}[/]{note}", f"[bold]{pct(o['accuracy'])}[/]", "", "")
    console = Console()
    console.print(table)
    console.print(f"prompt: {results.get('prompt_format')} (BFCL handler: {results.get('bfcl_handler') or '-'})")
    latency = results["latency"]
    console.print(f"format-failure rate {pct(results['format_failure_rate'])}; latency per question "
                  f"{latency['mean_s']:.3f} s mean, {latency['p95_s']:.3f} s p95 (batched)")
    if out_dir is not None:
        console.print(f"outputs: {out_dir}/results.json, predictions.jsonl, results.md, accuracy_by_category.png, "
                      "bfcl_result/BFCL_v4_<category>_result.json")


def eval_main(model: str, categories: list[str] | None = None, limit: int | None = None,
              out: str | Path | None = None, batch_size: int = 8, max_new_tokens: int = 256,
              think: bool = False, template: str = "qwen3", seed: int | None = None, offset: int = 0,
              device: str = "auto", backend: str = "auto", cpu_bf16: bool = False,
              prompt: str = "auto") -> dict[str, Any]:
    """Load `model` (path, hub id or alias such as smollm2-135m-instruct / tiny-qwen3), evaluate it on BFCL,
    write the outputs to `out` (default runs/eval/<model name>) and print the summary table.

    backend: "hf" (batched transformers generate), "vllm", or "auto" (vLLM when installed, a GPU is present
    and `model` is a local folder; else hf). cpu_bf16: generate under bf16 autocast on CPU (model.cpu_bf16).
    prompt: "bfcl" / "served" / "auto" (see fctrain.eval.bfcl_prompts; auto = bfcl for a family BFCL knows).
    """
    import contextlib

    from fctrain.config.schema import ModelConfig
    from fctrain.eval.bfcl_eval import evaluate_bfcl
    from fctrain.eval.generate import vllm_generate_fn
    from fctrain.models.device import inference_autocast, vllm_available
    from fctrain.models.load import load_model_and_tokenizer

    out_dir = Path(out) if out else default_out_dir(model)
    use_vllm = backend == "vllm" or (backend == "auto" and vllm_available() and Path(model).is_dir())
    generate_fn = None
    if use_vllm:
        from transformers import AutoTokenizer

        lm, tokenizer = None, AutoTokenizer.from_pretrained(model)
        generate_fn = vllm_generate_fn(model, max_new_tokens=max_new_tokens)
    else:
        lm, tokenizer = load_model_and_tokenizer(model, device=device, for_training=False)
    precision = contextlib.nullcontext() if lm is None else inference_autocast(ModelConfig(cpu_bf16=cpu_bf16), lm)
    with precision:
        results = evaluate_bfcl(
            lm, tokenizer, categories=categories, limit=limit, out_dir=out_dir, template=template, think=think,
            batch_size=batch_size, max_new_tokens=max_new_tokens, generate_fn=generate_fn, seed=seed,
            offset=offset, model_name=model, progress=True, prompt=prompt,
        )
    print_results(results, out_dir)
    return results


def report_main(run_dirs: list[str | Path], out: str | Path | None = None) -> dict[str, Any]:
    """Draw the report PNGs (see fctrain.eval.report) and print what was written."""
    from rich.console import Console

    from fctrain.eval.report import make_report

    report = make_report(run_dirs, out)
    console = Console()
    for key in ("training_curves", "eval_compare", "eval_compare_md"):
        if key in report:
            console.print(f"wrote {report[key]}")
    if report["unreadable"]:
        console.print(f"[yellow]skipped {report['unreadable']} unreadable log lines/files[/]")
    return report
