"""The demo's summary: before = first eval stage, after = last, BFCL accuracies in [0, 1]."""

from __future__ import annotations

import pytest

from fctrain.config.loader import load_recipe
from fctrain.demo import demo_recipe, demo_summary
from fctrain.errors import FctrainError


def _eval(overall, simple):
    return {"type": "eval", "metrics": {"bfcl_overall": overall, "bfcl_simple_python": simple,
                                        "heldout_similarity": 0.5, "format_failure_rate": 0.1}}


def test_summary_takes_first_and_last_eval():
    run = {"run_dir": "/x", "stages": [_eval(0.2, 0.0), {"type": "sft", "metrics": {}}, _eval(0.4, 0.5)]}
    s = demo_summary(run)
    assert s["before"] == {"overall": 0.2, "simple_python": 0.0, "heldout_similarity": 0.5}
    assert s["after"]["overall"] == 0.4 and s["after"]["simple_python"] == 0.5
    assert len(s["stages"]) == 3


def test_summary_needs_two_evals():
    with pytest.raises(FctrainError, match="eval stage before and after"):
        demo_summary({"run_dir": "/x", "stages": [_eval(0.2, 0.0)]})


@pytest.mark.parametrize("budget", ["small", "medium", "large"])
def test_demo_recipes_validate_and_run_the_whole_curriculum(budget):
    loaded = load_recipe(demo_recipe(budget))
    kinds = [k for k, _ in loaded.stages]
    assert kinds[0] == "eval" and kinds[-1] == "eval"
    assert {"sft_teacher", "rollout", "cache_teacher", "ckd", "grpo"} <= set(kinds)
    first, last = loaded.stages[0][1], loaded.stages[-1][1]
    assert first.categories == last.categories and first.limit == last.limit  # the same held-out questions
