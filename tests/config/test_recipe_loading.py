"""Recipes: typed validation with errors naming key and file, overrides, cross-field checks, saved configs."""

from __future__ import annotations

from pathlib import Path

import pytest
import yaml

from fctrain.config.loader import apply_override, load_recipe
from fctrain.config.schema import Recipe
from fctrain.config.typed_dict import describe, from_dict
from fctrain.errors import ConfigError
from fctrain.run_dir import REDACTED, claim_run_dir, redact, redact_argv, write_run_files

REPO = Path(__file__).resolve().parents[2]

BASE = {
    "name": "t",
    "model": {"name_or_path": "tiny-qwen3"},
    "data": {"sources": [{"path": "synthetic", "n": 8}]},
    "stages": [{"type": "sft", "max_steps": 2}],
}


def write(tmp_path: Path, data: dict, name: str = "r.yaml") -> Path:
    p = tmp_path / name
    p.write_text(yaml.safe_dump(data))
    return p


def test_every_shipped_recipe_validates():
    recipes = sorted((REPO / "recipes").rglob("*.yaml"))
    assert recipes, "no recipes shipped"
    for path in recipes:
        loaded = load_recipe(path)
        assert loaded.stages, path


def test_misspelled_key_names_key_file_and_suggestion(tmp_path):
    data = {**BASE, "stages": [{"type": "sft", "learning_rat": 1e-4}]}
    p = write(tmp_path, data)
    with pytest.raises(ConfigError) as e:
        load_recipe(p)
    msg = str(e.value)
    assert str(p) in msg and "stages.0.learning_rat" in msg and "learning_rate" in msg


def test_misspelled_top_level_and_nested_key(tmp_path):
    p = write(tmp_path, {**BASE, "modle": {}})
    with pytest.raises(ConfigError, match=r"'modle' is not a known key; did you mean 'model'"):
        load_recipe(p)
    p = write(tmp_path, {**BASE, "model": {"name_or_path": "tiny-qwen3", "dtyp": "auto"}})
    with pytest.raises(ConfigError, match=r"'model.dtyp'"):
        load_recipe(p)


@pytest.mark.parametrize(
    "patch, pattern",
    [
        ({"seed": "zero"}, r"'seed' must be an integer"),
        ({"model": {"name_or_path": "tiny-qwen3", "dtype": "float8"}}, r"'model.dtype' must be one of"),
        ({"template": {"think": "yes"}}, r"'template.think' must be true or false"),
        ({"stages": [{"type": "sft", "max_steps": 1.5}]}, r"'stages.0.max_steps' must be an integer"),
        ({"stages": [{"type": "teleport"}]}, r"unknown stage type 'teleport'"),
        ({"stages": [{"max_steps": 3}]}, r"'stages.0' needs a 'type'"),
        ({"stages": []}, r"'stages' is empty"),
        ({"data": {"sources": [{"path": "no/such/file.jsonl"}]}}, r"'data.sources.0.path': no such file"),
        ({"data": {"sources": [{"path": "synthetic"}], "val_fraction": 1.5}}, r"'data.val_fraction'"),
        ({"data": {"sources": [{"path": "synthetic"}], "rename_functions": 2}}, r"'data.rename_functions' must be in"),
        ({"data": {"sources": [{"path": "synthetic", "weight": 0}]}}, r"'data.sources.0.weight' must be > 0"),
        ({"data": {"sources": [{"path": "bfcl_train_pairs", "negatives": 0}]}},
         r"'data.sources.0.negatives' must be >= 1, got 0"),
        ({"model": {"name_or_path": "./missing-model"}}, r"'model.name_or_path': no such model path"),
        ({"deepspeed": "zero9"}, r"'deepspeed': expected one of"),
        ({"model": {"name_or_path": "tiny-qwen3", "quantization": "4bit"}}, r"r\.yaml: 'model.quantization: 4bit'.*'model.lora'"),
        ({"model": {"name_or_path": "tiny-qwen3", "trainable_layers": 0}}, r"r\.yaml: 'model.trainable_layers: 0'"),
        ({"teacher": {"name_or_path": "tiny-qwen3", "trainable_layers": 2, "lora": {"r": 4}}},
         r"'teacher.trainable_layers: 2'.*'teacher.lora'"),
        ({"model": {"name_or_path": "tiny-qwen3", "cache_frozen_blocks": True}},
         r"'model.cache_frozen_blocks'.*'model.trainable_layers'"),
        ({"deepspeed": "zero3", "model": {"name_or_path": "tiny-qwen3", "trainable_layers": 1,
                                          "cache_frozen_blocks": True}}, r"'model.cache_frozen_blocks'.*ZeRO-3"),
    ],
)
def test_bad_values_are_errors_naming_the_key(tmp_path, patch, pattern):
    p = write(tmp_path, {**BASE, **patch})
    with pytest.raises(ConfigError, match=pattern):
        load_recipe(p)


