"""`fctrain report`: curves from metrics.jsonl files and side-by-side BFCL charts from results.json files."""

from __future__ import annotations

import json
import math

import pytest

from fctrain.errors import ConfigError
from fctrain.eval.report import make_report, metric_series


def fake_results(model: str, accuracy: float) -> dict:
    from fctrain.eval.aggregate import bfcl_aggregates

    categories = {c: {"accuracy": accuracy, "correct": int(10 * accuracy), "total_count": 10}
                  for c in ("simple_python", "multiple", "irrelevance", "live_simple")}
    return {"model": model, "categories": categories, "aggregates": bfcl_aggregates(categories),
            "format_failure_rate": 0.1}


def write_run(root, name, stages):
    run = root / name
    for stage, rows in stages.items():
        (run / stage).mkdir(parents=True)
        (run / stage / "metrics.jsonl").write_text("\n".join(json.dumps(r) for r in rows) + "\n")
    return run


def test_report_draws_curves_and_comparison(tmp_path):
    ckd = [{"stage": "ckd", "step": s, "loss": 3 * math.exp(-s / 5)} for s in range(1, 12)]
    grpo = [{"stage": "grpo", "step": s, "loss": 0.01, "reward": 0.2 + 0.05 * s, "kl": 0.001 * s,
             "filter/kept_fraction": 0.5 + 0.02 * s} for s in range(1, 9)]
    run_a = write_run(tmp_path, "run_a", {"02-ckd": ckd, "03-grpo": grpo})
    (run_a / "03-grpo" / "metrics.jsonl").open("a").write("{broken line\n")
    (run_a / "00-eval").mkdir()
    (run_a / "00-eval" / "results.json").write_text(json.dumps(fake_results("base", 0.2)))
    (run_a / "04-eval").mkdir()
    (run_a / "04-eval" / "results.json").write_text(json.dumps(fake_results("trained", 0.6)))
    run_b = write_run(tmp_path, "run_b", {"01-sft": [{"step": 1, "loss": 2.0}, {"step": 2, "train/loss": 1.5}]})

    report = make_report([run_a, run_b], tmp_path / "report")
    assert report["series"] == 3 and report["evals"] == 2 and report["unreadable"] == 1
    for key in ("training_curves", "eval_compare"):
        assert report[key].stat().st_size > 10_000
    table = report["eval_compare_md"].read_text()
    assert "run_a/00-eval" in table and "60.0%" in table and "**single_turn**" in table


def test_metric_series_tolerates_missing_keys(tmp_path):
    path = tmp_path / "metrics.jsonl"
    path.write_text('{"step": 1, "loss": 1.0}\n{"step": 2}\n{"epoch": 1, "reward": 0.5}\n[1, 2]\n')
    series, bad = metric_series(path, "x")
    assert bad == 1 and len(series) == 1
    assert series[0].points == {"loss": [(1.0, 1.0)], "reward": [(2.0, 0.5)]}


def test_series_label_names_the_stage_once(tmp_path):
    path = tmp_path / "metrics.jsonl"
    path.write_text('{"stage": "02-sft", "step": 1, "loss": 1.0}\n{"stage": "ckd", "step": 1, "loss": 2.0}\n')
    series, _ = metric_series(path, "run/02-sft")
    assert [s.label for s in series] == ["run/02-sft", "run/02-sft [ckd]"]


def test_report_without_logs_is_an_error(tmp_path):
    with pytest.raises(ConfigError, match="no metrics.jsonl"):
        make_report([tmp_path])
    with pytest.raises(ConfigError, match="does not exist"):
        make_report([tmp_path / "nope"])


def test_plot_compare_and_before_after(tmp_path):
    from fctrain.eval.plots import plot_before_after, plot_compare

    path = plot_compare(fake_results("a", 0.1), fake_results("b", 0.7), ["base", "trained"], tmp_path / "c.png")
    assert path.stat().st_size > 10_000
    before = {"single_turn": 0.1, "non_live": 0.2, "simple_python": 0.3, "heldout_similarity": 0.4}
    after = {"single_turn": 0.5, "non_live": 0.6, "simple_python": 0.7, "heldout_similarity": 0.8}
    assert plot_before_after(before, after, tmp_path / "ba.png").stat().st_size > 10_000
