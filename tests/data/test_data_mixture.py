from __future__ import annotations

import pytest

from fctrain.data import LoadResult, content_hash, mix_sources, split_train_val
from fctrain.data.mixture import val_fraction_of
from fctrain.errors import ConfigError


def sample(i, tag="a"):
    return {"id": f"{tag}{i}", "tools": [], "messages": [{"role": "user", "content": f"{tag} {i}"},
                                                         {"role": "assistant", "content": f"reply {i}"}]}


def test_content_hash_ignores_id_and_tool_order():
    a = {**sample(1), "tools": [{"name": "x"}, {"name": "y"}]}
    b = {**a, "id": "other", "tools": [{"name": "y"}, {"name": "x"}]}
    assert content_hash(a) == content_hash(b) != content_hash(sample(2))


def test_mix_weights_as_multipliers_and_dedup():
    a = LoadResult([sample(i) for i in range(10)], source="a")
    b = LoadResult([sample(i, "b") for i in range(4)] + [sample(0)], source="b")  # last one duplicates a0
    mixed = mix_sources([(a, 0.5), (b, 2.0)], seed=1)
    assert mixed.skipped["duplicate"] == 1
    ids = [s["id"] for s in mixed.samples]
    assert sum(i.startswith("a") for i in ids) == 5 and sum(i.startswith("b") for i in ids) == 8
    assert mix_sources([(a, 0.5), (b, 2.0)], seed=1).samples == mixed.samples
    assert mix_sources([(a, 0.5), (b, 2.0)], seed=2).samples != mixed.samples


def test_mix_total_uses_shares():
    a, b = [sample(i) for i in range(10)], [sample(i, "b") for i in range(10)]
    mixed = mix_sources([(a, 3), (b, 1)], seed=0, total=7)
    ids = [s["id"] for s in mixed.samples]
    assert len(ids) == 7 and sum(i.startswith("a") for i in ids) == 5  # 5.25 -> 5, 1.75 -> 2


def test_colliding_ids_of_different_samples_are_renamed():
    mixed = mix_sources([([sample(1)], 1), ([{**sample(2), "id": "a1"}], 1)], seed=0)
    assert len({s["id"] for s in mixed.samples}) == 2


def test_bad_weights():
    with pytest.raises(ConfigError):
        mix_sources([([sample(1)], -1)], seed=0)
    with pytest.raises(ConfigError):
        mix_sources([], seed=0)


def test_split_is_deterministic_and_stable():
    samples = [sample(i) for i in range(2000)]
    train, val = split_train_val(samples, 0.1, seed=0)
    assert len(train) + len(val) == 2000 and 150 < len(val) < 250
    assert {s["id"] for s in train}.isdisjoint(s["id"] for s in val)
    # Adding samples never moves an existing one; the split depends on ids, not on order.
    train2, val2 = split_train_val(list(reversed(samples)) + [sample(i, "z") for i in range(50)], 0.1, seed=0)
    assert {s["id"] for s in val} <= {s["id"] for s in val2}
    # Pinned value: sha256 is the same on every machine and Python version.
    assert val_fraction_of("a0", 0) == int("e96c21cb53609606", 16) / 2**64


def test_split_never_leaves_val_empty():
    train, val = split_train_val([sample(1), sample(2)], 0.01, seed=3)
    assert len(val) == 1 and len(train) == 1
    assert split_train_val([sample(1)], 0.0)[1] == []
    with pytest.raises(ConfigError):
        split_train_val([sample(1)], 1.0)