def test_impossible_stage_combinations(tmp_path):
    p = write(tmp_path, {**BASE, "stages": [{"type": "ckd"}]})
    with pytest.raises(ConfigError, match=r"needs a teacher cache"):
        load_recipe(p)
    p = write(tmp_path, {**BASE, "stages": [{"type": "rollout"}]})
    with pytest.raises(ConfigError, match=r"need a 'teacher' section"):
        load_recipe(p)


def test_overrides_nested_by_index_and_by_stage_type(tmp_path):
    p = write(tmp_path, BASE)
    loaded = load_recipe(p, ["seed=7", "model.lora.r=4", "stages.sft.learning_rate=1e-4", "stages.0.max_steps=9",
                             "template.think=true"])
    assert loaded.recipe.seed == 7
    assert loaded.recipe.model.lora is not None and loaded.recipe.model.lora.r == 4
    kind, cfg = loaded.stages[0]
    assert kind == "sft" and cfg.learning_rate == pytest.approx(1e-4) and cfg.max_steps == 9
    assert loaded.recipe.template.think is True


def test_override_errors():
    data = {"stages": [{"type": "sft"}], "seed": 1}
    with pytest.raises(ConfigError, match="key=value"):
        apply_override(data, "seed")
    with pytest.raises(ConfigError, match="is a value, not a section"):
        apply_override(data, "seed.x=1")
    with pytest.raises(ConfigError, match="exactly one stage"):
        apply_override(data, "stages.grpo.lr=1")


def test_float_fields_accept_yaml_scientific_strings():
    # YAML 1.1 reads `3e-6` as a string; a float field must still accept it.
    from fctrain.trainers.sft import SFTStageConfig

    cfg = from_dict(SFTStageConfig, {"learning_rate": "3e-6"})
    assert cfg.learning_rate == pytest.approx(3e-6)


def test_redaction_of_secrets():
    data = {"tracking": {"wandb_api_key": "abc", "hf_token": "hf_x", "project": "p"}, "list": [{"password": "x"}]}
    out = redact(data)
    assert out["tracking"]["wandb_api_key"] == REDACTED and out["tracking"]["hf_token"] == REDACTED
    assert out["tracking"]["project"] == "p" and out["list"][0]["password"] == REDACTED
    assert redact_argv(["run", "x.yaml", "hub_token=secret", "seed=1"]) == ["run", "x.yaml", f"hub_token={REDACTED}",
                                                                             "seed=1"]


def test_redaction_matches_whole_words_not_token_counts():
    from fctrain.run_dir import is_secret_key

    for key in ("token", "hf_token", "HF_TOKEN", "hubToken", "wandb_api_key", "api-key", "apiKey", "apikey",
                "password", "client_secret", "auth", "auth_token", "credentials"):
        assert is_secret_key(key), key
    for key in ("max_new_tokens", "max_target_tokens", "num_tokens", "tokenizer", "author", "keyword", "api_base"):
        assert not is_secret_key(key), key
    assert redact({"stages": [{"max_new_tokens": 96, "hub_token": "x"}]}) == {
        "stages": [{"max_new_tokens": 96, "hub_token": REDACTED}]}
    assert redact_argv(["stages.grpo.max_new_tokens=96", "tracking.hf_token=x"]) == [
        "stages.grpo.max_new_tokens=96", f"tracking.hf_token={REDACTED}"]


