"""BFCL evaluation: render -> generate -> parse -> BFCL's own checkers.

Multi-turn categories run in BFCL's environments (fctrain.eval.multi_turn). Single-turn questions are
rendered with BFCL's own prompt for a model family BFCL has a handler for ("bfcl", fctrain.eval.bfcl_prompts)
or with the tool template training used ("served", `fctrain.render.render_prompt`), answered greedily,
parsed (bfcl: as BFCL's handler decodes; served: the format's parser, `fctrain.rewards.family_parsing`)
and judged:
- AST categories: the parsed calls, as BFCL's decoded output [{name: {arg: value}}], go to BFCL's
  `ast_checker` with the question's original function docs and possible answer. A completion the parser
  rejects is wrong (BFCL: "Failed to decode AST").
- irrelevance categories: correct iff no call was produced. As in BFCL, an undecodable completion counts
  as "no call" (BFCL's relevance runner treats a decoder failure the same way).
- live_relevance: correct iff at least one call was produced.
Outputs (out_dir): results.json, predictions.jsonl, results.md, accuracy_by_category.png.
"""

from __future__ import annotations

import copy
import statistics
import time
from collections.abc import Callable
from importlib import metadata
from pathlib import Path
from typing import Any

from fctrain.errors import ConfigError
from fctrain.eval.aggregate import WEIGHTING, bfcl_aggregates, category_scores
from fctrain.eval.bfcl_checker import check_ast, to_bfcl_output
from fctrain.eval.bfcl_data import (
    DEFAULT_CATEGORIES,
    MULTI_TURN_CATEGORIES,
    SINGLE_TURN_CATEGORIES,
    SUPPORTED_CATEGORIES,
    BFCLQuestion,
    is_irrelevance,
    is_relevance,
    load_questions,
)
from fctrain.eval.generate import GenerateFn, hf_generate_fn, timed_batches


def judge(question: BFCLQuestion, completion: str, *, think: bool = False,
          template: str | None = None, decode: Callable[[str], Any] | None = None) -> dict[str, Any]:
    """One prediction record: the completion, what the parser made of it, and BFCL's verdict.

    decode(completion) -> ParsedCompletion replaces the parser (the "bfcl" prompt decodes as BFCL's handler
    does, see fctrain.eval.bfcl_prompts.decode_bfcl); else the completion is parsed in `template`'s family
    format (fctrain.rewards.family_parsing)."""
    from fctrain.rewards.family_parsing import parse_completion_as

    parsed = decode(completion) if decode else parse_completion_as(completion, template, think=think)
    calls = parsed.tool_calls if parsed.ok else []
    category = question.category
    if is_irrelevance(category):
        valid = not calls
        error, error_type = (None, None) if valid else (
            "a function was called where none fits (irrelevance)", "irrelevance_error:decoder_success")
    elif is_relevance(category):
        valid = bool(calls)
        error, error_type = (None, None) if valid else ("no function call produced", "relevance_error:no_call")
    elif not parsed.ok:
        valid, error, error_type = False, f"could not parse the completion ({parsed.reason})", "ast_decoder:decoder_failed"
    else:
        try:
            verdict = check_ast(question.functions, to_bfcl_output(copy.deepcopy(calls)),
                                question.possible_answer, category)
            valid = bool(verdict["valid"])
            error = None if valid else "; ".join(str(e) for e in verdict.get("error", []))
            error_type = None if valid else verdict.get("error_type")
        except Exception as e:  # BFCL's checker can raise on odd outputs (e.g. a list for a typed dict)
            valid, error, error_type = False, f"BFCL's checker raised {type(e).__name__}: {e}", "checker_exception"
    return {"id": question.id, "category": category, "completion": completion, "format_ok": parsed.ok,
            "format_error": parsed.reason, "parsed_calls": calls, "valid": valid, "error": error,
            "error_type": error_type}


