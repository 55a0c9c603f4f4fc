"""A run directory describes its model: a stage is reused, or a checkpoint resumed, only under the settings that
produced it. Each probe works on a copy of the tiny finished run of tests/resume/conftest.py."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import yaml

REPO = Path(__file__).resolve().parents[2]
SMOKE_SFT = REPO / "recipes" / "smoke" / "sft.yaml"


def test_finished_run_with_a_changed_learning_rate_is_refused_and_config_yaml_unchanged(copy, capsys, run_tiny):
    before = {p: p.read_bytes() for p in (copy / "config.yaml", copy / "01-sft" / "outputs.json")}
    assert run_tiny(copy, "stages.sft.learning_rate=0.5") == 2
    err = capsys.readouterr().err
    assert f"{copy} holds results of other settings than this recipe (01-sft: complete)" in err
    assert "stages.0.learning_rate: 0.003 -> 0.5" in err
    assert "resume=never" in err and "resume=force" in err and "output_dir=" in err
    assert {p: p.read_bytes() for p in before} == before
    assert not (copy / "resume_force.jsonl").exists()


def test_changed_batch_size_mid_stage_is_refused_naming_the_checkpoint(copy, capsys, run_tiny):
    (copy / "01-sft" / "outputs.json").unlink()  # as if stopped after checkpoint-2
    assert run_tiny(copy, "stages.sft.per_device_train_batch_size=1") == 2
    err = capsys.readouterr().err
    assert "(01-sft: checkpoint step 2)" in err
    assert "stages.0.per_device_train_batch_size: 2 -> 1" in err


def test_settings_that_do_not_shape_results_change_freely_and_config_yaml_follows(copy, capsys, run_tiny):
    assert run_tiny(copy, "tracking.logging_steps=5", "stages.sft.save_total_limit=3", "stages.sft.on_nan=skip") == 0
    assert "stage 1 (sft): already complete, reusing its outputs" in capsys.readouterr().err
    config = yaml.safe_load((copy / "config.yaml").read_text())
    assert config["tracking"]["logging_steps"] == 5 and config["stages"][0]["on_nan"] == "skip"


def test_resume_says_which_checkpoint_it_continues_from(copy, capsys, run_tiny):
    (copy / "01-sft" / "outputs.json").unlink()
    shutil.rmtree(copy / "01-sft" / "trainer" / "checkpoint-2")
    assert run_tiny(copy) == 0
    captured = capsys.readouterr()
    ckpt = copy / "01-sft" / "trainer" / "checkpoint-1"
    assert f"resume: stage 1 (sft) continues from checkpoint step 1: {ckpt}" in captured.err.replace("\n", "")
    assert f"fctrain: resuming 01-sft from checkpoint step 1: {ckpt}" in captured.out
    outputs = json.loads((copy / "01-sft" / "outputs.json").read_text())
    assert outputs["metrics"]["resumed_from_step"] == 1


def test_resume_force_continues_records_the_change_and_restamps(copy, capsys, run_tiny):
    assert run_tiny(copy, "stages.sft.learning_rate=0.5", "resume=force") == 0
    forced = [json.loads(line) for line in (copy / "resume_force.jsonl").read_text().splitlines()]
    assert forced[0]["changes"] == [{"key": "stages.0.learning_rate", "recorded": "0.003", "now": "0.5"}]
    assert forced[0]["stages"] == ["01-sft: complete"]
    assert yaml.safe_load((copy / "config.yaml").read_text())["stages"][0]["learning_rate"] == 0.5
    capsys.readouterr()
    assert run_tiny(copy, "stages.sft.learning_rate=0.5") == 0  # the directory now records the forced settings


def test_stage_hash_is_in_outputs_checkpoints_and_settings(finished):
    outputs = json.loads((finished / "01-sft" / "outputs.json").read_text())
    settings = json.loads((finished / "01-sft" / "settings.json").read_text())
    markers = [json.loads(p.read_text()) for p in (finished / "01-sft" / "trainer").glob("checkpoint-*/COMPLETE")]
    assert markers and {m["config_hash"] for m in markers} == {outputs["config_hash"]} == {settings["config_hash"]}
    assert settings["settings"]["stages.0.learning_rate"] == 0.003
    assert "tracking.logging_steps" not in settings["settings"] and "output_dir" not in settings["settings"]


def test_a_directory_without_records_is_judged_by_its_config_yaml(copy, capsys, run_tiny):
    """Run directories written before the records existed: outputs.json without config_hash, no settings.json."""
    done = copy / "01-sft" / "outputs.json"
    done.write_text(json.dumps({k: v for k, v in json.loads(done.read_text()).items() if k != "config_hash"}))
    (copy / "01-sft" / "settings.json").unlink()
    assert run_tiny(copy, "stages.sft.warmup_ratio=0.5") == 2
    assert "stages.0.warmup_ratio: 0.1 -> 0.5" in capsys.readouterr().err
    assert run_tiny(copy) == 0


def test_data_is_reused_only_for_the_data_settings_it_was_made_with(tmp_path):
    from fctrain.config.loader import load_recipe
    from fctrain.pipeline import prepare_data

    def prepare(*overrides: str) -> tuple[int, int]:
        prepare_data(load_recipe(SMOKE_SFT, ["data.val_fraction=0.0", *overrides]), tmp_path)
        stats = json.loads((tmp_path / "data" / "stats.json").read_text())
        return stats["train"], (tmp_path / "data" / "train.jsonl").stat().st_mtime_ns

    size, written = prepare("data.sources.0.n=8")
    assert size == 8
    assert prepare("data.sources.0.n=8", "stages.sft.learning_rate=0.1") == (8, written)  # not rewritten
    assert prepare("data.sources.0.n=12")[0] == 12  # made again, not the 8 samples of other settings
