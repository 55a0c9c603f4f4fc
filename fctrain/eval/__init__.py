"""Evaluation: BFCL single-turn AST accuracy judged by BFCL's own checker, held-out reward scores, reports.

    bfcl_checker.py  BFCL's ast_checker, imported without bfcl-eval's heavy dependencies
    bfcl_data.py     BFCL's questions and answers from the installed package; the unused training pool
    aggregate.py     per-category accuracy and BFCL v4's non-live / live / irrelevance / overall scores
    generate.py      batched greedy generation (HF, left padding; vLLM when installed)
    bfcl_eval.py     evaluate_bfcl, evaluate_heldout
    outputs.py       results.json, predictions.jsonl, results.md
    plots.py         bar charts (per category, before / after)
    report.py        `fctrain report`: training curves and side-by-side evaluations
    cli.py           eval_main, report_main (behind `fctrain eval` / `fctrain report`)
    stage.py         the `eval` recipe stage
See docs/evaluation.md.
"""