def test_saved_demo_config_reloads_with_its_token_limits(tmp_path):
    from fctrain.config.shipped_recipes import recipes_root
    from fctrain.config.typed_dict import to_dict

    loaded = load_recipe(recipes_root() / "demo" / "small.yaml")
    config = to_dict(loaded.recipe)
    config["stages"] = [{"type": k, **to_dict(c)} for k, c in loaded.stages]
    write_run_files(tmp_path / "run", config, seed=0, argv=["fctrain", "demo"])
    assert REDACTED not in (tmp_path / "run" / "config.yaml").read_text()
    again = load_recipe(tmp_path / "run" / "config.yaml")
    assert [to_dict(c) for _, c in again.stages] == [to_dict(c) for _, c in loaded.stages]


def test_saved_config_reloads_to_the_same_recipe(tmp_path, monkeypatch):
    from fctrain.config.typed_dict import to_dict

    monkeypatch.chdir(tmp_path)
    loaded = load_recipe(write(tmp_path, BASE), ["seed=3"])
    run_dir = tmp_path / "run"
    config = to_dict(loaded.recipe)
    config["stages"] = [{"type": k, **to_dict(c)} for k, c in loaded.stages]
    write_run_files(run_dir, config, seed=3, argv=["fctrain", "run", "r.yaml", "api_key=zzz"])
    again = load_recipe(run_dir / "config.yaml")
    ignore = {"output_dir": None, "stages": None}  # output_dir becomes absolute; stages compared typed below
    assert to_dict(again.recipe) | ignore == to_dict(loaded.recipe) | ignore
    assert [to_dict(c) for _, c in again.stages] == [to_dict(c) for _, c in loaded.stages]
    meta = yaml.safe_load((run_dir / "meta.json").read_text())
    assert meta["seed"] == 3 and "torch" in meta["packages"] and "zzz" not in str(meta["argv"])


def test_taken_run_dir_gets_a_suffix(tmp_path):
    base = tmp_path / "runs" / "x"
    (base).mkdir(parents=True)
    (base / "config.yaml").write_text("{}")
    for resume, expected in (("never", tmp_path / "runs" / "x-2"), ("auto", base)):
        claim = claim_run_dir(str(tmp_path / "runs" / "{name}"), "x", resume)
        claim.lock.release()
        assert claim.path == expected


def test_schema_is_documented():
    rows = describe(Recipe)
    keys = {r[0] for r in rows}
    assert {"model.name_or_path", "data.sources.path", "template.think", "tracking.wandb"} <= keys
    assert all(r[3] for r in rows), [r[0] for r in rows if not r[3]]


@pytest.mark.parametrize(
    "stage, pattern",
    [
        ({"max_steps": 0}, r"'stages.0.max_steps' must be -1 or >= 1, got 0"),
        ({"max_steps": -5}, r"'stages.0.max_steps' must be -1 or >= 1, got -5"),
        ({"per_device_train_batch_size": 0}, r"'stages.0.per_device_train_batch_size' must be >= 1, got 0"),
        ({"gradient_accumulation_steps": -1}, r"'stages.0.gradient_accumulation_steps' must be >= 1"),
        ({"learning_rate": -0.1}, r"'stages.0.learning_rate' must be > 0 .*, got -0.1"),
        ({"learning_rate": 0}, r"'stages.0.learning_rate' must be > 0 \(0 only with allow_zero_learning_rate"),
        ({"warmup_ratio": 1.0}, r"'stages.0.warmup_ratio' must be in \[0, 1\), got 1.0"),
        ({"lr_scheduler_type": "cosin"}, r"'stages.0.lr_scheduler_type' must be one of \['linear', 'cosine'"),
        ({"train_on": "every"}, r"'stages.0.train_on' must be one of \['all_assistant', 'last_assistant'\]"),
        ({"type": "ckd", "kl_type": "fkk", "online_teacher": True}, r"'stages.0.kl_type' must be one of \['fkl'"),
        ({"type": "ckd", "loss_impl": "tritn", "online_teacher": True}, r"'stages.0.loss_impl' must be one of"),
        ({"type": "grpo", "num_generations": 1}, r"'stages.0.num_generations' must be >= 2, got 1"),
        ({"type": "grpo", "adam_betas": [0.9, 1.5]}, r"'stages.0.adam_betas' must be in \[0, 1\)"),
        ({"type": "grpo", "train_batch_size": 100}, r"'stages.0': grpo: train_batch_size \(100\) must be a multiple"),
        ({"type": "grpo", "filter": {"lo": 0.9, "hi": 0.1}}, r"'stages.0.filter.hi' must be > lo \(0.9\)"),
        ({"type": "eval", "which": "student"}, r"'stages.0.which' must be one of \['model', 'teacher'\]"),
        ({"type": "eval", "categories": ["simple_pyton"]}, r"'stages.0.categories' must be BFCL categories"),
        ({"type": "eval", "limit": 0}, r"'stages.0.limit' must be >= 1, got 0"),
    ],
)
def test_stage_ranges_and_enumerations_fail_at_validate_naming_file_key_value(tmp_path, stage, pattern):
    p = write(tmp_path, {**BASE, "stages": [{"type": "sft", **stage}]})
    with pytest.raises(ConfigError, match=pattern) as e:
        load_recipe(p)
    assert str(e.value).startswith(f"{p}: ")


