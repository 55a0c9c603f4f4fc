"""Damaged files are named: a truncated checkpoint makes resume fall back to the newest intact one and say so;
a damaged outputs.json or reused model stops with its path; an empty data source is named, and a run that
fails before any stage started leaves no run directory behind."""

from __future__ import annotations

import json
from pathlib import Path

from fctrain.integrity import folder_damage, safetensors_damage


def truncate(path: Path, keep: int) -> None:
    path.write_bytes(path.read_bytes()[:keep])


def test_truncated_safetensors_in_the_latest_checkpoint_falls_back_to_the_previous_one(copy, run_tiny, capsys):
    (copy / "01-sft" / "outputs.json").unlink()  # interrupted after checkpoint-2
    damaged = copy / "01-sft" / "trainer" / "checkpoint-2"
    truncate(damaged / "model.safetensors", 1000)
    assert run_tiny(copy) == 0
    captured = capsys.readouterr()
    said = (captured.out + captured.err).replace("\n", "")
    assert "continues from checkpoint step 1" in said and "checkpoint-2 is damaged (model.safetensors:" in said
    assert f"fctrain: {damaged} is damaged (model.safetensors: " in captured.out
    assert "set aside as checkpoint-2.damaged, resuming from checkpoint-1 instead" in captured.out
    assert json.loads((copy / "01-sft" / "outputs.json").read_text())["metrics"]["resumed_from_step"] == 1
    assert (damaged.parent / "checkpoint-2.damaged").is_dir() and folder_damage(damaged) is None  # saved anew


def test_damaged_outputs_json_is_named(copy, run_tiny, capsys):
    done = copy / "01-sft" / "outputs.json"
    truncate(done, 20)
    assert run_tiny(copy) == 2
    err = capsys.readouterr().err.replace("\n", "")
    assert f"{done} is damaged: not valid JSON" in err and "resume=never" in err and "Traceback" not in err


def test_damaged_model_of_a_complete_stage_is_named_before_it_is_reused(copy, run_tiny, capsys):
    done, model = copy / "01-sft" / "outputs.json", copy / "01-sft" / "model" / "model.safetensors"
    outputs = json.loads(done.read_text())
    done.write_text(json.dumps({**outputs, "model_path": str(model.parent)}))  # the copy's, not the original's
    truncate(model, 4)
    assert run_tiny(copy) == 2
    err = capsys.readouterr().err.replace("\n", "")
    assert f"{model.parent}, the model_path in {done}, is damaged (model.safetensors: " \
           "4 bytes, shorter than the 8-byte header length)" in err


def test_empty_data_source_is_named_and_leaves_no_run_directory(tmp_path, run_tiny, capsys):
    empty = tmp_path / "empty.jsonl"
    empty.write_text("")
    out = tmp_path / "run"
    assert run_tiny(out, f"data.sources.0.path={empty}", "data.sources.0.format=messages") == 2
    err = capsys.readouterr().err.replace("\n", "")
    assert f"'data.sources.0' ({empty}, format messages) gave no samples: it holds no records" in err
    assert not out.exists(), "a run that failed before any stage started must not leave a stub directory"


def test_safetensors_checks(finished, tmp_path):
    good = finished / "01-sft" / "model" / "model.safetensors"
    assert safetensors_damage(good) is None
    bad = tmp_path / "x.safetensors"
    bad.write_bytes(good.read_bytes()[:-1])
    assert "but its header describes" in safetensors_damage(bad)
    bad.write_bytes(b"\xff" * 8 + b"{}")
    assert "does not fit" in safetensors_damage(bad)
