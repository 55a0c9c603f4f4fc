"""The command line: validate's errors, and the SFT smoke recipe end to end (loss goes down, rerunnable)."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
import yaml

from fctrain.cli import main

REPO = Path(__file__).resolve().parents[2]
SMOKE_SFT = REPO / "recipes" / "smoke" / "sft.yaml"


def test_validate_ok(capsys):
    assert main(["validate", str(SMOKE_SFT)]) == 0
    assert "ok" in capsys.readouterr().out


def test_validate_rejects_misspelled_key_naming_key_and_file(tmp_path, capsys):
    data = yaml.safe_load(SMOKE_SFT.read_text())
    data["stages"][0]["max_stesp"] = 3
    bad = tmp_path / "bad.yaml"
    bad.write_text(yaml.safe_dump(data))
    assert main(["validate", str(bad)]) == 2
    err = capsys.readouterr().err
    assert str(bad) in err and "stages.0.max_stesp" in err and "max_steps" in err


def test_validate_rejects_bad_override(capsys):
    assert main(["validate", str(SMOKE_SFT), "stages.sft.learning_rate=fast"]) == 2
    assert "stages.0.learning_rate" in capsys.readouterr().err


@pytest.mark.slow
def test_smoke_sft_loss_goes_down_and_the_saved_config_reruns_it(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    out = tmp_path / "run"
    assert main(["run", str(SMOKE_SFT), f"output_dir={out}"]) == 0
    summary = json.loads((out / "summary.json").read_text())
    metrics = summary["stages"][0]["metrics"]
    assert metrics["loss_last"] < 0.8 * metrics["loss_first"], metrics
    for name in ("config.yaml", "meta.json", "data/train.jsonl", "01-sft/model/config.json",
                 "01-sft/metrics.jsonl", "01-sft/loss.png"):
        assert (out / name).exists(), name
    assert list((out / "01-sft" / "tensorboard").glob("events.out.tfevents.*"))
    meta = json.loads((out / "meta.json").read_text())
    assert meta["seed"] == 0 and "transformers" in meta["packages"]

    # Rerun from the saved config (into a fresh directory): the same losses, step for step.
    again = tmp_path / "again"
    assert main(["run", str(out / "config.yaml"), f"output_dir={again}"]) == 0

    def losses(run):
        rows = map(json.loads, (run / "01-sft" / "metrics.jsonl").read_text().splitlines())
        return [r["loss"] for r in rows if "loss" in r]

    assert losses(again) == pytest.approx(losses(out), rel=1e-4)
