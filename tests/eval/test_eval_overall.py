"""BFCL's overall: fctrain's overall_v4 equals what bfcl-eval's own generate_leaderboard_csv writes for the
same category scores; overall_v3 follows BFCL v3's definition; missing categories are named with reasons."""

from __future__ import annotations

import csv
import types

import pytest

pytest.importorskip("bfcl_eval")
pytest.importorskip("pandas")

from fctrain.eval.overall import bfcl_overall  # noqa: E402

MODEL = "fctrainLeaderboardTest"  # no "_": BFCL maps "_" to "/" in model names


def score(accuracy: float, n: int) -> dict:
    return {"accuracy": accuracy, "correct": round(accuracy * n), "total_count": n}


SCORES = {
    "simple_python": score(0.5, 400), "multiple": score(0.75, 200), "parallel": score(0.25, 200),
    "parallel_multiple": score(0.5, 200), "irrelevance": score(0.9, 240),
    "live_simple": score(0.6, 258), "live_multiple": score(0.4, 1053), "live_parallel": score(0.5, 16),
    "live_parallel_multiple": score(0.25, 24), "live_irrelevance": score(0.8, 884), "live_relevance": score(0.5, 16),
    "multi_turn_base": score(0.3, 200), "multi_turn_miss_func": score(0.2, 200),
    "multi_turn_miss_param": score(0.1, 200), "multi_turn_long_context": score(0.15, 200),
}


def bfcl_leaderboard_row(tmp_path, scores: dict) -> dict[str, str]:
    """Run bfcl-eval's generate_leaderboard_csv for one registered stand-in model; its data_overall.csv row."""
    from fctrain.eval.bfcl_imports import bfcl_module

    helper = bfcl_module("eval_checker.eval_runner_helper")
    helper.MODEL_CONFIG_MAPPING[MODEL] = types.SimpleNamespace(
        display_name=MODEL, url="-", org="-", license="-", input_price=None, output_price=None)
    table = {MODEL: {c: {"accuracy": s["accuracy"], "total_count": s["total_count"]} for c, s in scores.items()}}
    helper.generate_leaderboard_csv(table, tmp_path)
    with open(tmp_path / "data_overall.csv", newline="") as f:
        return next(csv.DictReader(f))


def percent(text: str) -> float:
    return float(text.rstrip("%")) / 100


@pytest.mark.parametrize("evaluated", [SCORES, {c: s for c, s in SCORES.items() if "live" not in c}])
def test_overall_v4_matches_bfcl_leaderboard(evaluated, tmp_path):
    row = bfcl_leaderboard_row(tmp_path, evaluated)
    ours = bfcl_overall(evaluated)["overall_v4"]
    assert ours["accuracy"] == pytest.approx(percent(row["Overall Acc"]), abs=5e-5)  # the CSV rounds to 0.01%
    for part, column in (("multi_turn", "Multi Turn Acc"), ("live", "Live Acc")):
        assert ours["parts"][part]["accuracy"] == pytest.approx(percent(row[column]), abs=5e-5)


def test_overall_v4_by_hand_and_missing_reasons():
    v4 = bfcl_overall(SCORES)["overall_v4"]
    simple = 0.5 / 3  # BFCL's simple averages in Java and JavaScript, not evaluated here -> 0
    non_live = (simple + 0.75 + 0.25 + 0.5) / 4
    live = (0.6 * 258 + 0.4 * 1053 + 0.5 * 16 + 0.25 * 24) / (258 + 1053 + 16 + 24)
    irrelevance = (0.9 + 0.8) / 2
    multi_turn = (0.3 + 0.2 + 0.1 + 0.15) / 4
    assert v4["accuracy"] == pytest.approx((10 * non_live + 10 * live + 10 * irrelevance + 30 * multi_turn) / 100)
    assert not v4["complete"]
    assert set(v4["missing"]) == {"simple_java", "simple_javascript", "web_search_base", "web_search_no_snippet",
                                  "memory_kv", "memory_vector", "memory_rec_sum"}
    assert "network" in v4["missing"]["web_search_no_snippet"]
    assert "imports offline" in v4["missing"]["memory_rec_sum"]


def test_overall_v3_definition():
    v3 = bfcl_overall(SCORES)["overall_v3"]
    simple = 0.5 / 3
    non_live = (simple + 0.75 + 0.25 + 0.5 + 0.9) / 5
    counts = [258, 1053, 16, 24, 884, 16]
    live = sum(a * n for a, n in zip([0.6, 0.4, 0.5, 0.25, 0.8, 0.5], counts)) / sum(counts)
    multi_turn = (0.3 + 0.2 + 0.1 + 0.15) / 4
    assert v3["accuracy"] == pytest.approx((live + non_live + multi_turn) / 3)
    assert set(v3["missing"]) == {"simple_java", "simple_javascript"}
