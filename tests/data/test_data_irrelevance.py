"""Tool-swap irrelevance samples: valid, no needed tool offered, deterministic."""

from __future__ import annotations

import pytest

from fctrain.data import generate_tasks, validate_sample
from fctrain.data.irrelevance import NO_TOOL_REPLY, swap_tools_irrelevance


def _called(sample):
    return {c["name"] for m in sample["messages"] if m["role"] == "assistant" for c in m.get("tool_calls") or []}


def test_swapped_samples_offer_none_of_the_needed_tools():
    pool = [s for s in generate_tasks(60, seed=1) if _called(s)]
    out = swap_tools_irrelevance(pool, 20, seed=0)
    assert len(out) == 20
    by_id = {s["id"]: s for s in pool}
    for s in out:
        assert validate_sample(s) == []
        src = next(v for k, v in by_id.items() if s["id"].endswith(k))
        assert not ({t["name"] for t in s["tools"]} & _called(src))
        assert s["messages"][-1] == {"role": "assistant", "content": NO_TOOL_REPLY}
    assert swap_tools_irrelevance(pool, 20, seed=0) == out
    assert swap_tools_irrelevance(pool, 20, seed=1) != out


def test_too_few_samples_give_none():
    one = [s for s in generate_tasks(10, seed=0) if _called(s)][:1]
    assert swap_tools_irrelevance(one, 5) == []  # a single sample has nobody to swap tools with
    assert swap_tools_irrelevance([], 5) == []


def test_contrast_pairs_differ_only_in_the_tools():
    from fctrain.data.irrelevance import contrast_pairs

    pool = [s for s in generate_tasks(60, seed=1) if _called(s)]
    out = contrast_pairs(pool, 10, seed=0)
    assert len(out) == 20
    for original, twin in zip(out[::2], out[1::2]):
        assert original["group"] == twin["group"] and twin["id"] == original["group"]
        assert {k: v for k, v in original.items() if k != "group"} in pool and validate_sample(twin) == []
        assert twin["messages"][0] == original["messages"][0]  # the same request, word for word
        assert twin["messages"][-1] == {"role": "assistant", "content": NO_TOOL_REPLY}
        assert not ({t["name"] for t in twin["tools"]} & _called(original))
        assert len(twin["tools"]) == len(original["tools"])  # this pool always has a partner of the same size
    assert contrast_pairs(pool, 10, seed=0) == out
    assert contrast_pairs(pool, 10, seed=1) != out
    assert contrast_pairs(pool[:1], 5) == []


def test_contrast_groups_with_several_negatives():
    from fctrain.data.irrelevance import contrast_pairs

    pool = [s for s in generate_tasks(80, seed=2) if _called(s)]
    out = contrast_pairs(pool, 8, seed=0, negatives=3)
    groups = {}
    for s in out:
        groups.setdefault(s["group"], []).append(s)
    assert len(groups) == 8 and all(len(g) == 4 for g in groups.values())
    assert len({s["id"] for s in out}) == len(out)
    for original, *twins in groups.values():
        assert original["messages"][-1].get("tool_calls")
        tool_sets = [frozenset(t["name"] for t in twin["tools"]) for twin in twins]
        assert len(set(tool_sets)) == 3  # three different tool sets
        for twin, names in zip(twins, tool_sets):
            assert twin["messages"][0] == original["messages"][0] and validate_sample(twin) == []
            assert twin["messages"][-1] == {"role": "assistant", "content": NO_TOOL_REPLY}
            assert not (names & _called(original))
    assert contrast_pairs(pool, 8, seed=0, negatives=3) == out
    with pytest.raises(ValueError, match="negatives"):
        contrast_pairs(pool, 8, negatives=0)


def test_bfcl_train_pairs_source():
    import importlib.util

    import pytest

    if importlib.util.find_spec("bfcl_eval") is None:
        pytest.skip("bfcl-eval is not installed")
    from fctrain.config.schema import DataSourceConfig
    from fctrain.data.builtin_sources import BUILTIN_SOURCES

    out = BUILTIN_SOURCES["bfcl_train_pairs"](DataSourceConfig(path="bfcl_train_pairs", n=8))
    assert len(out) == 16 and sum(bool(_called(s)) for s in out) == 8
