"""Checkpoint bookkeeping without training: which checkpoint resume picks, what rotation deletes, metrics
truncation, and the GRPO prompt stream's state surviving a save/restore."""

from __future__ import annotations

import json
import struct
from types import SimpleNamespace

from fctrain.trainers.checkpointing import (
    MARKER,
    CompleteCheckpoints,
    latest_complete_checkpoint,
    prepare_resume,
    prompt_stream_hook,
    restore_extra_state,
    rotate,
)
from fctrain.trainers.dynamic_filter import PromptStream

EMPTY_SAFETENSORS = struct.pack("<Q", 2) + b"{}"  # a whole file holding no tensors


def make(out, step, complete):
    d = out / f"checkpoint-{step}"
    d.mkdir(parents=True)
    (d / "model.safetensors").write_bytes(EMPTY_SAFETENSORS)
    if complete:
        (d / MARKER).write_text("{}")
    return d


def test_resume_picks_the_newest_complete_checkpoint_and_drops_partial_ones(tmp_path):
    out = tmp_path / "trainer"
    make(out, 2, True)
    make(out, 10, True)
    make(out, 12, False)  # killed mid-save
    (out / "checkpoint-x").mkdir()  # not a checkpoint name
    metrics = tmp_path / "metrics.jsonl"
    metrics.write_text("".join(json.dumps({"step": s, "loss": 1.0 / s}) + "\n" for s in range(1, 13)))
    assert latest_complete_checkpoint(out).name == "checkpoint-10"
    ckpt = prepare_resume(out, metrics)
    assert ckpt.name == "checkpoint-10"
    assert not (out / "checkpoint-12").exists()
    assert [json.loads(x)["step"] for x in metrics.read_text().splitlines()] == list(range(1, 11))


def test_damaged_newest_checkpoint_is_set_aside_and_resume_falls_back(tmp_path, capsys):
    out = tmp_path / "trainer"
    make(out, 2, True)
    make(out, 4, True)
    (out / "checkpoint-4" / "optimizer.pt").write_bytes(b"PK\x03\x04 cut short")  # a zip without its directory
    ckpt = prepare_resume(out, None)
    assert ckpt.name == "checkpoint-2"
    assert sorted(p.name for p in out.iterdir()) == ["checkpoint-2", "checkpoint-4.damaged"]
    said = capsys.readouterr().out
    assert f"{out / 'checkpoint-4'} is damaged (optimizer.pt: not a complete torch file" in said
    assert "resuming from checkpoint-2 instead" in said


def test_nothing_to_resume_resets_metrics(tmp_path):
    out = tmp_path / "trainer"
    make(out, 4, False)
    metrics = tmp_path / "metrics.jsonl"
    metrics.write_text(json.dumps({"step": 1, "loss": 2.0}) + "\n")
    assert prepare_resume(out, metrics) is None
    assert metrics.read_text() == ""


def test_rotation_keeps_the_last_k_complete_checkpoints(tmp_path):
    out = tmp_path / "trainer"
    for step, complete in ((2, True), (4, False), (6, True), (8, True), (10, False)):
        make(out, step, complete)
    rotate(out, keep=2)
    assert sorted(p.name for p in out.iterdir()) == ["checkpoint-10", "checkpoint-6", "checkpoint-8"]


def test_marker_written_last_with_extra_state(tmp_path):
    stream = PromptStream(10, seed=3)
    stream.take(4)
    trainer = SimpleNamespace(_prompt_stream=stream)
    args = SimpleNamespace(output_dir=str(tmp_path))
    ckpt = tmp_path / "checkpoint-5"
    ckpt.mkdir()
    CompleteCheckpoints(keep=2, hooks=[prompt_stream_hook(trainer)]).on_save(args, SimpleNamespace(global_step=5),
                                                                             None)
    assert (ckpt / MARKER).is_file() and (ckpt / "fctrain_state_rank0.json").is_file()
    expected = stream.take(25)  # what an uninterrupted run draws next (crosses a reshuffle)
    fresh = PromptStream(10, seed=3)
    restore_extra_state(ckpt, [prompt_stream_hook(SimpleNamespace(_prompt_stream=fresh))])
    assert fresh.take(25) == expected
