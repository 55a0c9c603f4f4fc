"""Teacher top-k cache: exact round trip, refusals, atomic/resumable builds, size budget, online mode."""

from __future__ import annotations

import json

import numpy as np
import pytest
import torch
from teacher_helpers import make_samples

from fctrain.errors import CacheMismatchError, ConfigError
from fctrain.teacher import teacher_cache as tc
from fctrain.teacher.targets import encode_sample, predict_mask, target_positions, truncate_targets

K = 16
RENDER = {"template": "qwen3", "think": False, "max_length": None, "max_target_tokens": None}


@pytest.fixture(scope="module")
def tok():
    from fctrain.testing import tiny_tokenizer

    return tiny_tokenizer()


@pytest.fixture(scope="module")
def teacher():
    from fctrain.testing import tiny_model

    return tiny_model("qwen3", seed=0).eval()


@pytest.fixture(scope="module")
def samples():
    return make_samples(6)


@pytest.fixture(scope="module")
def built(tmp_path_factory, teacher, tok, samples):
    out = tmp_path_factory.mktemp("cache")
    summary = tc.cache_teacher(teacher, tok, samples, out, k=K, batch_size=2, shard_size=2, progress=False,
                               **RENDER)
    return out, summary


def reference_topk(model, ids, mask, k):
    """Plain full forward: top-k of log_softmax at the positions predicting each target token."""
    with torch.no_grad():
        logits = model(input_ids=torch.tensor([ids])).logits[0]
    lp = torch.log_softmax(logits.float(), -1)[torch.from_numpy(predict_mask(mask))]
    return lp.topk(k, -1)


def test_pack_unpack_ids_roundtrip():
    rng = np.random.default_rng(0)
    for vocab, nbytes in [(200, 1), (1024, 2), (65536, 2), (151_936, 3), (2**24 + 1, 4)]:
        assert tc.id_bytes_for(vocab) == nbytes
        ids = rng.integers(0, vocab, size=(7, 5))
        ids[0, 0] = vocab - 1
        packed = tc.pack_ids(ids, nbytes)
        assert packed.shape == (7, 5, nbytes) and packed.dtype == np.uint8
        np.testing.assert_array_equal(tc.unpack_ids(packed), ids)


def test_truncate_targets_keeps_budget_and_closes_turn():
    ids, mask = list(range(10)), [0, 0, 0, 1, 1, 1, 1, 1, 0, 0]
    new_ids, new_mask = truncate_targets(ids, mask, 3, eot_id=99)
    assert new_ids == [0, 1, 2, 3, 4, 5, 99] and new_mask == [0, 0, 0, 1, 1, 1, 1]
    assert truncate_targets(ids, mask, 5, eot_id=99) == (ids, mask)  # within budget: untouched


def test_round_trip_equals_torch_topk(built, teacher, tok, samples):
    out, summary = built
    cache = tc.TeacherCache(out, student_tokenizer=tok, student_vocab_size=tc.output_vocab_size(teacher))
    assert len(cache) == len(samples) and summary["n_samples"] == len(samples)
    total = 0
    for s in samples:
        ids, mask = encode_sample(tok, s, **RENDER)
        got_ids, got_lp = cache.get(s["id"], ids, mask)
        want_lp, want_ids = reference_topk(teacher, ids, mask, K)
        assert got_ids.shape == (len(target_positions(mask)), K) == got_lp.shape
        torch.testing.assert_close(got_ids, want_ids)
        # stored as fp16 (one fp16 step is 4e-3 at |log p| ~ 7; batching may move the last bit)
        torch.testing.assert_close(got_lp, want_lp.half().float(), atol=5e-3, rtol=0)
        total += len(got_ids)
    assert summary["n_tokens"] == total


def test_bytes_per_token_within_budget(built):
    out, summary = built
    manifest = json.loads((out / "manifest.json").read_text())
    assert manifest["id_bytes"] == 2  # the tiny vocabulary (1k) fits 2-byte ids
    assert summary["nominal_bytes_per_token"] == K * (2 + 2)
    assert summary["bytes_per_token"] <= 6 * K
    shards = sorted(p.name for p in out.glob("shard-*"))
    assert shards[:3] == ["shard-00000.ids.npy", "shard-00000.json", "shard-00000.lp.npy"]
    assert len(shards) == 9  # 6 samples / shard_size 2