def _latency_summary(latencies: list[float]) -> dict[str, float]:
    if not latencies:
        return {"mean_s": 0.0, "p50_s": 0.0, "p95_s": 0.0, "total_s": 0.0}
    ordered = sorted(latencies)
    return {"mean_s": statistics.fmean(ordered), "p50_s": ordered[len(ordered) // 2],
            "p95_s": ordered[min(len(ordered) - 1, int(0.95 * len(ordered)))], "total_s": sum(ordered)}


def summarize(predictions: list[dict[str, Any]], **meta) -> dict[str, Any]:
    """predictions -> results.json content: per category, BFCL aggregates, format failures, latency."""
    from fctrain.eval.overall import bfcl_overall

    scores = category_scores(predictions)
    for category, score in scores.items():
        rows = [p for p in predictions if p["category"] == category]
        failures = sum(not p["format_ok"] for p in rows)
        score.update(format_failures=failures, format_failure_rate=failures / len(rows),
                     mean_latency_s=statistics.fmean(p.get("latency_s", 0.0) for p in rows))
        if any("execution_errors" in p for p in rows):  # multi-turn: calls that raised or were rejected
            score["execution_errors"] = sum(p["execution_errors"] for p in rows)
    n = len(predictions)
    try:
        bfcl_version = metadata.version("bfcl-eval")
    except metadata.PackageNotFoundError:
        bfcl_version = None
    return {
        **meta,
        "n_questions": n,
        "categories": scores,
        "aggregates": bfcl_aggregates(scores),
        "weighting": WEIGHTING,
        **bfcl_overall(scores),
        "bfcl_eval_version": bfcl_version,
        "format_failure_rate": (sum(not p["format_ok"] for p in predictions) / n) if n else 0.0,
        "latency": _latency_summary([p.get("latency_s", 0.0) for p in predictions]),
    }


def evaluate_bfcl(model, tokenizer, *, categories: list[str] | None = None, limit: int | None = None,
                  out_dir: str | Path | None = None, template: str = "qwen3", think: bool = False,
                  batch_size: int = 8, max_new_tokens: int = 256, generate_fn: GenerateFn | None = None,
                  seed: int | None = None, offset: int = 0, model_name: str | None = None,
                  progress: bool = False, prompt: str = "auto", model_type: str | None = None) -> dict[str, Any]:
    """Evaluate on BFCL's single-turn and multi-turn categories; returns results.json's content (and writes
    the outputs).

    generate_fn(prompts) -> completions replaces HF generation (tests; vLLM). `limit` questions per category:
    the first ones in BFCL's order, or a seeded sample when `seed` is given; `offset` skips that many first.
    prompt: "bfcl" (BFCL's handler's prompt, for a family BFCL has a handler for), "served" (the `template`
    rendering) or "auto" (bfcl when the model's family -- `model_type`, default read from the model -- has one).
    """
    from fctrain.eval.bfcl_prompts import model_type_of, resolve_prompt
    from fctrain.eval.prompt_setup import PromptSetup

    categories = list(categories or DEFAULT_CATEGORIES)
    unknown = [c for c in categories if c not in SUPPORTED_CATEGORIES]
    if unknown:
        raise ConfigError(f"categories: unknown or unsupported BFCL categories {unknown}; "
                          f"supported: {', '.join(SUPPORTED_CATEGORIES)}")
    model_type = model_type or model_type_of(model, model_name)
    prompt_format = resolve_prompt(prompt, model_type)
    setup = PromptSetup(prompt_format, model_type, tokenizer, template, think)
    skip = setup.skip_special_tokens()
    single_fn = generate_fn or hf_generate_fn(model, tokenizer, batch_size=batch_size, max_new_tokens=max_new_tokens,
                                              skip_special_tokens=skip)
    multi_fn = generate_fn or _multi_turn_generate_fn(model, tokenizer, batch_size, max_new_tokens, skip)
    t0 = time.perf_counter()
    single = [c for c in categories if c in SINGLE_TURN_CATEGORIES]
    multi = [c for c in categories if c in MULTI_TURN_CATEGORIES]
    predictions = _single_turn(setup, load_questions(single, limit, seed, offset) if single else [],
                               single_fn, batch_size, progress)
    predictions += _multi_turn(setup, multi, limit, seed, offset, multi_fn, batch_size, progress)
    wall = time.perf_counter() - t0
    results = summarize(
        predictions, model=model_name or _model_name(model), template=template, think=think, limit=limit,
        seed=seed, offset=offset, max_new_tokens=max_new_tokens, batch_size=batch_size, wall_time_s=wall,
        cpu_bf16_autocast=_cpu_bf16_autocast(), prompt_format=prompt_format, model_type=model_type,
        bfcl_handler=setup.handler_name,
    )
    if out_dir is not None:
        from fctrain.eval.outputs import write_bfcl_outputs

        write_bfcl_outputs(results, predictions, out_dir)
    return results


def _multi_turn_generate_fn(model, tokenizer, batch_size: int, max_new_tokens: int,
                            skip_special_tokens: bool) -> GenerateFn:
    """On a CPU, re-encoding each step's long prompt dominates: reuse the previous step's cache
    (fctrain.eval.prefix_cache), one prompt at a time. Elsewhere, batched generate."""
    if next(model.parameters()).device.type == "cpu":
        from fctrain.eval.prefix_cache import prefix_cached_generate_fn

        return prefix_cached_generate_fn(model, tokenizer, max_new_tokens=max_new_tokens,
                                         skip_special_tokens=skip_special_tokens)
    return hf_generate_fn(model, tokenizer, batch_size=batch_size, max_new_tokens=max_new_tokens,
                          skip_special_tokens=skip_special_tokens)


def _single_turn(setup, questions: list[BFCLQuestion], generate_fn: GenerateFn, batch_size: int,
                 progress: bool) -> list[dict[str, Any]]:
    prompts = [setup.single_turn_prompt(q) for q in questions]
    completions, latencies = _run(generate_fn, prompts, batch_size, progress, "BFCL") if prompts else ([], [])
    predictions, decode = [], setup.decode()
    for question, prompt, completion, latency in zip(questions, prompts, completions, latencies):
        record = judge(question, completion, think=setup.think, decode=decode)
        record.update(latency_s=latency, prompt_format=setup.format, prompt_text=prompt)
        predictions.append(record)
    return predictions


def _multi_turn(setup, categories: list[str], limit, seed, offset, generate_fn: GenerateFn,
                batch_size: int, progress: bool) -> list[dict[str, Any]]:
    from fctrain.eval.multi_turn import evaluate_multi_turn, load_multi_turn

    questions = [q for c in categories for q in load_multi_turn(c, limit, seed, offset)]
    if not questions:
        return []
    report = (lambda rounds, n: print(f"BFCL multi-turn: round {rounds}, {n} conversations")) if progress else None
    return evaluate_multi_turn(questions, setup.conversation, generate_fn, batch_size=batch_size, progress=report)


def _cpu_bf16_autocast() -> bool:
    import torch

    return torch.is_autocast_enabled("cpu") and torch.get_autocast_dtype("cpu") == torch.bfloat16


def _model_name(model) -> str | None:
    config = getattr(model, "config", None)
    return getattr(config, "_name_or_path", None) or None


def _run(generate_fn: GenerateFn, prompts: list[str], batch_size: int, progress: bool,
         label: str) -> tuple[list[str], list[float]]:
    if not progress:
        return timed_batches(generate_fn, prompts, batch_size)
    from rich.progress import Progress

    with Progress() as bar:
        task = bar.add_task(f"{label}: generating", total=len(prompts))
        return timed_batches(generate_fn, prompts, batch_size, lambda n: bar.advance(task, n))


# ---------------------------------------------------------------- held-out split of training data

def evaluate_heldout(model, tokenizer, samples: list[dict], *, out_dir: str | Path | None = None,
                     template: str = "qwen3", think: bool = False, batch_size: int = 8,
                     max_new_tokens: int = 256, generate_fn: GenerateFn | None = None,
                     progress: bool = False) -> dict[str, Any]:
    """Score generations on held-out canonical samples with the training rewards (fctrain.rewards).

    Returns {"n", "similarity" (mean STAR similarity score in [0, 1]), "similarity_reward" (mean reward,
    -1 on format/schema failures), "exact_match" (share of exact matches), "format_failure_rate",
    "latency"}; writes heldout_predictions.jsonl and heldout.json into out_dir.
    """
    from fctrain.render import reference_of, render_prompt
    from fctrain.render.chat_format import parser_family
    from fctrain.render.families import decode_skips_special_tokens
    from fctrain.rewards import exact_match_rewards, similarity_rewards
    from fctrain.rewards.family_parsing import parse_completion_as

    prompts = [render_prompt(tokenizer, s, template=template, think=think) for s in samples]
    parse_as = parser_family(tokenizer, template)
    references = [reference_of(s) for s in samples]
    tools_list = [s.get("tools") or [] for s in samples]
    if generate_fn is None:
        generate_fn = hf_generate_fn(model, tokenizer, batch_size=batch_size, max_new_tokens=max_new_tokens,
                                     skip_special_tokens=decode_skips_special_tokens(parse_as))
    completions, latencies = _run(generate_fn, prompts, batch_size, progress, "held-out")
    similarity = similarity_rewards(completions, references, tools_list, think=think, template=parse_as)
    exact = exact_match_rewards(completions, references, tools_list, think=think, template=parse_as)
    rows = []
    for sample, completion, sim, em, latency in zip(samples, completions, similarity, exact, latencies):
        parsed = parse_completion_as(completion, parse_as, think=think)
        rows.append({"id": sample.get("id"), "completion": completion, "format_ok": parsed.ok,
                     "format_error": parsed.reason, "similarity": sim.score, "similarity_reward": sim.reward,
                     "reward_reason": sim.reason, "exact_match": em.score, "latency_s": latency})

    def mean(key: str) -> float | None:
        return statistics.fmean(float(r[key]) for r in rows) if rows else None

    results = {
        "n": len(rows),
        "similarity": mean("similarity"),
        "similarity_reward": mean("similarity_reward"),
        "exact_match": mean("exact_match"),
        "format_failure_rate": statistics.fmean(float(not r["format_ok"]) for r in rows) if rows else None,
        "latency": _latency_summary(latencies),
    }
    if out_dir is not None:
        from fctrain.eval.outputs import write_json, write_jsonl

        write_jsonl(Path(out_dir) / "heldout_predictions.jsonl", rows)
        write_json(Path(out_dir) / "heldout.json", results)
    return results