@pytest.mark.parametrize(
    "override, pattern",
    [
        ("model.lora.r=0", r"'model.lora.r' must be >= 1, got 0"),
        ("model.lora.dropout=1", r"'model.lora.dropout' must be in \[0, 1\)"),
        ("data.sources.0.format=bogus", r"'data.sources.0.format' must be one of \[.*'xlam'.*'synthetic'.*got 'bogus'"),
        ("data.sources.0.n=0", r"'data.sources.0.n' must be >= 1, got 0"),
        ("data.total=0", r"'data.total' must be >= 1"),
        ("template.max_length=0", r"'template.max_length' must be >= 1"),
        ("tracking.logging_steps=0", r"'tracking.logging_steps' must be >= 1"),
    ],
)
def test_shared_section_ranges_fail_at_validate(tmp_path, override, pattern):
    p = write(tmp_path, BASE)
    with pytest.raises(ConfigError, match=pattern):
        load_recipe(p, [override])


def test_zero_learning_rate_only_when_explicitly_allowed(tmp_path):
    p = write(tmp_path, {**BASE, "stages": [{"type": "sft", "learning_rate": 0, "allow_zero_learning_rate": True}]})
    assert load_recipe(p).stages[0][1].learning_rate == 0
    from fctrain.trainers.sft import SFTStageConfig

    with pytest.raises(ConfigError, match="'learning_rate' must be > 0"):  # the Python API checks the same
        SFTStageConfig(learning_rate=0.0)


def test_enumerations_match_what_the_trainers_accept():
    import typing

    from transformers.trainer_utils import SchedulerType

    from fctrain.config.schema import LrScheduler
    from fctrain.losses.ckd_common import IMPLS, KL_TYPES

    assert set(typing.get_args(LrScheduler)) <= {s.value for s in SchedulerType}
    assert KL_TYPES == ("fkl", "rkl", "akl") and IMPLS == ("auto", "reference", "chunked", "triton")


@pytest.mark.parametrize(("template", "error"), [
    ({"name": "llama3_2"}, None),
    ({"name": "llama3"}, None),
    ({"name": "gemma4"}, None),
    ({"name": "model", "fallback": "qwen3"}, None),
    ({"name": "gemma3"}, r"r\.yaml: template\.name=gemma3: Gemma 3's official template .* renders no tools"),
    ({"name": "mistral"}, r"r\.yaml: template\.name='mistral': unknown family; expected one of"),
    ({"name": "model", "fallback": "gemma3"}, r"renders no tools"),
    ({"name": "qwen3", "fallback": "qwen3"}, r"'template\.fallback' applies only with template\.name: model"),
    ({"name": "missing.jinja"}, r"template\.name='missing\.jinja': no such Jinja file"),
])
def test_template_names_a_family_model_or_a_jinja_file(tmp_path, template, error):
    path = write(tmp_path, {**BASE, "template": template})
    if error is not None:
        with pytest.raises(ConfigError, match=error):
            load_recipe(path)
    else:
        assert load_recipe(path).recipe.template.name == template["name"]


def test_a_jinja_template_path_is_resolved_against_the_recipe(tmp_path):
    (tmp_path / "mine.jinja").write_text("{{ messages }}")
    loaded = load_recipe(write(tmp_path, {**BASE, "template": {"name": "mine.jinja"}}))
    assert loaded.recipe.template.name == str(tmp_path / "mine.jinja")
