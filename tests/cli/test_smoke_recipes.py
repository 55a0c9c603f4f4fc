"""The shipped CKD and GRPO smoke recipes, end to end through the CLI, single process."""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest
import torch

from fctrain.cli import main

SMOKE = Path(__file__).resolve().parents[2] / "recipes" / "smoke"


def _stages(run: Path) -> dict:
    return {s["type"]: s for s in json.loads((run / "summary.json").read_text())["stages"]}


@pytest.mark.slow
def test_smoke_ckd_rollout_cache_distill_loss_goes_down(tmp_path, monkeypatch, capsys):
    monkeypatch.chdir(tmp_path)
    assert main(["run", str(SMOKE / "ckd.yaml"), f"output_dir={tmp_path / 'run'}"]) == 0
    stages = _stages(tmp_path / "run")
    assert list(stages) == ["sft_teacher", "rollout", "cache_teacher", "ckd"]
    printed = capsys.readouterr().err
    for i, kind in enumerate(stages, start=1):  # each stage's time as it ends, and the run's so far
        assert re.search(rf"stage {i}/4 \({kind}\): \d+ s \(run so far: \d+ s\)", printed), kind
    assert torch.are_deterministic_algorithms_enabled()  # a CPU run asks for deterministic kernels
    assert stages["rollout"]["metrics"]["kept"] > 0
    rollouts = Path(stages["rollout"]["rollouts_path"]).read_text().splitlines()
    assert stages["cache_teacher"]["metrics"]["n_samples"] == len(rollouts)  # the teacher's rollouts are distilled
    cache = stages["cache_teacher"]["metrics"]
    assert cache["bytes_per_token"] <= 6 * 16 + 8  # k=16: ids + fp16 log-probs, plus file headers
    ckd = stages["ckd"]["metrics"]
    assert ckd["loss_last"] < ckd["loss_first"], ckd
    assert (tmp_path / "run" / "04-ckd" / "model" / "config.json").exists()


@pytest.mark.slow
def test_smoke_grpo_with_dynamic_filtering(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    assert main(["run", str(SMOKE / "grpo.yaml"), f"output_dir={tmp_path / 'run'}"]) == 0
    rows = [json.loads(x) for x in (tmp_path / "run" / "01-grpo" / "metrics.jsonl").read_text().splitlines()]
    filtered = [r for r in rows if "filter/kept_fraction" in r]
    assert len(filtered) == 3  # max_steps: 3, one rollout per step, each passed through the filter
    assert all(0.0 <= r["filter/kept_fraction"] <= 1.0 for r in filtered)


@pytest.mark.slow
@pytest.mark.parametrize(("model", "template", "answer_start"), [
    ("tiny-llama", "llama3_2", "<|start_header_id|>assistant<|end_header_id|>\n\n"),
    ("tiny-qwen3", "qwen3", "<|im_start|>assistant\n<think>\n\n</think>\n\n"),
])
def test_smoke_sft_in_the_models_own_format(tmp_path, monkeypatch, model, template, answer_start):
    """The SFT smoke recipe with a tiny Llama-shaped model in the Llama 3.2 format (and a tiny Qwen3 in
    Qwen3's): it trains, the loss goes down, and the data stats say how conversations were laid out."""
    from fctrain.data import read_jsonl
    from fctrain.models.tiny import tiny_tokenizer
    from fctrain.render import render_prompt

    monkeypatch.chdir(tmp_path)
    run = tmp_path / "run"
    args = [f"output_dir={run}", f"model.name_or_path={model}", f"template.name={template}",
            "stages.0.max_steps=8", "data.sources.0.n=40", "template.max_length=4096",  # Llama indents tools
            "stages.0.skip_unrenderable=true"]  # and renders one call per turn: parallel-call samples are skipped
    assert main(["run", str(SMOKE / "sft.yaml"), *args]) == 0
    metrics = _stages(run)["sft"]["metrics"]
    assert metrics["loss_last"] < metrics["loss_first"], metrics
    assert metrics["render_one_sequence"] + metrics["render_per_turn"] > 0
    sample = read_jsonl(run / "data" / "train.jsonl")[0]
    assert render_prompt(tiny_tokenizer(), sample, template=template).endswith(answer_start)


@pytest.mark.slow
def test_smoke_ckd_in_the_llama_format(tmp_path, monkeypatch):
    """The CKD curriculum smoke recipe (teacher SFT -> rollouts -> cache -> CKD) with tiny Llama-shaped models
    in the Llama 3.2 format: rollouts are parsed and the targets rendered in that format."""
    monkeypatch.chdir(tmp_path)
    run = tmp_path / "run"
    args = [f"output_dir={run}", "template.name=llama3_2", "teacher.name_or_path=tiny-llama",
            "template.max_length=4096", "stages.0.skip_unrenderable=true"]  # Llama renders one call per turn
    assert main(["run", str(SMOKE / "ckd.yaml"), *args]) == 0
    stages = _stages(run)
    assert stages["rollout"]["metrics"]["prompts"] > 0 and stages["cache_teacher"]["metrics"]["n_tokens"] > 0
    assert stages["ckd"]["metrics"]["loss_last"] < stages["ckd"]["metrics"]["loss_first"]
