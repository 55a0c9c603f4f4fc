"""Teacher rollouts: STAR's format/schema filter, dedup, canonical output, resume after a crash."""

from __future__ import annotations

import json

import pytest
from teacher_helpers import make_samples

from fctrain.teacher import rollouts

CALL = '<tool_call>\n{"name": "get_weather", "arguments": {"city": "Paris"}}\n</tool_call>'
COMPLETIONS = [
    "<think>\nThe user wants the weather.\n</think>\n\n" + CALL,  # kept
    "<think>\nThe user wants the weather.\n</think>\n\n" + CALL,  # duplicate of the first
    "<think>\nCall the weather tool.\n</think>\n\n" + CALL,  # same call, other reasoning: kept
    "<think>\nok\n</think>\n\nIt is sunny in Paris.",  # a text reply: kept
    CALL,  # no think block
    "<think>\na\n</think>\n<think>\nb\n</think>\n" + CALL,  # two think blocks
    '<think>\nx\n</think>\n<tool_call>\n{"name": "get_weather", "arguments": {city}}\n</tool_call>',  # not JSON
    '<think>\nx\n</think>\n<tool_call>\n{"name": "get_time", "arguments": {}}\n</tool_call>',  # unknown tool
    '<think>\nx\n</think>\n<tool_call>\n{"name": "get_weather", "arguments": {"town": "Paris"}}\n</tool_call>',
]
EXPECTED = {"kept": 3, "duplicate": 1, "format:think_count": 2, "format:invalid_json": 1,
            "schema:unknown_tool": 1, "schema:unknown_argument": 1}


@pytest.fixture(scope="module")
def tok():
    from fctrain.testing import tiny_tokenizer

    return tiny_tokenizer()


def fixed_generate(calls: list):
    def generate(prompts, n):
        calls.append(len(prompts))
        assert all(p.rstrip().endswith("<|im_start|>assistant") for p in prompts)  # the generation prompt
        return [COMPLETIONS[:n] for _ in prompts]

    return generate


def read_jsonl(path):
    return [json.loads(line) for line in path.read_text().splitlines()]


def test_filter_dedup_and_canonical_output(tmp_path, tok):
    from fctrain.data.sample import validate_sample
    from fctrain.render import render_chat

    samples = make_samples(2)
    out = tmp_path / "rollouts.jsonl"
    result = rollouts.rollout_teacher(None, tok, samples, out, n=len(COMPLETIONS), think=True, batch_size=2,
                                      generate_fn=fixed_generate([]), progress=False)
    assert result["counts"] == {k: 2 * v for k, v in EXPECTED.items()}
    assert result["kept"] == 6 and result["rejected"] == 12 and result["prompts"] == 2
    rows = sorted(read_jsonl(out), key=lambda r: r["id"])
    assert [r["id"] for r in rows] == ["s-0-r0", "s-0-r1", "s-0-r2", "s-1-r0", "s-1-r1", "s-1-r2"]
    first, reply = rows[0], rows[2]
    assert first["messages"][:-1] == samples[0]["messages"][:-1]  # the prompt, without the reference answer
    assert first["messages"][-1] == {"role": "assistant", "content": None, "reasoning_content":
                                     "The user wants the weather.",
                                     "tool_calls": [{"name": "get_weather", "arguments": {"city": "Paris"}}]}
    assert reply["messages"][-1]["content"] == "It is sunny in Paris." and reply["messages"][-1]["tool_calls"] is None
    for r in rows:
        assert validate_sample(r) == []
        rendered = render_chat(tok, r, think=True)  # trainable: the teacher's reasoning is in the targets
        assert "<think>" in tok.decode([t for t, m in zip(rendered.input_ids, rendered.assistant_mask) if m])


def test_schema_accepts_flat_parameter_maps():
    tools = [{"name": "f", "parameters": {"a": {"type": "int"}, "b": {"type": "str"}}}]
    call = '<tool_call>\n{{"name": "{}", "arguments": {}}}\n</tool_call>'
    assert rollouts.judge(call.format("f", '{"a": 1}'), tools, think=False)[1] == "kept"
    assert rollouts.judge(call.format("f", '{"c": 1}'), tools, think=False)[1] == "schema:unknown_argument"
    assert rollouts.judge(call.format("g", "{}"), tools, think=False)[1] == "schema:unknown_tool"


class SimulatedCrash(Exception):
    pass


