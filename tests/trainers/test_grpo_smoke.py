"""The whole Sim-RL stage (recipe -> run_grpo): tiny model, similarity reward, dynamic filtering on."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from fctrain.errors import ConfigError

RECIPE = """
name: smoke-grpo
seed: 0
output_dir: {out}
resume: never
model:
  name_or_path: tiny-qwen3
data:
  sources:
    - path: synthetic
      n: 48
  val_fraction: 0.0
template:
  name: qwen3
tracking:
  tensorboard: false
  logging_steps: 1
stages:
  - type: grpo
    learning_rate: 1.0e-4
    warmup_ratio: 0.0
    max_steps: 2
    num_generations: 4
    rollout_batch_size: 2
    train_batch_size: 8
    per_device_train_batch_size: 4
    max_new_tokens: 12
    max_prompt_length: 450
    rewards: {{similarity: 1.0}}
    filter: {{enabled: true, max_extra_rounds: 1}}
"""


def _run_grpo_stage(tmp_path, recipe: str, samples: list[dict]) -> tuple[dict, Path]:
    """run_grpo on `recipe` (one grpo stage) and `samples`: (its result, its stage directory)."""
    from fctrain.config.loader import load_recipe
    from fctrain.data import write_jsonl
    from fctrain.stages.context import StageContext
    from fctrain.trainers.grpo import run_grpo

    path = tmp_path / "grpo.yaml"
    path.write_text(recipe)
    loaded = load_recipe(str(path), [])
    (kind, cfg), = loaded.stages
    assert kind == "grpo" and cfg.filter.max_extra_rounds == 1
    data = write_jsonl(tmp_path / "train.jsonl", samples)
    stage_dir = tmp_path / "run" / "01-grpo"
    stage_dir.mkdir(parents=True)
    ctx = StageContext(run_dir=tmp_path / "run", stage_dir=stage_dir, recipe=loaded.recipe,
                       outputs={"data_path": str(data)}, seed=0)
    result = run_grpo(ctx, cfg)
    assert (Path(result["model_path"]) / "config.json").is_file()
    return result, stage_dir


def test_grpo_stage_runs_with_similarity_reward_and_filtering(tmp_path):
    from fctrain.data import generate_tasks

    result, stage_dir = _run_grpo_stage(tmp_path, RECIPE.format(out=tmp_path / "run"), generate_tasks(48, seed=0))
    rows = [json.loads(line) for line in (stage_dir / "metrics.jsonl").read_text().splitlines()]
    logged = [r for r in rows if "filter/kept_fraction" in r]
    assert len(logged) == 2
    for r in logged:
        assert r["filter/groups_generated"] >= 2 and 0.0 <= r["filter/kept_fraction"] <= 1.0
        assert r["filter/extra_rounds"] <= 1
        for key in ("reward", "reward_std", "score/mean", "failures/format_rate", "failures/validity_rate",
                    "kl", "entropy", "completions/mean_length", "batch/reward_mean"):
            assert key in r, key
    # one rollout per optimizer step (8 completions = 2 micro-batches of 4, accumulated)
    assert [r["step"] for r in logged] == [1, 2]
    assert 0 < result["metrics"]["prompts"] < 48 and result["metrics"]["skipped_prompt_too_long"] > 0
    assert "score_mean_last" in result["metrics"]


def test_batch_plan_matches_star_and_rejects_partial_groups():
    from fctrain.trainers.grpo import GRPOStageConfig, plan_batches

    star = plan_batches(GRPOStageConfig(), world_size=8)  # 128 prompts x 8 / (8 per device x 8 GPUs)
    assert (star.gradient_accumulation_steps, star.steps_per_generation) == (2, 16)
    with pytest.raises(ConfigError, match="multiple of"):
        plan_batches(GRPOStageConfig(train_batch_size=100), world_size=1)
    with pytest.raises(ConfigError, match="num_generations"):
        GRPOStageConfig(num_generations=1)
    with pytest.raises(ConfigError, match="simlarity"):
        GRPOStageConfig(rewards={"simlarity": 1.0})


def test_dataset_rows_hold_prompt_reference_and_tools():
    from fctrain.data import generate_tasks
    from fctrain.errors import FctrainError
    from fctrain.testing import tiny_tokenizer
    from fctrain.trainers.grpo import build_grpo_dataset
    from fctrain.trainers.grpo_reward import RecipeScorer

    samples = generate_tasks(6, seed=0)
    broken = json.loads(json.dumps(samples[0]))
    broken["id"] = "broken"
    call = [m for m in broken["messages"] if m["role"] == "assistant"][-1]["tool_calls"][0]
    call["name"] = "no_such_tool"  # its own reference now fails the schema check (reward -1, score 0)
    scorer = RecipeScorer({"similarity": 1.0}, think=False)
    ds, skipped = build_grpo_dataset(samples + [broken], tiny_tokenizer(), template="qwen3", think=False,
                                     max_prompt_length=4096, scorer=scorer)
    assert ds["id"] == [s["id"] for s in samples]
    assert skipped == {"reference_fails_own_reward": 1}
    row = ds[0]
    assert row["prompt"].endswith("<|im_start|>assistant\n<think>\n\n</think>\n\n")
    assert json.loads(row["reference"])["tool_calls"] == samples[0]["messages"][-1]["tool_calls"]
    assert json.loads(row["tools"]) == samples[0]["tools"]
    with pytest.raises(FctrainError, match="prompt_too_long"):
        build_grpo_dataset(samples, tiny_tokenizer(), template="qwen3", think=False, max_prompt_length=5)


def test_references_longer_than_max_new_tokens_are_counted():
    from fctrain.data import generate_tasks
    from fctrain.render import assistant_text
    from fctrain.testing import tiny_tokenizer
    from fctrain.trainers.grpo import build_grpo_dataset, references_longer_than

    tok = tiny_tokenizer()
    ds, _ = build_grpo_dataset(generate_tasks(6, seed=0), tok, template="qwen3", think=False, max_prompt_length=4096)
    # each reference's answer tokens plus the end-of-turn token a complete completion also needs
    lengths = sorted(len(tok.encode(assistant_text(json.loads(r)), add_special_tokens=False)) + 1
                     for r in ds["reference"])
    assert references_longer_than(ds, tok, lengths[-1], think=False) == 0
    assert references_longer_than(ds, tok, lengths[0] - 1, think=False) == len(ds)
    assert references_longer_than(ds, tok, lengths[0], think=False) == sum(n > lengths[0] for n in lengths)


def test_grpo_runs_in_the_llama_format_and_its_references_pass_the_self_check(tmp_path):
    """A tiny Llama in the Llama 3.2 format: prompts, the self-check of the references and the rewards all
    read that format (a Hermes-only reader would score every reference -1 and keep no prompt)."""
    from fctrain.data import generate_tasks

    recipe = RECIPE.format(out=tmp_path / "run").replace("tiny-qwen3", "tiny-llama").replace(
        "name: qwen3", "name: llama3_2").replace("max_prompt_length: 450", "max_prompt_length: 900")
    one_call = [s for s in generate_tasks(48, seed=0) if len(s["messages"][-1].get("tool_calls") or []) < 2]
    result, _ = _run_grpo_stage(tmp_path, recipe, one_call)  # Llama 3.2 writes one call per turn
    assert result["metrics"]["prompts"] > 0
    assert result["metrics"].get("skipped_reference_fails_own_reward", 0) == 0, result["metrics"]
