"""The frozen-block cache gives the model's own logits and gradients, epoch after epoch, and steps aside where
it cannot be exact."""

from __future__ import annotations

import pytest
import torch

from fctrain.errors import ConfigError
from fctrain.models.frozen_block_cache import _SHARED_STORES, install_frozen_block_cache
from fctrain.testing import tiny_model
from fctrain.trainers.common import freeze_below_top_layers

PAD = 0


def _pair(arch: str):
    """(reference model, cached model): the same weights, top block trainable."""
    models = []
    for _ in range(2):
        m = tiny_model(arch, seed=3, num_layers=3).train()
        freeze_below_top_layers(m, 1)
        models.append(m)
    cache = install_frozen_block_cache(models[1], 1)
    return models[0], models[1], cache


def _batch(rows: list[list[int]], width: int):
    ids = torch.full((len(rows), width), PAD)
    mask = torch.zeros(len(rows), width, dtype=torch.long)
    for i, r in enumerate(rows):
        ids[i, : len(r)], mask[i, : len(r)] = torch.tensor(r), 1
    return ids, mask


def _loss_and_grads(model, ids, mask):
    model.zero_grad()
    logits = model(input_ids=ids, attention_mask=mask, use_cache=False).logits
    loss = (logits.float().log_softmax(-1)[..., 5] * mask).sum()  # real positions only
    loss.backward()
    grads = {n: p.grad.clone() for n, p in model.named_parameters() if p.requires_grad}
    return logits[mask.bool()], grads


@pytest.mark.parametrize("arch", ["qwen3", "llama"])
def test_cached_forward_matches_the_model_across_epochs_and_paddings(arch):
    ref, cached, cache = _pair(arch)
    a, b, c = [7, 8, 9, 10, 11], [12, 13, 14], [15, 16, 17, 18, 19, 20, 21]
    # epoch 1 computes the features; epoch 2 reuses them in other batches with other pad lengths
    for rows, width in [([a, b], 6), ([c], 7), ([b, c, a], 9), ([a], 5)]:
        ids, mask = _batch(rows, width)
        want_logits, want_grads = _loss_and_grads(ref, ids, mask)
        got_logits, got_grads = _loss_and_grads(cached, ids, mask)
        torch.testing.assert_close(got_logits, want_logits, rtol=1e-5, atol=1e-5)
        assert want_grads.keys() == got_grads.keys() and want_grads
        for name in want_grads:
            torch.testing.assert_close(got_grads[name], want_grads[name], rtol=1e-4, atol=1e-6)
    assert cache.stats == {"hits": 4, "misses": 3, "uncached_calls": 0}
    assert [len(store.features) for store in _SHARED_STORES.values()] == [3]


def test_left_padding_and_kv_cache_run_uncached():
    ref, cached, cache = _pair("qwen3")
    ids = torch.tensor([[PAD, 7, 8, 9], [10, 11, 12, 13]])
    mask = torch.tensor([[0, 1, 1, 1], [1, 1, 1, 1]])
    with torch.no_grad():
        torch.testing.assert_close(cached(input_ids=ids, attention_mask=mask).logits,
                                   ref(input_ids=ids, attention_mask=mask).logits)
        out = cached.eval().generate(input_ids=ids[1:], attention_mask=mask[1:], max_new_tokens=3, do_sample=False,
                                     pad_token_id=PAD)
        want = ref.eval().generate(input_ids=ids[1:], attention_mask=mask[1:], max_new_tokens=3, do_sample=False,
                                   pad_token_id=PAD)
    assert torch.equal(out, want)
    assert cache.stats["hits"] == 0 and cache.stats["uncached_calls"] >= 2
    # state_dict is the full model's: the blocks are swapped only for the duration of a call
    assert cached.state_dict().keys() == ref.state_dict().keys()


def test_refused_without_frozen_blocks_or_with_dropout():
    m = tiny_model("qwen3", seed=0, num_layers=3)
    with pytest.raises(ConfigError, match="must be\\s+frozen"):
        install_frozen_block_cache(m, 1)
    m.config.attention_dropout = 0.1
    freeze_below_top_layers(m, 1)
    with pytest.raises(ConfigError, match="dropout"):
        install_frozen_block_cache(m, 1)


def test_packed_rows_match_the_model_and_share_the_cache_with_padded_ones():
    ref, cached, cache = _pair("llama")
    a, b = [7, 8, 9, 10, 11], [12, 13, 14]
    ids_pad, mask = _batch([a, b], 5)
    _loss_and_grads(cached, ids_pad, mask)  # caches a and b as samples
    packed = torch.tensor([a + b])
    positions = torch.tensor([[0, 1, 2, 3, 4, 0, 1, 2]])
    grads = []
    for model in (ref, cached):
        model.zero_grad()
        logits = model(input_ids=packed, position_ids=positions, use_cache=False).logits
        logits.float().log_softmax(-1)[..., 5].sum().backward()
        grads.append((logits, model.model.layers[2].mlp.up_proj.weight.grad.clone()))
    torch.testing.assert_close(grads[1][0], grads[0][0], rtol=1e-5, atol=1e-5)
    torch.testing.assert_close(grads[1][1], grads[0][1], rtol=1e-4, atol=1e-6)
    assert cache.stats == {"hits": 2, "misses": 2, "uncached_calls": 0}


def test_a_second_model_with_the_same_frozen_part_reuses_the_features():
    """Teacher SFT -> teacher cache -> CKD of a student with the same base: one store, computed once."""
    ref, first, first_cache = _pair("qwen3")
    second = tiny_model("qwen3", seed=3, num_layers=3).train()
    with torch.no_grad():  # the trained top block differs; the frozen part does not
        second.model.layers[2].mlp.up_proj.weight.add_(0.5)
    freeze_below_top_layers(second, 1)
    second_cache = install_frozen_block_cache(second, 1)
    ids, mask = _batch([[7, 8, 9, 10], [11, 12]], 4)
    _loss_and_grads(first, ids, mask)
    got_logits, got_grads = _loss_and_grads(second, ids, mask)
    assert second_cache.digest == first_cache.digest
    assert second_cache.stats == {"hits": 2, "misses": 0, "uncached_calls": 0}
    with torch.no_grad():
        ref.model.layers[2].mlp.up_proj.weight.add_(0.5)
    want_logits, want_grads = _loss_and_grads(ref, ids, mask)
    torch.testing.assert_close(got_logits, want_logits, rtol=1e-5, atol=1e-5)
    for name in want_grads:
        torch.testing.assert_close(got_grads[name], want_grads[name], rtol=1e-4, atol=1e-6)


def test_another_frozen_part_or_autocast_gets_its_own_features():
    _, first, first_cache = _pair("qwen3")
    other = tiny_model("qwen3", seed=3, num_layers=3).train()
    with torch.no_grad():
        other.model.layers[0].mlp.up_proj.weight.add_(0.5)  # a frozen block differs
    freeze_below_top_layers(other, 1)
    other_cache = install_frozen_block_cache(other, 1)
    assert other_cache.digest != first_cache.digest
    ids, mask = _batch([[7, 8, 9, 10]], 4)
    _loss_and_grads(first, ids, mask)
    _loss_and_grads(other, ids, mask)
    assert other_cache.stats["misses"] == 1 and other_cache.stats["hits"] == 0
    with torch.autocast("cpu", dtype=torch.bfloat16):
        _loss_and_grads(first, ids, mask)  # bf16 features are another function of the tokens
    assert first_cache.stats == {"hits": 0, "misses": 2, "uncached_calls": 0}
    assert len(_SHARED_STORES) == 3
