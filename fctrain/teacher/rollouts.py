"""Teacher rollouts (STAR curriculum step 2): n samples per prompt, kept only when format- and schema-valid.

A rollout is kept iff it parses (exactly one <think> block when think; every <tool_call> body JSON with
`name` and `arguments`), every call name is one of the prompt's tools and every argument key is one of
that tool's parameters. Rollouts are never compared with the reference. Identical (content, tool_calls,
reasoning) triples of one prompt are kept once. Each kept rollout becomes a canonical sample whose last
assistant turn is the rollout (with `reasoning_content`).

Resume: `OUT.jsonl` holds the samples, `OUT.done.jsonl` one line per finished prompt (its counts),
appended after that prompt's samples are flushed. A rerun keeps only the samples of prompts marked done
(a half-written last line or a prompt cut off before its marker is dropped) and skips those prompts.
"""

from __future__ import annotations

import json
import os
import sys
from collections import Counter
from collections.abc import Callable, Sequence
from pathlib import Path

from fctrain.data.jsonl import write_jsonl
from fctrain.errors import DataError

# generate_fn(prompts, n) -> for each prompt, n completion texts
GenerateFn = Callable[[list[str], int], list[list[str]]]


def judge(text: str, tools: Sequence[dict], *, think: bool, template: str | None = None):
    """(kept message dict | None, reason). Reasons: 'kept', the parser's reason, or a schema reason.
    template: the chat format of `text` (a family name; None = fctrain's Hermes parser)."""
    from fctrain.rewards.family_parsing import parse_completion_as
    from fctrain.rewards.tool_keys import allowed_calls, schema_violation

    parsed = parse_completion_as(text, template, think=think)
    if not parsed.ok:
        return None, f"format:{parsed.reason}"
    calls = [{"name": c["name"], "arguments": c["arguments"]} for c in parsed.tool_calls]
    reason = schema_violation(calls, allowed_calls(tools))  # the rule the similarity reward applies
    if reason:
        return None, f"schema:{reason}"
    content = parsed.content if parsed.content and parsed.content.strip() else None
    message = {"role": "assistant", "content": content, "tool_calls": calls or None,
               "reasoning_content": parsed.reasoning if think else None}
    return message, "kept"


def dedup_key(message: dict) -> str:
    return json.dumps([message["content"], message["tool_calls"], message["reasoning_content"]], sort_keys=True)


def prompt_messages(sample: dict) -> list[dict]:
    """The conversation up to (not including) the last assistant turn: what the teacher continues."""
    messages = sample["messages"]
    last = max((i for i, m in enumerate(messages) if m.get("role") == "assistant"), default=len(messages))
    return messages[:last]


def rollouts_of(sample: dict, completions: Sequence[str], *, think: bool, prefix: str = "",
                template: str | None = None):
    """Judge one prompt's completions: (new samples, Counter of reasons)."""
    counts, seen, kept = Counter(), set(), []
    for text in completions:
        message, reason = judge(prefix + text, sample.get("tools") or [], think=think, template=template)
        if message is not None:
            key = dedup_key(message)
            if key in seen:
                reason, message = "duplicate", None
            seen.add(key)
        counts[reason] += 1
        if message is not None:
            kept.append({"id": f"{sample['id']}-r{len(kept)}", "source_id": sample["id"],
                         "messages": prompt_messages(sample) + [message], "tools": sample.get("tools") or [],
                         **({"group": sample["group"]} if sample.get("group") is not None else {})})
    return kept, counts


# ---- resumable output ----

def _done_path(out_path: Path) -> Path:
    return out_path.with_name(out_path.name.removesuffix(".jsonl") + ".done.jsonl")


def _complete_json_lines(path: Path) -> list[dict]:
    """Parsed lines of a JSONL file, dropping a torn last line (an interrupted append)."""
    if not path.exists():
        return []
    rows = []
    lines = path.read_text().split("\n")
    for i, line in enumerate(lines):
        if not line.strip():
            continue
        try:
            rows.append(json.loads(line))
        except json.JSONDecodeError as e:
            if i >= len(lines) - 2:  # only the last line may be torn
                break
            raise DataError(f"{path}:{i + 1}: not JSON ({e}); delete the file to start over") from e
    return rows


def load_progress(out_path: Path) -> tuple[dict[str, dict], int]:
    """Prompts already done (id -> counts) and how many samples they left; cleans up torn writes."""
    done = {row["prompt_id"]: row for row in _complete_json_lines(_done_path(out_path))}
    samples = [s for s in _complete_json_lines(out_path) if s.get("source_id") in done]
    write_jsonl(out_path, samples)
    write_jsonl(_done_path(out_path), list(done.values()))
    return done, len(samples)


