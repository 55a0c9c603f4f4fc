"""Evaluation: BFCL single-turn and multi-turn accuracy judged by BFCL's own checkers, held-out reward
scores, reports.

    bfcl_imports.py       import BFCL's handlers / runner / helpers without the SDKs they never use here
    bfcl_checker.py       BFCL's ast_checker, imported without bfcl-eval's heavy dependencies
    bfcl_data.py          BFCL's single-turn questions and answers; category lists; the unused training pool
    bfcl_prompts.py       BFCL's own prompts and answer decoding (its Qwen FC handler); prompt choice
    multi_turn.py         multi-turn conversations in BFCL's environments, judged by multi_turn_checker
    multi_turn_exec.py    checked execution of model calls with BFCL's executor (no model text is eval'ed)
    multi_turn_prompts.py a conversation's message list, in BFCL's form or the served template's
    prompt_setup.py       the prompt format of a run: prompts, decoders, conversations
    aggregate.py          per-category accuracy and summaries of what was evaluated (single_turn, ...)
    overall.py            BFCL's v4 and v3 overall, by bfcl-eval's own functions, missing categories named
    generate.py           batched greedy generation (HF, left padding; vLLM when installed)
    bfcl_eval.py          evaluate_bfcl, evaluate_heldout
    outputs.py            results.json, predictions.jsonl, results.md, BFCL result files
    plots.py              bar charts (per category, before / after)
    report.py             `fctrain report`: training curves and side-by-side evaluations
    cli.py                eval_main, report_main (behind `fctrain eval` / `fctrain report`)
    stage.py              the `eval` recipe stage
See docs/evaluation.md.
"""
