"""Greedy rollouts found by one teacher-forced pass over the dataset's answer are the ones generate() writes."""

from __future__ import annotations

import pytest
import torch
import torch.nn.functional as F
from teacher_helpers import make_samples

from fctrain.render import render_chat, render_prompt
from fctrain.teacher import rollouts
from fctrain.teacher.greedy_reference import greedy_reference_completions
from fctrain.testing import tiny_model, tiny_tokenizer


def _samples():
    """Four short requests without tools (short prompts keep the test fast); s-0 and s-2 answer with calls."""
    return make_samples(4, tools=[])


@pytest.fixture(scope="module")
def tok():
    return tiny_tokenizer()


@pytest.fixture(scope="module")
def teacher(tok):
    """A tiny model that has learnt s-1's text reply by heart; it writes that reply for every prompt."""
    torch.manual_seed(0)
    model = tiny_model(seed=0)
    r = render_chat(tok, _samples()[1], template="qwen3", think=False)
    ids, predicts = torch.tensor([r.input_ids]), torch.tensor(r.assistant_mask[1:], dtype=torch.bool)
    opt = torch.optim.Adam(model.parameters(), lr=1e-2)
    for _ in range(40):
        F.cross_entropy(model(input_ids=ids).logits[0, :-1][predicts], ids[0, 1:][predicts]).backward()
        opt.step()
        opt.zero_grad()
    return model.eval()


def _greedy(model, tok, samples, max_new_tokens):
    prompts = [render_prompt(tok, s, think=False) for s in samples]
    generate = rollouts.hf_generate_fn(model, tok, temperature=0.0, top_p=1.0, max_new_tokens=max_new_tokens)
    return prompts, {s["id"]: texts[0] for s, texts in zip(samples, generate(prompts, 1))}


def _found(model, tok, samples, prompts, max_new_tokens):
    return greedy_reference_completions(model, tok, samples, prompts, template="qwen3", think=False,
                                        stop_ids=rollouts.stop_token_ids(tok), max_new_tokens=max_new_tokens,
                                        batch_size=3)


def test_the_forced_pass_finds_exactly_the_prompts_whose_greedy_answer_is_the_reference(teacher, tok):
    samples = _samples()
    prompts, generated = _greedy(teacher, tok, samples, 64)
    answers = {s["id"]: render_chat(tok, s, template="qwen3", think=False).text.split(prompt, 1)[1]
               for s, prompt in zip(samples, prompts)}
    matching = {i for i in generated if answers[i].startswith(generated[i] + "<|im_end|>")}
    assert matching == {"s-1"}  # the premise: generate() writes s-1's answer and no other reference
    assert _found(teacher, tok, samples, prompts, 64) == {"s-1": generated["s-1"]}


def test_an_answer_cut_by_max_new_tokens_is_cut_as_generate_cuts_it(teacher, tok):
    samples = _samples()
    prompts, generated = _greedy(teacher, tok, samples, 4)
    found = _found(teacher, tok, samples, prompts, 4)
    assert found == {"s-1": generated["s-1"]} and len(tok(found["s-1"])["input_ids"]) <= 4


def test_greedy_rollouts_are_the_same_with_and_without_the_forced_pass(teacher, tok, tmp_path):
    samples = _samples()
    common = dict(n=2, temperature=0.0, max_new_tokens=64, think=False, batch_size=2, seed=0, progress=False)
    drafted = rollouts.rollout_teacher(teacher, tok, samples, tmp_path / "a.jsonl", **common)
    plain_fn = rollouts.hf_generate_fn(teacher, tok, temperature=0.0, top_p=1.0, max_new_tokens=64)
    plain = rollouts.rollout_teacher(teacher, tok, samples, tmp_path / "b.jsonl", generate_fn=plain_fn, **common)
    assert drafted["teacher_forced"] == 1 and plain["teacher_forced"] == 0
    assert drafted["counts"] == plain["counts"] and drafted["kept"] >= 1
    assert (tmp_path / "a.jsonl").read_text() == (tmp_path / "b.jsonl").read_text()


def test_the_forced_pass_reads_the_frozen_features_training_computed(teacher, tok):
    """It feeds each sample as training rendered it, so the teacher SFT's frozen-block features serve it."""
    import copy

    from fctrain.models.frozen_block_cache import install_frozen_block_cache
    from fctrain.trainers.common import freeze_below_top_layers

    model = copy.deepcopy(teacher)
    freeze_below_top_layers(model, 1)
    cache = install_frozen_block_cache(model, 1)
    samples = _samples()
    with torch.no_grad():  # what the SFT stage's first epoch leaves behind
        for s in samples:
            model(input_ids=torch.tensor([render_chat(tok, s, template="qwen3", think=False).input_ids]),
                  use_cache=False)
    prompts, generated = _greedy(teacher, tok, samples, 64)
    assert _found(model, tok, samples, prompts, 64) == {"s-1": generated["s-1"]}
    assert cache.stats["misses"] == len(samples) and cache.stats["hits"] == len(samples)


def test_a_reference_the_format_cannot_render_is_left_to_generation(tok):
    """Llama 3.2's template writes one call per turn: a parallel-call reference is no draft, and no error."""
    from fctrain.teacher.greedy_reference import _draft

    sample = make_samples(1)[0]
    sample["messages"][-1]["tool_calls"] *= 2  # two calls in one turn
    prompt = render_prompt(tok, make_samples(1)[0], template="llama3_2", think=False)
    assert _draft(tok, sample, prompt, template="llama3_2", think=False, stop_ids=rollouts.stop_token_ids(tok),
                  max_new_tokens=64) is None
