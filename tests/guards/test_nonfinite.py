"""A NaN injected into one SFT batch: the run stops naming the optimizer step and that batch's sample ids
(on_nan: error), or skips that one optimizer step, counts it and finishes with finite weights (on_nan: skip)."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
import torch

from fctrain.trainers.guards import NonFiniteError, WithSampleIds, ids_in_batch

REPO = Path(__file__).resolve().parents[2]
RECIPE = REPO / "recipes" / "smoke" / "sft.yaml"
POISONED_CALL = 3  # the 3rd training forward: optimizer step 3 with batch size 2 and no accumulation


def poison_third_batch(monkeypatch) -> list[torch.Tensor]:
    """Every model a stage loads gets an embedding hook that turns the 3rd training batch into NaN."""
    import fctrain.trainers.common as common

    seen: list[torch.Tensor] = []
    load = common.load_for_stage

    def load_poisoned(*args, **kwargs):
        model, tok = load(*args, **kwargs)
        calls = {"n": 0}

        def hook(module, inputs, output):
            if not module.training:
                return output
            calls["n"] += 1
            if calls["n"] == POISONED_CALL:
                seen.append(inputs[0].detach().clone())
                return output * float("nan")
            return output

        model.get_input_embeddings().register_forward_hook(hook)
        return model, tok

    monkeypatch.setattr(common, "load_for_stage", load_poisoned)
    return seen


def run(tmp_path: Path, *extra: str):
    from fctrain.config.loader import load_recipe
    from fctrain.pipeline import run_recipe

    loaded = load_recipe(RECIPE, [f"output_dir={tmp_path}", "stages.sft.max_steps=5", "data.sources.0.n=16",
                                  "data.val_fraction=0.0", "tracking.tensorboard=false", *extra])
    return run_recipe(loaded)


def test_nan_batch_stops_the_run_naming_step_and_samples(tmp_path, monkeypatch):
    from fctrain.data import read_jsonl
    from fctrain.render import build_sft_rows
    from fctrain.testing import tiny_tokenizer

    seen = poison_third_batch(monkeypatch)
    with pytest.raises(NonFiniteError) as err:
        run(tmp_path)
    assert err.value.step == POISONED_CALL
    assert f"optimizer step {POISONED_CALL}" in str(err.value)
    ids = err.value.sample_ids
    assert len(ids) == 2 and all(i in str(err.value) for i in ids)
    # The named samples are exactly the poisoned batch: render them and compare with the tokens the hook saw.
    tok = tiny_tokenizer()
    by_id = {s["id"]: s for s in read_jsonl(tmp_path / "data" / "train.jsonl")}
    rendered = sorted(tuple(build_sft_rows(tok, [by_id[i]], max_length=2048).rows[0]["input_ids"]) for i in ids)
    batch = seen[0]
    poisoned = sorted(tuple(t for t in row.tolist() if t != tok.pad_token_id) for row in batch)
    assert rendered == poisoned
    assert not (tmp_path / "01-sft" / "outputs.json").exists()


def test_nan_batch_is_skipped_and_counted_when_allowed(tmp_path, monkeypatch):
    from safetensors.torch import load_file

    poison_third_batch(monkeypatch)
    summary = run(tmp_path, "stages.sft.on_nan=skip")
    assert summary["stages"][0]["metrics"]["nonfinite_steps_skipped"] == 1
    weights = load_file(str(tmp_path / "01-sft" / "model" / "model.safetensors"))
    assert all(torch.isfinite(w).all() for w in weights.values())
    rows = [json.loads(x) for x in (tmp_path / "01-sft" / "metrics.jsonl").read_text().splitlines()]
    assert max(r["step"] for r in rows) == 5  # the run went on after the skipped step


def test_ids_travel_with_ckd_and_grpo_batches():
    collate = WithSampleIds(lambda features: {"input_ids": torch.zeros(len(features), 3)})
    batch = collate([{"id": "a"}, {"id": "b"}])
    assert ids_in_batch(batch) == ["a", "b"]
    rows = [{"id": "p1", "prompt": "x"}] * 4 + [{"id": "p2", "prompt": "y"}] * 4  # GRPO: n rows per prompt
    assert ids_in_batch(rows) == ["p1", "p2"]
    assert ids_in_batch({"input_ids": torch.zeros(1, 2)}) is None
