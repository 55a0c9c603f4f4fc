"""Per-category accuracy and BFCL's summary scores, computed the way bfcl-eval 2026.3.23 (BFCL v4) does.

From bfcl_eval/eval_checker/eval_runner_helper.py (`generate_leaderboard_csv`):

    non_live    = unweighted mean of [simple, multiple, parallel, parallel_multiple]
                  where simple = unweighted mean of [simple_python, simple_java, simple_javascript]
    live        = mean of [live_simple, live_multiple, live_parallel, live_parallel_multiple]
                  weighted by each category's question count
    irrelevance = unweighted mean of [irrelevance, live_irrelevance]
    overall     = 10% non_live + 10% live + 10% irrelevance + 30% multi_turn + 40% agentic

(In v4 the irrelevance categories are no longer inside non_live / live; they form their own term.)
These summaries describe the categories evaluated, so they are computed over those that were and list the
rest under "missing" (BFCL instead counts a missing category as 0 and shows "N/A"):
- simple = simple_python (BFCL would average in Java and JavaScript);
- multi_turn = unweighted mean of the four multi-turn categories (BFCL's multi-turn summary);
- single_turn = the single-turn part of v4's weighting, renormalised: (non_live + live + irrelevance) / 3.
  It is NOT BFCL's overall; that one (missing categories counted 0, as BFCL does) is in
  fctrain.eval.overall (`overall_v4`, `overall_v3`).
tests/eval/test_eval_aggregate.py checks these formulas against bfcl-eval's own helper functions.
"""

from __future__ import annotations

from collections import defaultdict
from typing import Any

AGGREGATE_ORDER = ["non_live", "live", "irrelevance", "single_turn", "multi_turn"]  # as results tables list them

NON_LIVE_PARTS = {"simple": ["simple_python"], "multiple": ["multiple"], "parallel": ["parallel"],
                  "parallel_multiple": ["parallel_multiple"]}
LIVE_PARTS = ["live_simple", "live_multiple", "live_parallel", "live_parallel_multiple"]
IRRELEVANCE_PARTS = ["irrelevance", "live_irrelevance"]
MULTI_TURN_PARTS = ["multi_turn_base", "multi_turn_miss_func", "multi_turn_miss_param", "multi_turn_long_context"]
# BFCL v4 overall weights of the single-turn parts (multi_turn 30 and agentic 40 are not single-turn).
SINGLE_TURN_WEIGHTS = {"non_live": 10, "live": 10, "irrelevance": 10}
WEIGHTING = ("BFCL v4 (bfcl-eval 2026.3.23): non_live = unweighted mean of simple/multiple/parallel/"
             "parallel_multiple; live = question-count-weighted mean of the live AST categories; "
             "irrelevance = unweighted mean of irrelevance and live_irrelevance; single_turn = v4's "
             "10/10/10 weights of those three, renormalised (not BFCL's overall: see overall_v4); "
             "multi_turn = unweighted mean of the multi-turn categories")


def category_scores(verdicts: list[dict[str, Any]]) -> dict[str, dict[str, Any]]:
    """[{"category", "valid"}, ...] -> {category: {"accuracy", "correct", "total_count"}} in first-seen order."""
    correct: dict[str, int] = defaultdict(int)
    total: dict[str, int] = defaultdict(int)
    for v in verdicts:
        total[v["category"]] += 1
        correct[v["category"]] += bool(v["valid"])
    return {c: {"accuracy": correct[c] / total[c], "correct": correct[c], "total_count": total[c]} for c in total}


def unweighted(parts: list[dict | None]) -> dict[str, Any] | None:
    """BFCL's calculate_unweighted_accuracy over the parts that exist."""
    present = [p for p in parts if p is not None]
    if not present:
        return None
    return {"accuracy": sum(p["accuracy"] for p in present) / len(present),
            "total_count": sum(p["total_count"] for p in present)}


def weighted(parts: list[dict | None]) -> dict[str, Any] | None:
    """BFCL's calculate_weighted_accuracy (weights = question counts) over the parts that exist."""
    present = [p for p in parts if p is not None and p["total_count"] > 0]
    if not present:
        return None
    n = sum(p["total_count"] for p in present)
    return {"accuracy": sum(p["accuracy"] * p["total_count"] for p in present) / n, "total_count": n}


def percentage_weighted(parts: list[dict | None], weights: list[float]) -> dict[str, Any] | None:
    """BFCL's calculate_percentage_weighted_accuracy, weights renormalised over the parts that exist."""
    present = [(p, w) for p, w in zip(parts, weights) if p is not None]
    if not present:
        return None
    weight_sum = sum(w for _, w in present)
    return {"accuracy": sum(p["accuracy"] * w for p, w in present) / weight_sum,
            "total_count": sum(p["total_count"] for p, _ in present)}


def _with_missing(result: dict | None, wanted: list[str], scores: dict) -> dict[str, Any]:
    missing = [c for c in wanted if c not in scores]
    out = dict(result) if result else {"accuracy": None, "total_count": 0}
    out["missing"] = missing
    return out


def bfcl_aggregates(scores: dict[str, dict[str, Any]]) -> dict[str, dict[str, Any]]:
    """Per-category scores -> {"non_live", "live", "irrelevance", "single_turn", "multi_turn"}, each
    {"accuracy", "total_count", "missing"} (accuracy None when none of its categories was evaluated)."""
    simple_parts = {name: unweighted([scores.get(c) for c in cats]) for name, cats in NON_LIVE_PARTS.items()}
    non_live = unweighted(list(simple_parts.values()))
    live = weighted([scores.get(c) for c in LIVE_PARTS])
    irrelevance = unweighted([scores.get(c) for c in IRRELEVANCE_PARTS])
    single_turn = percentage_weighted([non_live, live, irrelevance], list(SINGLE_TURN_WEIGHTS.values()))
    multi_turn = unweighted([scores.get(c) for c in MULTI_TURN_PARTS])
    non_live_cats = [c for cats in NON_LIVE_PARTS.values() for c in cats]
    return {
        "non_live": _with_missing(non_live, non_live_cats, scores),
        "live": _with_missing(live, LIVE_PARTS, scores),
        "irrelevance": _with_missing(irrelevance, IRRELEVANCE_PARTS, scores),
        "single_turn": _with_missing(single_turn, non_live_cats + LIVE_PARTS + IRRELEVANCE_PARTS, scores),
        "multi_turn": _with_missing(multi_turn, MULTI_TURN_PARTS, scores),
    }
