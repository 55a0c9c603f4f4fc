"""BFCL summary scores: hand-computed cases, and agreement with bfcl-eval's own helper functions."""

from __future__ import annotations

import importlib
import sys

import pytest

from fctrain.eval.aggregate import bfcl_aggregates, category_scores, percentage_weighted, unweighted, weighted


def score(accuracy: float, n: int) -> dict:
    return {"accuracy": accuracy, "correct": round(accuracy * n), "total_count": n}


FULL = {
    "simple_python": score(0.5, 10), "multiple": score(1.0, 4), "parallel": score(0.0, 4),
    "parallel_multiple": score(0.5, 4), "irrelevance": score(1.0, 4),
    "live_simple": score(1.0, 2), "live_multiple": score(0.0, 6), "live_parallel": score(0.5, 4),
    "live_parallel_multiple": score(0.25, 4), "live_irrelevance": score(0.5, 8),
}


def test_category_scores_counts():
    verdicts = [{"category": "a", "valid": True}, {"category": "a", "valid": False}, {"category": "b", "valid": True}]
    assert category_scores(verdicts) == {"a": {"accuracy": 0.5, "correct": 1, "total_count": 2},
                                         "b": {"accuracy": 1.0, "correct": 1, "total_count": 1}}


def test_v4_aggregates_by_hand():
    agg = bfcl_aggregates(FULL)
    # non-live: plain mean of the four AST groups (irrelevance is not part of it in v4)
    assert agg["non_live"]["accuracy"] == pytest.approx((0.5 + 1.0 + 0.0 + 0.5) / 4)
    # live: weighted by question count: (1*2 + 0*6 + 0.5*4 + 0.25*4) / 16
    assert agg["live"]["accuracy"] == pytest.approx(5.0 / 16)
    assert agg["live"]["total_count"] == 16
    # irrelevance: plain mean of the two irrelevance categories
    assert agg["irrelevance"]["accuracy"] == pytest.approx(0.75)
    # single_turn: v4's 10/10/10 single-turn weights -> equal thirds
    assert agg["single_turn"]["accuracy"] == pytest.approx((0.5 + 5 / 16 + 0.75) / 3)
    assert all(not a["missing"] for name, a in agg.items() if name != "multi_turn")
    # multi_turn: none of its categories was evaluated -> no accuracy, all four listed
    assert agg["multi_turn"]["accuracy"] is None and len(agg["multi_turn"]["missing"]) == 4


def test_partial_run_lists_missing_categories():
    agg = bfcl_aggregates({"simple_python": score(1.0, 3), "live_irrelevance": score(0.0, 3)})
    assert agg["non_live"]["accuracy"] == 1.0
    assert set(agg["non_live"]["missing"]) == {"multiple", "parallel", "parallel_multiple"}
    assert agg["live"]["accuracy"] is None and len(agg["live"]["missing"]) == 4
    assert agg["irrelevance"]["accuracy"] == 0.0 and agg["irrelevance"]["missing"] == ["irrelevance"]
    assert agg["single_turn"]["accuracy"] == pytest.approx(0.5)


@pytest.fixture
def bfcl_helper(tmp_path, monkeypatch):
    """bfcl-eval's eval_runner_helper (its import creates result/score folders under BFCL_PROJECT_ROOT)."""
    pytest.importorskip("bfcl_eval")
    pytest.importorskip("pandas")
    from fctrain.eval.bfcl_checker import _install_model_config_stub

    _install_model_config_stub()
    monkeypatch.setenv("BFCL_PROJECT_ROOT", str(tmp_path))
    for name in [m for m in sys.modules if m.startswith("bfcl_eval.constants.eval_config")]:
        monkeypatch.delitem(sys.modules, name)
    try:
        return importlib.import_module("bfcl_eval.eval_checker.eval_runner_helper")
    except ImportError as e:  # a dependency bfcl-eval was installed without
        pytest.skip(f"bfcl-eval's helper module needs {e.name}")


def test_matches_bfcl_helper_functions(bfcl_helper):
    def shown(d):
        return {**d, "display_accuracy": d["accuracy"]}

    parts = [shown(FULL[c]) for c in ("live_simple", "live_multiple", "live_parallel", "live_parallel_multiple")]
    assert weighted(parts)["accuracy"] == pytest.approx(bfcl_helper.calculate_weighted_accuracy(parts)["accuracy"])
    parts = [shown(FULL[c]) for c in ("simple_python", "multiple", "parallel", "parallel_multiple")]
    assert unweighted(parts)["accuracy"] == pytest.approx(bfcl_helper.calculate_unweighted_accuracy(parts)["accuracy"])
    agg = bfcl_aggregates(FULL)
    three = [shown(agg[k]) for k in ("non_live", "live", "irrelevance")]
    theirs = bfcl_helper.calculate_percentage_weighted_accuracy(three, [10, 10, 10])
    assert percentage_weighted(three, [10, 10, 10])["accuracy"] == pytest.approx(theirs["accuracy"])
    assert agg["single_turn"]["accuracy"] == pytest.approx(theirs["accuracy"])