def test_resume_skips_done_prompts_and_drops_torn_writes(tmp_path, tok):
    samples = make_samples(4)
    out = tmp_path / "rollouts.jsonl"
    calls = []

    def crash_on_third(prompts, n):
        if len(calls) == 2:
            raise SimulatedCrash
        return fixed_generate(calls)(prompts, n)

    with pytest.raises(SimulatedCrash):
        rollouts.rollout_teacher(None, tok, samples, out, n=4, think=True, batch_size=1,
                                 generate_fn=crash_on_third, progress=False)
    # short dataset answers first (the text replies s-1, s-3, then the calls s-0, s-2): s-1 and s-3 are done
    assert [r["source_id"] for r in read_jsonl(out)] == ["s-1"] * 3 + ["s-3"] * 3
    with open(out, "a") as f:  # a prompt cut off before its done-marker, then half a line
        f.write(json.dumps({"id": "s-2-r0", "source_id": "s-2", "messages": [], "tools": []}) + "\n")
        f.write('{"id": "s-2-r1", "source_')

    calls.clear()
    result = rollouts.rollout_teacher(None, tok, samples, out, n=4, think=True, batch_size=1,
                                      generate_fn=fixed_generate(calls), progress=False)
    assert calls == [1, 1]  # only s-0 and s-2 were generated
    rows = read_jsonl(out)
    assert [r["id"] for r in rows] == [f"s-{i}-r{j}" for i in range(4) for j in range(3)]  # the prompts' order
    assert all(r["messages"] for r in rows)
    assert result["prompts"] == 4 and result["kept"] == 12 and result["counts"]["duplicate"] == 4


def test_hf_generate_path_runs(tmp_path, tok):
    from fctrain.testing import tiny_model

    result = rollouts.rollout_teacher(tiny_model(seed=0), tok, make_samples(2), tmp_path / "r.jsonl", n=2,
                                      max_new_tokens=6, think=False, batch_size=2, seed=0, progress=False)
    assert result["prompts"] == 2 and result["kept"] + result["rejected"] == 4


def test_temperature_zero_is_greedy_decoding(tok):
    import torch

    from fctrain.render import render_prompt
    from fctrain.render.prompt_ids import encode_prompt
    from fctrain.testing import tiny_model

    model = tiny_model(seed=0)
    prompts = [render_prompt(tok, s, think=False) for s in make_samples(3)]
    generate = rollouts.hf_generate_fn(model, tok, temperature=0.0, top_p=1.0, max_new_tokens=8)
    first = generate(prompts, 2)
    assert first == generate(prompts, 2) and all(a == b for a, b in first)  # no sampling: the same text
    ids = torch.tensor([encode_prompt(tok, prompts[0])])
    greedy = model.generate(input_ids=ids, do_sample=False, max_new_tokens=8, pad_token_id=tok.pad_token_id)
    assert first[0][0].startswith(tok.decode(greedy[0, ids.shape[1]:][:1]))


def test_fallback_to_reference_when_nothing_is_valid(tmp_path, tok):
    samples = make_samples(2)
    garbage = lambda prompts, n: [["no think, no call"] * n for _ in prompts]  # noqa: E731
    out = tmp_path / "r.jsonl"
    strict = rollouts.rollout_teacher(None, tok, samples, out, n=2, generate_fn=garbage, progress=False)
    assert strict["kept"] == 0 and strict["rejected"] == 4 and out.read_text() == ""
    loose = rollouts.rollout_teacher(None, tok, samples, tmp_path / "f.jsonl", n=2, generate_fn=garbage,
                                     fallback_to_reference=True, progress=False)
    assert loose["reference_fallback"] == 2 and loose["kept"] == 0 and loose["rejected"] == 4
    rows = sorted(read_jsonl(tmp_path / "f.jsonl"), key=lambda r: r["id"])
    assert [r["id"] for r in rows] == ["s-0-ref", "s-1-ref"] and rows[0]["messages"] == samples[0]["messages"]


def test_short_answers_generate_first_and_the_file_keeps_prompt_order(tmp_path, tok):
    """Batches run shortest dataset answer first (a batch of replies does not wait for long calls); the
    finished file still lists the rollouts in the prompts' order."""
    samples = make_samples(6)  # even ids answer with a call, odd ids with a short text reply
    seen = []

    def generate(prompts, n):
        seen.extend(next(s["id"] for s in samples if s["messages"][0]["content"] in p) for p in prompts)
        return [[CALL] * n for _ in prompts]

    out = tmp_path / "rollouts.jsonl"
    rollouts.rollout_teacher(None, tok, samples, out, n=1, think=False, batch_size=2, generate_fn=generate,
                             progress=False)
    assert sorted(seen) == [s["id"] for s in samples]
    assert [int(i.split("-")[1]) % 2 for i in seen] == [1, 1, 1, 0, 0, 0]  # the replies first, then the calls
    assert [r["source_id"] for r in read_jsonl(out)] == [s["id"] for s in samples]
