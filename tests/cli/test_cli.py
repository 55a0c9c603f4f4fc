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


VALIDATE_PROBES = [  # (recipe, override, key named in the error)
    ("sft", "stages.sft.max_steps=0", "stages.0.max_steps"),
    ("sft", "stages.sft.per_device_train_batch_size=0", "stages.0.per_device_train_batch_size"),
    ("sft", "stages.sft.learning_rate=-0.1", "stages.0.learning_rate"),
    ("sft", "model.lora.r=0", "model.lora.r"),
    ("sft", "data.sources.0.format=bogus", "data.sources.0.format"),
    ("ckd", "stages.ckd.kl_type=fkk", "stages.3.kl_type"),
    ("ckd", "stages.ckd.loss_impl=tritn", "stages.3.loss_impl"),
    ("grpo", "stages.grpo.filter.lo=0.9 stages.grpo.filter.hi=0.1", "stages.0.filter.hi"),
]


def test_validate_rejects_values_that_would_fail_at_run_time_fast_and_without_a_model():
    """The issue's probes, through the real CLI in a fresh process: exit 2, file, key and value named, no
    traceback, each under 10 s, and transformers (so any model) never imported."""
    import subprocess
    import sys

    driver = (
        "import contextlib, io, json, sys, time\n"
        "from fctrain.cli import main\n"
        "out = []\n"
        "for recipe, overrides in json.loads(sys.argv[1]):\n"
        "    err, t0 = io.StringIO(), time.perf_counter()\n"
        "    with contextlib.redirect_stderr(err):\n"
        "        rc = main(['validate', recipe, *overrides.split()])\n"
        "    out.append([rc, err.getvalue(), time.perf_counter() - t0])\n"
        "print(json.dumps({'runs': out, 'transformers': 'transformers' in sys.modules}))\n"
    )
    probes = [[str(REPO / "recipes" / "smoke" / f"{r}.yaml"), o] for r, o, _ in VALIDATE_PROBES]
    done = subprocess.run([sys.executable, "-c", driver, json.dumps(probes)], cwd=REPO, capture_output=True,
                          text=True, timeout=120, check=True)
    result = json.loads(done.stdout.splitlines()[-1])
    for (recipe, override), (_, _, key), (rc, err, seconds) in zip(probes, VALIDATE_PROBES, result["runs"]):
        value = override.split()[-1].split("=", 1)[1]
        assert rc == 2, (override, err)
        assert err.startswith(f"fctrain: error: {recipe}: '{key}' must be ") and value in err, err
        assert "Traceback" not in err and seconds < 10, (override, seconds)
    assert not result["transformers"]


def test_eval_limit_zero_is_refused(capsys):
    with pytest.raises(SystemExit) as e:
        main(["eval", "--model", "tiny-qwen3", "--limit", "0"])
    assert e.value.code == 2 and "--limit: must be >= 1, got 0" in capsys.readouterr().err
