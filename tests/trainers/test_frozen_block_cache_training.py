"""Training with `model.cache_frozen_blocks` ends at the same weights as training without it: SFT through
TRL's trainer for several epochs (the cache serves every epoch after the first), and CKD through the CLI."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
import torch

from fctrain.cli import main

SMOKE = Path(__file__).resolve().parents[2] / "recipes" / "smoke"


def test_sft_epochs_with_the_cache_reach_the_same_weights(tmp_path, tool_samples):
    from trl import SFTConfig

    from fctrain.models.frozen_block_cache import install_frozen_block_cache
    from fctrain.render import sft_dataset
    from fctrain.testing import tiny_model, tiny_tokenizer
    from fctrain.trainers.common import freeze_below_top_layers
    from fctrain.trainers.sft_trainer import FctrainSFTTrainer

    tok = tiny_tokenizer()
    # The tiny tokenizer's own template (fctrain's, prefix-preserving): one row per conversation, as before
    # Qwen3's format split the multi-turn one into rows of other lengths (other padding, other float noise).
    dataset, _ = sft_dataset(tok, [s for s in tool_samples if s["id"] != "no-tools-chat"], template="model",
                             think=False)
    weights, caches = {}, {}
    for cached in (False, True):
        model = tiny_model("qwen3", seed=0, num_layers=3)
        freeze_below_top_layers(model, 1)
        if cached:
            caches[cached] = install_frozen_block_cache(model, 1)
        args = SFTConfig(output_dir=str(tmp_path / str(cached)), report_to=[], use_cpu=True, max_length=None,
                         num_train_epochs=3, per_device_train_batch_size=2, learning_rate=1e-2, seed=0,
                         logging_steps=100, save_strategy="no")
        FctrainSFTTrainer(model=model, args=args, train_dataset=dataset, processing_class=tok).train()
        weights[cached] = {n: p.detach().clone() for n, p in model.named_parameters()}
    start = dict(tiny_model("qwen3", seed=0, num_layers=3).named_parameters())
    top = "model.layers.2.mlp.down_proj.weight"
    assert not torch.allclose(weights[False][top], start[top])  # it trained
    for name, w in weights[False].items():
        torch.testing.assert_close(weights[True][name], w, rtol=1e-4, atol=1e-5, msg=name)
    stats = caches[True].stats
    assert stats["misses"] == len(dataset) and stats["hits"] == 2 * len(dataset), stats


@pytest.mark.slow
def test_ckd_stage_uses_the_cache_and_learns(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    run = tmp_path / "run"
    assert main(["run", str(SMOKE / "ckd.yaml"), f"output_dir={run}", "model.trainable_layers=1",
                 "model.cache_frozen_blocks=true", "stages.ckd.max_steps=24"]) == 0
    ckd = next(s for s in json.loads((run / "summary.json").read_text())["stages"] if s["type"] == "ckd")
    metrics = ckd["metrics"]
    assert metrics["frozen_cache_hits"] > 0 and metrics["frozen_cache_uncached_calls"] == 0, metrics
    assert metrics["loss_last"] < metrics["loss_first"], metrics


@pytest.mark.slow
def test_curriculum_stages_share_the_frozen_features(tmp_path, monkeypatch):
    """Teacher and student on one base: the cache stage reuses the teacher SFT's features where a rollout is
    the reference, and CKD computes none of its own."""
    monkeypatch.chdir(tmp_path)
    run = tmp_path / "run"
    same_base = ["model.name_or_path=tiny-qwen3"]
    for section in ("model", "teacher"):
        same_base += [f"{section}.trainable_layers=1", f"{section}.cache_frozen_blocks=true"]
    assert main(["run", str(SMOKE / "ckd.yaml"), f"output_dir={run}", *same_base]) == 0
    stages = {s["type"]: s["metrics"] for s in json.loads((run / "summary.json").read_text())["stages"]}
    assert stages["rollout"]["reference_fallback"] > 0  # a tiny random teacher: references stand in
    assert stages["cache_teacher"]["frozen_cache_hits"] > 0, stages["cache_teacher"]
    assert stages["ckd"]["frozen_cache_misses"] == 0 and stages["ckd"]["frozen_cache_hits"] > 0, stages["ckd"]
    assert stages["ckd"]["loss_last"] < stages["ckd"]["loss_first"]
