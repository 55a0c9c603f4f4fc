"""BFCL's overall scores, computed by bfcl-eval's own functions from fctrain's category results.

v4 (bfcl-eval 2026.3.23, `eval_checker/eval_runner_helper.py::generate_leaderboard_csv`): every category
score comes from `get_category_score` (a category not evaluated counts as accuracy 0 with its full question
count, shown "N/A" by BFCL), the parts are combined with BFCL's `calculate_unweighted_accuracy` /
`calculate_weighted_accuracy`, and the total with `calculate_percentage_weighted_accuracy` and the weights
written inline there: non_live 10, live 10, irrelevance 10, multi_turn 30, agentic 40. The composition
below repeats generate_leaderboard_csv's lines (that function also writes CSVs and needs a registered
model); tests/eval/test_eval_overall.py runs generate_leaderboard_csv itself and compares.

v3, the overall STAR reports: not in bfcl-eval 2026.3.23. Its definition was found in BFCL v3's
`berkeley-function-call-leaderboard/bfcl/eval_checker/eval_runner_helper.py` (gorilla repository, the
version that logs "BFCL-v3-..." runs; ShishirPatil/gorilla issue #909 points at PR #644, which introduced
it): overall = unweighted mean of [live, non_live, multi_turn] where non_live = unweighted mean of
[simple, multiple, parallel, parallel_multiple, irrelevance], live = question-count-weighted mean of
[live_simple, live_multiple, live_parallel, live_parallel_multiple, live_irrelevance, live_relevance],
multi_turn = unweighted mean of the four multi-turn categories (missing categories count 0, as in v4).
fctrain applies that formula, with BFCL's functions, to the v4 data it evaluates; STAR's figures were
measured on v3's data files, which differ in places.
"""

from __future__ import annotations

from functools import lru_cache
from typing import Any

# Why a BFCL scoring category has no fctrain result (keys: BFCL's category names).
UNAVAILABLE = {
    "simple_java": "not supported: the answers must be Java literals in strings (fctrain judges Python only)",
    "simple_javascript": "not supported: the answers must be JavaScript literals in strings",
    "web_search_base": "needs the network (BFCL's WebSearchAPI queries a search engine)",
    "web_search_no_snippet": "needs the network (BFCL's WebSearchAPI queries a search engine)",
    "memory_kv": "not run: its backend needs rank_bm25 (not installed); fctrain does not run BFCL's memory "
                 "protocol (prerequisite conversations, then the agentic checker)",
    "memory_vector": "not run: its backend needs sentence-transformers + faiss and an embedding model "
                     "download; fctrain does not run BFCL's memory protocol",
    "memory_rec_sum": "not run: its backend imports offline, but fctrain does not run BFCL's memory protocol "
                      "(prerequisite conversations, then the agentic checker)",
}
NOT_EVALUATED = "not evaluated in this run (not among the requested categories)"
V4_WEIGHTS = {"non_live": 10, "live": 10, "irrelevance": 10, "multi_turn": 30, "agentic": 40}


def _helper():
    from fctrain.eval.bfcl_imports import bfcl_module

    return bfcl_module("eval_checker.eval_runner_helper")


@lru_cache(maxsize=64)
def _missing_score(category: str) -> tuple[tuple[str, Any], ...]:
    # BFCL's score of a category not evaluated (accuracy 0, the category's full size): it loads the whole
    # category to count it, so it is computed once per category
    return tuple(_helper().get_category_score({}, category).items())


def category_score(value: dict, category: str) -> dict:
    """BFCL's get_category_score(value, category), with the not-evaluated case cached."""
    if category in value:
        return _helper().get_category_score(value, category)
    return dict(_missing_score(category))


def scoring_categories() -> list[str]:
    """Every category BFCL v4's overall reads (bfcl_eval.constants.category_mapping)."""
    from fctrain.eval.bfcl_imports import bfcl_module

    return list(bfcl_module("constants.category_mapping").ALL_SCORING_CATEGORIES)


def leaderboard_table(scores: dict[str, dict]) -> dict[str, dict]:
    """fctrain's per-category scores -> BFCL's leaderboard_table entry ({category: accuracy, total_count})."""
    return {c: {"accuracy": s["accuracy"], "total_count": s["total_count"]} for c, s in scores.items()
            if c in scoring_categories()}