def test_refuses_other_truncation_template_and_unknown_sample(built, tok, samples):
    cache = tc.TeacherCache(built[0], student_tokenizer=tok)
    ids, mask = encode_sample(tok, samples[0], **{**RENDER, "max_target_tokens": 3})
    with pytest.raises(CacheMismatchError, match="other tokens"):
        cache.get(samples[0]["id"], ids, mask)
    with pytest.raises(CacheMismatchError, match="max_target_tokens"):
        cache.check_render(**{**RENDER, "max_target_tokens": 3})
    with pytest.raises(CacheMismatchError, match="no entry"):
        cache.get("not-there", ids, mask)


def test_refuses_other_tokenizer(built, tok, samples):
    from fctrain.testing import tiny_tokenizer

    other = tiny_tokenizer()
    assert other.add_tokens(["eather in", "oday?"]) == 2  # the same text now splits into other ids
    with pytest.raises(CacheMismatchError, match="differs from the student"):
        tc.TeacherCache(built[0], student_tokenizer=other)
    cache = tc.TeacherCache(built[0])  # no tokenizer check: the per-sample hash still refuses
    ids, mask = encode_sample(other, samples[0], **RENDER)
    with pytest.raises(CacheMismatchError, match="other tokens"):
        cache.get(samples[0]["id"], ids, mask)


def test_vocab_size_mismatch_and_explicit_map(built, teacher, tok, samples):
    vocab = tc.output_vocab_size(teacher)
    with pytest.raises(CacheMismatchError, match="token_map"):
        tc.TeacherCache(built[0], student_vocab_size=vocab + 64)
    token_map = np.arange(vocab)[::-1].copy()  # an explicit (reversed) teacher -> student id map
    token_map[5] = -1  # a teacher token without a student counterpart
    mapped = tc.TeacherCache(built[0], student_vocab_size=vocab + 64, token_map=token_map)
    plain = tc.TeacherCache(built[0])
    ids, mask = encode_sample(tok, samples[0], **RENDER)
    (a_ids, a_lp), (b_ids, b_lp) = plain.get(samples[0]["id"], ids, mask), mapped.get(samples[0]["id"], ids, mask)
    keep = a_ids != 5
    torch.testing.assert_close(b_ids[keep], torch.from_numpy(token_map)[a_ids[keep]])
    assert torch.isneginf(b_lp[~keep]).all() and torch.equal(b_lp[keep], a_lp[keep])


class SimulatedCrash(Exception):
    pass


def test_interrupted_build_resumes_and_second_build_reuses(tmp_path, teacher, tok, samples, built, monkeypatch):
    real, calls, crash = tc.teacher_topk, [], [True]

    def crashing(*args, **kwargs):
        calls.append(1)
        if crash[0] and len(calls) == 3:  # one call per shard here: shards 0 and 1 finish, shard 2 dies mid-build
            (tmp_path / ".shard-00002.ids.npy.tmp").write_bytes(b"half a file")
            raise SimulatedCrash
        return real(*args, **kwargs)

    monkeypatch.setattr(tc, "teacher_topk", crashing)
    with pytest.raises(SimulatedCrash):
        tc.cache_teacher(teacher, tok, samples, tmp_path, k=K, batch_size=2, shard_size=2, progress=False, **RENDER)
    assert not (tmp_path / "manifest.json").exists()
    assert (tmp_path / "shard-00001.json").exists() and not (tmp_path / "shard-00002.json").exists()
    with pytest.raises(ConfigError, match="interrupted"):
        tc.TeacherCache(tmp_path)

    calls.clear()
    crash[0] = False
    summary = tc.cache_teacher(teacher, tok, samples, tmp_path, k=K, batch_size=2, shard_size=2, progress=False,
                               **RENDER)
    assert summary["resumed_shards"] == 2 and len(calls) == 1 and not summary["reused"]
    assert not list(tmp_path.glob(".*.tmp"))
    for name in ("index.jsonl",) + tuple(f"shard-0000{i}.lp.npy" for i in range(3)):  # same bytes as one go
        if name.endswith(".npy"):
            np.testing.assert_array_equal(np.load(tmp_path / name), np.load(built[0] / name))
        else:
            assert (tmp_path / name).read_text() == (built[0] / name).read_text()

    calls.clear()
    again = tc.cache_teacher(teacher, tok, samples, tmp_path, k=K, batch_size=2, shard_size=2, progress=False,
                             **RENDER)
    assert again["reused"] and not calls
    with pytest.raises(CacheMismatchError, match="k"):
        tc.cache_teacher(teacher, tok, samples, tmp_path, k=K // 2, batch_size=2, shard_size=2, progress=False,
                         **RENDER)
    rebuilt = tc.cache_teacher(teacher, tok, samples, tmp_path, k=K // 2, batch_size=2, shard_size=2,
                               progress=False, overwrite=True, **RENDER)
    assert rebuilt["k"] == K // 2 and not rebuilt["reused"]


