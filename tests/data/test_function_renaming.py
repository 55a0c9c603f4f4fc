"""Function renaming (Hammer's function masking): function and parameter names change in the tool list and the
answers alike."""

from __future__ import annotations

import pytest

from fctrain.data import generate_tasks, validate_sample
from fctrain.data.function_renaming import rename_functions, rename_share, restyle


def _calls(sample):
    return [c["name"] for m in sample["messages"] if m["role"] == "assistant" for c in m.get("tool_calls") or []]


def test_calls_follow_the_renamed_tools_and_nothing_else_changes():
    samples = [s for s in generate_tasks(40, seed=3) if _calls(s)]
    for sample in samples:
        renamed = rename_functions(sample, seed=0)
        assert validate_sample(renamed) == []
        old_names, new_names = [t["name"] for t in sample["tools"]], [t["name"] for t in renamed["tools"]]
        mapping = dict(zip(old_names, new_names))
        assert len(set(new_names)) == len(new_names)  # still distinct
        assert _calls(renamed) == [mapping[n] for n in _calls(sample)]
        for old, new in zip(sample["tools"], renamed["tools"]):
            assert old["description"] == new["description"]
            old_props, new_props = old["parameters"]["properties"], new["parameters"]["properties"]
            assert list(old_props.values()) == list(new_props.values())  # same parameters, maybe new names
            names = dict(zip(old_props, new_props))
            assert new["parameters"].get("required", []) == [names[k] for k in old["parameters"].get("required", [])]
        tools = {t["name"]: t for t in renamed["tools"]}
        old_calls = [c for m in sample["messages"] for c in m.get("tool_calls") or []]
        new_calls = [c for m in renamed["messages"] for c in m.get("tool_calls") or []]
        for old_call, new_call in zip(old_calls, new_calls):
            assert set(new_call["arguments"]) <= set(tools[new_call["name"]]["parameters"]["properties"])
            assert list(new_call["arguments"].values()) == list(old_call["arguments"].values())
        assert [m.get("content") for m in renamed["messages"]] == [m.get("content") for m in sample["messages"]]
        assert sample["tools"][0]["name"] == old_names[0]  # the input is not modified
    renamed = [rename_functions(s, seed=0) for s in samples]
    assert renamed == [rename_functions(s, seed=0) for s in samples]  # deterministic
    changed = sum(a["tools"] != b["tools"] for a, b in zip(samples, renamed))
    assert changed >= 0.9 * len(samples)


def test_about_half_the_parameters_get_new_names():
    samples = generate_tasks(60, seed=5)
    total = renamed = 0
    for sample in samples:
        for old, new in zip(sample["tools"], rename_functions(sample, seed=0)["tools"]):
            pairs = list(zip(old["parameters"]["properties"], new["parameters"]["properties"]))
            total += len(pairs)
            renamed += sum(a != b for a, b in pairs)
    assert 0.3 < renamed / total < 0.7


def test_restyle_keeps_the_words_of_the_name():
    import random

    rng = random.Random(0)
    for _ in range(50):
        new = restyle("calculate_triangle_area", rng).lower()
        assert "triangle" in new and "area" in new


def test_share_picks_samples_by_id():
    samples = generate_tasks(200, seed=4)
    out = rename_share(samples, 0.5, seed=1)
    changed = [a is not b for a, b in zip(samples, out)]
    assert 60 < sum(changed) < 140
    assert [a is not b for a, b in zip(samples, rename_share(samples, 0.5, seed=1))] == changed
    assert rename_share(samples, 0.0) == samples
    with pytest.raises(ValueError, match="share"):
        rename_share(samples, 1.5)


def test_recipe_renames_training_samples_only(tmp_path):
    import yaml

    from fctrain.config.loader import load_recipe
    from fctrain.data import read_jsonl
    from fctrain.pipeline import prepare_data

    recipe = {"name": "rename", "output_dir": str(tmp_path / "run"), "model": {"name_or_path": "tiny-qwen3"},
              "data": {"sources": [{"path": "synthetic", "n": 40}], "val_fraction": 0.25, "rename_functions": 1.0},
              "stages": [{"type": "sft", "max_steps": 1}]}
    path = tmp_path / "recipe.yaml"
    path.write_text(yaml.safe_dump(recipe))
    out = prepare_data(load_recipe(path), tmp_path / "run")
    originals = {s["id"]: s for s in generate_tasks(40, seed=0)}
    train, val = read_jsonl(out["data_path"]), read_jsonl(out["val_path"])
    assert train and val
    assert all(s["tools"] == originals[s["id"]]["tools"] for s in val)
    renamed = [s for s in train if s["tools"] != originals[s["id"]]["tools"]]
    assert len(renamed) >= 0.9 * len(train)
    assert renamed[0] == rename_functions(originals[renamed[0]["id"]], seed=0)
