"""The demo's summary: before = first eval stage, after = last, BFCL accuracies in [0, 1]."""

from __future__ import annotations

import json

import pytest

from fctrain.config.loader import load_recipe
from fctrain.demo import demo_recipe, demo_summary
from fctrain.errors import FctrainError


def _eval(tmp_path, name, single_turn, simple, correct):
    d = tmp_path / name
    d.mkdir()
    cats = {"simple_python": {"correct": correct, "total_count": 4}, "irrelevance": {"correct": 2, "total_count": 4}}
    (d / "results.json").write_text(json.dumps({"categories": cats}))
    return {"type": "eval", "eval_dir": str(d), "metrics": {"bfcl_single_turn": single_turn, "bfcl_simple_python": simple,
                                                           "heldout_similarity": 0.5, "format_failure_rate": 0.1}}


def test_summary_takes_first_and_last_eval(tmp_path):
    run = {"run_dir": "/x", "stages": [_eval(tmp_path, "a", 0.2, 0.0, 0), {"type": "sft", "metrics": {}},
                                       _eval(tmp_path, "b", 0.4, 0.5, 2)]}
    s = demo_summary(run)
    assert s["before"] == {"single_turn": 0.2, "accuracy": 0.25, "simple_python": 0.0, "heldout_similarity": 0.5}
    assert s["after"]["single_turn"] == 0.4 and s["after"]["simple_python"] == 0.5 and s["after"]["accuracy"] == 0.5
    assert len(s["stages"]) == 3


def test_summary_needs_two_evals(tmp_path):
    with pytest.raises(FctrainError, match="eval stage before and after"):
        demo_summary({"run_dir": "/x", "stages": [_eval(tmp_path, "a", 0.2, 0.0, 1)]})


@pytest.mark.parametrize("budget", ["small", "medium", "large"])
def test_demo_recipes_validate_and_run_the_whole_curriculum(budget):
    loaded = load_recipe(demo_recipe(budget))
    kinds = [k for k, _ in loaded.stages]
    assert kinds[0] == "eval" and kinds[-1] == "eval"
    # GRPO's measured part in the small demo was nil (docs/experiments/demo-small.md): that budget leaves it out.
    assert {"sft_teacher", "rollout", "cache_teacher", "ckd"} | ({"grpo"} if budget != "small" else set()) \
        <= set(kinds)
    first, last = loaded.stages[0][1], loaded.stages[-1][1]
    assert (first.categories, first.offset, first.limit) == (last.categories, last.offset, last.limit)  # same questions