def _in_prompt_order(out_path: Path, prompt_ids: list[str]) -> None:
    """Rewrites the samples file in the prompts' order (generation ran shortest answer first); atomic."""
    order = {pid: i for i, pid in enumerate(prompt_ids)}
    rows = _complete_json_lines(out_path)
    rows.sort(key=lambda row: order.get(row.get("source_id"), len(order)))  # stable: a prompt's rows stay in order
    write_jsonl(out_path, rows)


def _append(f, rows: list[dict]) -> None:
    f.writelines(json.dumps(r, ensure_ascii=False) + "\n" for r in rows)
    f.flush()
    os.fsync(f.fileno())


# ---- generation ----

def stop_token_ids(tokenizer) -> set[int]:
    """Tokens that end a completion: eos, pad, and the end-of-turn / end-of-text markers."""
    vocab = tokenizer.get_vocab()
    stop_ids = {i for i in (tokenizer.eos_token_id, tokenizer.pad_token_id) if i is not None}
    return stop_ids | {vocab[t] for t in ("<|im_end|>", "<|endoftext|>") if t in vocab}


def hf_generate_fn(model, tokenizer, *, temperature: float, top_p: float, max_new_tokens: int) -> GenerateFn:
    """Sampling with transformers' generate: left-padded batches, n return sequences per prompt; temperature 0 is
    greedy decoding (then n > 1 repeats one completion, which the rollout dedup keeps once)."""
    import torch

    from fctrain.render.prompt_ids import encode_prompt

    stop_ids = stop_token_ids(tokenizer)
    pad_id = tokenizer.pad_token_id if tokenizer.pad_token_id is not None else tokenizer.eos_token_id

    def generate(prompts: list[str], n: int) -> list[list[str]]:
        device = next(model.parameters()).device
        encoded = [encode_prompt(tokenizer, p) for p in prompts]
        length = max(len(x) for x in encoded)
        ids = torch.full((len(encoded), length), pad_id, dtype=torch.long)
        attn = torch.zeros_like(ids)
        for b, x in enumerate(encoded):
            ids[b, length - len(x):] = torch.tensor(x)
            attn[b, length - len(x):] = 1
        with torch.no_grad():
            if temperature > 0:
                sampling = dict(do_sample=True, temperature=temperature, top_p=top_p, num_return_sequences=n)
            else:  # greedy: one completion per prompt, repeated n times
                sampling = dict(do_sample=False, temperature=None, top_p=None, top_k=None)
            out = model.generate(input_ids=ids.to(device), attention_mask=attn.to(device), **sampling,
                                 max_new_tokens=max_new_tokens, pad_token_id=pad_id)
        texts = []
        for row in out[:, length:].tolist():
            cut = next((j for j, t in enumerate(row) if t in stop_ids), len(row))
            texts.append(tokenizer.decode(row[:cut], skip_special_tokens=False))
        per_prompt = len(texts) // len(prompts)
        return [texts[i * per_prompt : (i + 1) * per_prompt] * (n // per_prompt) for i in range(len(prompts))]

    return generate


def vllm_generate_fn(model_path: str, *, temperature: float, top_p: float, max_new_tokens: int,
                     seed: int) -> GenerateFn:
    """vLLM sampling (GPU, when installed): same contract as hf_generate_fn."""
    from vllm import LLM, SamplingParams

    llm = LLM(model=model_path, seed=seed)

    from fctrain.render.prompt_ids import encode_prompt

    tokenizer = llm.get_tokenizer()

    def generate(prompts: list[str], n: int) -> list[list[str]]:
        params = SamplingParams(n=n, temperature=temperature, top_p=top_p, max_tokens=max_new_tokens, seed=seed)
        inputs = [{"prompt_token_ids": encode_prompt(tokenizer, p)} for p in prompts]
        return [[c.text for c in r.outputs] for r in llm.generate(inputs, params)]

    return generate


def _vllm_usable(model) -> bool:
    from fctrain.models.device import vllm_available

    return isinstance(model, (str, os.PathLike)) and vllm_available()


def print_counts(counts: Counter, out=sys.stderr) -> None:
    total = sum(counts.values())
    print(f"{'outcome':<32}{'count':>8}{'share':>8}", file=out)
    for reason, c in sorted(counts.items(), key=lambda kv: (kv[0] != "kept", -kv[1])):
        print(f"{reason:<32}{c:>8}{c / max(total, 1):>8.1%}", file=out)


def _answer_length(sample: dict) -> int:
    """Characters of the sample's last assistant message (content and calls): a guess of the rollout's length."""
    from fctrain.render import reference_of

    ref = reference_of(sample) or {}
    return len(ref.get("content") or "") + len(json.dumps(ref.get("tool_calls") or []))


def rollout_teacher(model, tokenizer, samples: Sequence[dict], out_path: str | os.PathLike, *, n: int = 8,
                    temperature: float = 1.0, top_p: float = 1.0, max_new_tokens: int = 2048, think: bool = True,
                    batch_size: int = 4, seed: int = 0, template: str = "qwen3",
                    generate_fn: GenerateFn | None = None, fallback_to_reference: bool = False,
                    progress: bool = True) -> dict:
    """Sample `n` teacher completions per prompt, keep the valid unique ones, write them to `out_path`.

    `model` is a loaded model (HF generate) or, on CUDA with vLLM installed, a path (vLLM).
    `generate_fn` replaces generation entirely (tests, custom servers). `fallback_to_reference` (not in
    STAR; for smoke runs with untrained teachers) writes a prompt's own sample when none of its rollouts
    is kept, counted as "reference_fallback". Returns {"kept", "rejected",
    "counts", "prompts", "data_path"}; counts cover every prompt done so far, this run and earlier ones.

    Prompts are batched by the length of their dataset answer, shortest first: generation stops when every
    sequence of a batch has ended, so a batch of short answers (refusals) does not wait for a long call.
    That is scheduling only (rollouts are never compared with the dataset's answers): the finished file lists
    the samples in the prompts' order.

    Greedy rollouts (temperature 0) with HF generate first try the dataset's answer as a draft in one
    teacher-forced pass (greedy_reference.py): where greedy decoding would write exactly that answer, it is
    the completion without generating, and "teacher_forced" counts those prompts (this call only).
    """
    import torch
    from tqdm import tqdm

    from fctrain.render import render_prompt
    from fctrain.render.chat_format import parser_family

    parse_as = parser_family(tokenizer, template)
    out_path = Path(out_path)
    out_path.parent.mkdir(parents=True, exist_ok=True)
    done, _ = load_progress(out_path)
    todo = sorted((s for s in samples if s["id"] not in done), key=_answer_length)
    prompts = {s["id"]: render_prompt(tokenizer, s, template=template, think=think) for s in todo}
    known: dict[str, str] = {}
    if todo and generate_fn is None and temperature == 0 and not _vllm_usable(model):
        from fctrain.teacher.greedy_reference import greedy_reference_completions

        known = greedy_reference_completions(model, tokenizer, todo, [prompts[s["id"]] for s in todo],
                                             template=template, think=think, stop_ids=stop_token_ids(tokenizer),
                                             max_new_tokens=max_new_tokens, batch_size=batch_size)
    if len(known) < len(todo) and generate_fn is None:
        torch.manual_seed(seed)
        if _vllm_usable(model):
            generate_fn = vllm_generate_fn(str(model), temperature=temperature, top_p=top_p,
                                           max_new_tokens=max_new_tokens, seed=seed)
        else:
            generate_fn = hf_generate_fn(model, tokenizer, temperature=temperature, top_p=top_p,
                                         max_new_tokens=max_new_tokens)
    generated = [s for s in todo if s["id"] not in known]
    batches = [generated[b: b + batch_size] for b in range(0, len(generated), batch_size)]

    def completions():  # (sample, its n completion texts): the forced pass's first, then generate()'s
        yield from ((s, [known[s["id"]]] * n) for s in todo if s["id"] in known)
        for batch in tqdm(batches, desc="teacher rollouts", unit="batch", disable=not progress):
            yield from zip(batch, generate_fn([prompts[s["id"]] for s in batch], n))

    with open(out_path, "a") as samples_f, open(_done_path(out_path), "a") as done_f:
        for sample, texts in completions():
            prompt = prompts[sample["id"]]
            # A generation prompt that already opens <think> means completions start inside it.
            prefix = "<think>\n" if think and prompt.rstrip(" ").endswith("<think>\n") else ""
            kept, counts = rollouts_of(sample, texts, think=think, prefix=prefix, template=parse_as)
            if not kept and fallback_to_reference:
                kept = [{**sample, "id": f"{sample['id']}-ref", "source_id": sample["id"]}]
                counts["reference_fallback"] += 1
            _append(samples_f, kept)  # samples first, then the marker that says they are complete
            marker = {"prompt_id": sample["id"], "counts": dict(counts)}
            _append(done_f, [marker])
            done[sample["id"]] = marker
    _in_prompt_order(out_path, [s["id"] for s in samples])
    counts = Counter()
    for row in done.values():
        counts.update(row["counts"])
    print_counts(counts)
    kept = counts.get("kept", 0)
    fallback = counts.get("reference_fallback", 0)
    return {"data_path": str(out_path), "prompts": len(done), "kept": kept, "reference_fallback": fallback,
            "teacher_forced": len(known),
            "rejected": sum(counts.values()) - kept - fallback, "counts": dict(counts)}
