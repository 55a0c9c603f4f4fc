"""The call-or-decline decision at an answer's first token, per prompt: P(call) = P(c) / (P(c) + P(d)), where c
opens "<tool_call>" and d opens fctrain's no-tool reply. Greedy decoding calls where P(call) > 0.5, so this shows
whether a model separates call prompts from decline prompts or only carries a prior (docs/experiments/demo-small.md).

    .venv/bin/python scripts/probe_decision.py MODEL --samples RUN/data/train.jsonl --cpu-bf16   # training prompts
    .venv/bin/python scripts/probe_decision.py MODEL --offset 5 --limit 6             # BFCL dev slice
"""

from __future__ import annotations

import argparse
from statistics import mean

import torch

from fctrain.config.schema import ModelConfig
from fctrain.data import read_jsonl
from fctrain.data.irrelevance import NO_TOOL_REPLY
from fctrain.models.device import inference_autocast
from fctrain.models.load import load_model_and_tokenizer
from fctrain.render import reference_of, render_prompt
from fctrain.render.prompt_ids import encode_prompt

BFCL_CATEGORIES = ["simple_python", "multiple", "parallel", "irrelevance"]


def p_call(model, tokenizer, sample: dict, call_id: int, decline_id: int) -> float:
    ids = encode_prompt(tokenizer, render_prompt(tokenizer, sample, template="qwen3", think=False))
    with torch.no_grad():
        p = model(torch.tensor([ids])).logits[0, -1].float().softmax(-1)
    return (p[call_id] / (p[call_id] + p[decline_id])).item()


def groups(args) -> dict[str, list[dict]]:
    """Samples to probe, by group: call / decline prompts of a samples file, or BFCL categories."""
    if args.samples:
        out: dict[str, list[dict]] = {"call prompts": [], "decline prompts": []}
        for s in read_jsonl(args.samples):
            out["call prompts" if (reference_of(s) or {}).get("tool_calls") else "decline prompts"].append(s)
        return out
    from fctrain.eval.bfcl_data import load_category

    return {c: [q.sample for q in load_category(c, args.limit, offset=args.offset)] for c in BFCL_CATEGORIES}


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("model")
    ap.add_argument("--samples", help="a samples .jsonl (e.g. a run's data/train.jsonl); else BFCL questions")
    ap.add_argument("--offset", type=int, default=5, help="BFCL: skip the first N of each category")
    ap.add_argument("--limit", type=int, default=6, help="BFCL: questions per category")
    ap.add_argument("--cpu-bf16", action="store_true", help="bf16 autocast, as the demo generates")
    args = ap.parse_args()
    model, tokenizer = load_model_and_tokenizer(args.model, device="cpu", for_training=False)
    call_id = tokenizer.encode("<tool_call>", add_special_tokens=False)[0]
    decline_id = tokenizer.encode(NO_TOOL_REPLY, add_special_tokens=False)[0]
    print(f"{'group':<18}{'n':>4}{'greedy calls':>14}{'mean P(call)':>14}")
    for name, samples in groups(args).items():
        with inference_autocast(ModelConfig(cpu_bf16=args.cpu_bf16), model):
            probs = [p_call(model, tokenizer, s, call_id, decline_id) for s in samples]
        calls = sum(p > 0.5 for p in probs)
        print(f"{name:<18}{len(probs):>4}{calls:>14}{mean(probs) if probs else float('nan'):>14.3f}")


if __name__ == "__main__":
    main()