def test_online_teacher_matches_cache(built, teacher, tok, samples):
    cache = tc.TeacherCache(built[0])
    online = tc.OnlineTeacher(teacher, K, teacher_tokenizer=tok, student_tokenizer=tok,
                              student_vocab_size=tc.output_vocab_size(teacher))
    items = [(s["id"], *encode_sample(tok, s, **RENDER)) for s in samples[:3]]
    for (o_ids, o_lp), (c_ids, c_lp) in zip(online.get_batch(items), cache.get_batch(items)):
        torch.testing.assert_close(o_ids, c_ids)
        torch.testing.assert_close(o_lp, c_lp, atol=5e-3, rtol=0)


def test_k_larger_than_vocab_is_refused(tmp_path, teacher, tok, samples):
    with pytest.raises(ConfigError, match="exceeds"):
        tc.cache_teacher(teacher, tok, samples[:1], tmp_path, k=10**6, progress=False, **RENDER)


def test_damaged_shard_or_manifest_is_named_and_a_resumed_build_redoes_it(tmp_path, teacher, tok, samples, built):
    import shutil

    from fctrain.errors import DataError, FctrainError

    cache = shutil.copytree(built[0], tmp_path / "cache")
    ids = cache / "shard-00001.ids.npy"
    ids.write_bytes(ids.read_bytes()[:-7])  # a partial copy
    reader = tc.TeacherCache(cache, student_tokenizer=tok)
    sample = samples[2]  # shard 1 holds samples 2 and 3
    input_ids, mask = encode_sample(tok, sample, **RENDER)
    with pytest.raises(DataError, match=rf"teacher cache shard {ids} is damaged \(.*\); rebuild the cache"):
        reader.get(sample["id"], input_ids, mask)

    (cache / "manifest.json").unlink()  # an interrupted build: shards 0 and 2 are kept, the damaged 1 redone
    summary = tc.cache_teacher(teacher, tok, samples, cache, k=K, batch_size=2, shard_size=2, progress=False,
                               **RENDER)
    assert summary["resumed_shards"] == 2
    np.testing.assert_array_equal(np.load(ids), np.load(built[0] / "shard-00001.ids.npy"))

    (cache / "manifest.json").write_text('{"format": "fctrain-teacher-topk", "k": ')
    with pytest.raises(FctrainError, match=rf"{cache / 'manifest.json'} is damaged: not valid JSON"):
        tc.TeacherCache(cache)


def test_multi_turn_target_is_the_served_last_turn_and_the_cache_aligns(tmp_path, teacher, tok):
    """A multi-turn conversation (call, tool result, text reply, new request, parallel calls) is cached and
    trained on its last turn after Qwen3's served prompt; the cache rows are the teacher's top-k there."""
    from fctrain.render import assistant_text, mask_runs, render_prompt
    from fctrain.render.prompt_ids import encode_prompt

    call = {"name": "get_weather", "arguments": {"city": "Lima"}}
    sample = {"id": "mt-0", "tools": make_samples(1)[0]["tools"], "messages": [
        {"role": "user", "content": "Weather in Lima?"},
        {"role": "assistant", "content": None, "tool_calls": [call]},
        {"role": "tool", "name": "get_weather", "content": "24 C"},
        {"role": "assistant", "content": "24 C in Lima."},
        {"role": "user", "content": "And Oslo and Rome?"},
        {"role": "assistant", "content": None, "tool_calls": [
            {"name": "get_weather", "arguments": {"city": "Oslo"}}, {"name": "get_weather", "arguments": {"city": "Rome"}}]},
    ]}
    ids, mask = encode_sample(tok, sample, **RENDER)
    ((start, end),) = mask_runs(mask)
    prompt = render_prompt(tok, sample)
    assert "<think>\n\n</think>\n\n<tool_call>" not in prompt  # history as Qwen3 serves it: no empty think blocks
    assert ids[:start] == encode_prompt(tok, prompt)
    assert tok.decode(ids[start:end]) == assistant_text(sample["messages"][-1]) + "<|im_end|>"
    tc.cache_teacher(teacher, tok, [sample], tmp_path, k=K, batch_size=1, shard_size=1, progress=False, **RENDER)
    cache = tc.TeacherCache(tmp_path, student_tokenizer=tok, student_vocab_size=tc.output_vocab_size(teacher))
    want_lp, want_ids = reference_topk(teacher, ids, mask, K)
    got_ids, got_lp = cache.get("mt-0", ids, mask)
    torch.testing.assert_close(got_ids, want_ids)
    torch.testing.assert_close(got_lp, want_lp.half().float(), atol=5e-3, rtol=0)