def _terms(value: dict):
    """(category score, bfcl-eval's unweighted and weighted means, the simple-category score) for one model."""
    h = _helper()

    def score(c):
        return category_score(value, c)

    unweighted, weighted = h.calculate_unweighted_accuracy, h.calculate_weighted_accuracy
    simple = unweighted([score("simple_python"), score("simple_java"), score("simple_javascript")])
    return score, unweighted, weighted, simple


def _v4_parts(value: dict) -> dict[str, dict]:
    score, unweighted, weighted, simple = _terms(value)
    non_live_parts = [simple, score("multiple"), score("parallel"), score("parallel_multiple")]
    live_parts = [score(c) for c in ("live_simple", "live_multiple", "live_parallel", "live_parallel_multiple")]
    multi_turn_parts = [score(c) for c in ("multi_turn_base", "multi_turn_miss_func", "multi_turn_miss_param",
                                           "multi_turn_long_context")]
    web_search = unweighted([score("web_search_base"), score("web_search_no_snippet")])
    memory = unweighted([score("memory_kv"), score("memory_vector"), score("memory_rec_sum")])
    return {
        "non_live": unweighted(non_live_parts, display_na_if_category_missing=False),
        "live": weighted(live_parts, display_na_if_category_missing=False),
        "irrelevance": unweighted([score("irrelevance"), score("live_irrelevance")]),
        "multi_turn": unweighted(multi_turn_parts, display_na_if_category_missing=False),
        "agentic": unweighted([web_search, memory], display_na_if_category_missing=False),
    }


def _v3_parts(value: dict) -> dict[str, dict]:
    score, unweighted, weighted, simple = _terms(value)
    non_live = unweighted([simple, score("multiple"), score("parallel"), score("parallel_multiple"),
                           score("irrelevance")], display_na_if_category_missing=False)
    live = weighted([score(c) for c in ("live_simple", "live_multiple", "live_parallel", "live_parallel_multiple",
                                        "live_irrelevance", "live_relevance")], display_na_if_category_missing=False)
    multi_turn = unweighted([score(c) for c in ("multi_turn_base", "multi_turn_miss_func", "multi_turn_miss_param",
                                                "multi_turn_long_context")], display_na_if_category_missing=False)
    return {"live": live, "non_live": non_live, "multi_turn": multi_turn}


def _plain(part: dict) -> dict[str, Any]:
    return {"accuracy": part["accuracy"], "total_count": part["total_count"]}


def missing_categories(scores: dict[str, dict], wanted: list[str]) -> dict[str, str]:
    return {c: UNAVAILABLE.get(c, NOT_EVALUATED) for c in wanted if c not in scores}


def bfcl_overall(scores: dict[str, dict]) -> dict[str, dict[str, Any]]:
    """{"overall_v4", "overall_v3"}: each {accuracy, complete, parts, built_from, missing {category: reason}}.

    Accuracies are BFCL's: a missing category counts 0, so an incomplete overall is a lower bound, and
    `complete` says whether every category it reads was evaluated here."""
    value = leaderboard_table(scores)
    h = _helper()
    v4 = _v4_parts(value)
    total_v4 = h.calculate_percentage_weighted_accuracy(list(v4.values()), list(V4_WEIGHTS.values()),
                                                        display_na_if_category_missing=False)
    v3 = _v3_parts(value)
    total_v3 = h.calculate_unweighted_accuracy(list(v3.values()), display_na_if_category_missing=False)
    v3_categories = [c for c in scoring_categories() if not c.startswith(("web_search", "memory"))]
    out = {}
    for name, total, parts, wanted, weighting in (
        ("overall_v4", total_v4, v4, scoring_categories(), "BFCL v4 weights (eval_runner_helper): " + ", ".join(
            f"{k} {w}" for k, w in V4_WEIGHTS.items())),
        ("overall_v3", total_v3, v3, v3_categories, "BFCL v3: unweighted mean of live, non_live (with "
         "irrelevance), multi_turn; live with live_irrelevance and live_relevance, count-weighted"),
    ):
        missing = missing_categories(value, wanted)
        out[name] = {"accuracy": total["accuracy"], "complete": not missing, "weighting": weighting,
                     "parts": {k: _plain(p) for k, p in parts.items()},
                     "built_from": [c for c in wanted if c in value], "missing": missing}
    return out
