"""STAR's similarity reward (docs STAR.md, "Sim-RL reward"), rule for rule.

    format failure (think block, tool-call structure, JSON, name/arguments)      reward -1, score 0
    a call to an unknown tool, or an argument key the tool does not declare      reward -1, score 0
    reference has calls, prediction has none                                      0
    reference is a text reply: ROUGE-L F1(pred content, ref content); a call instead of a reply scores 0
    otherwise R = sum(s of matched predictions) / (#predicted calls + #unmatched reference calls)

Matching: reference calls are bucketed by name; each predicted call, in order, takes the unmatched
reference call of its name with the highest argument similarity s (first wins ties), else adds 0.
    s(pred, ref) = sum_{k in both} v(pred[k], ref[k]) / |keys(pred) ∪ keys(ref)|     (1 when both empty)
    v = two strings: 1 if equal, else 0 if either is blank, else ROUGE-L F1 (rouge_score, Porter stemmer)
        two numbers/bools: exact equality. Decisions: a bool only equals a bool (True vs 1 -> 0, although
        Python says True == 1); int vs float compares numerically (1 vs 1.0 -> 1), as JSON has one number type
        anything else: str(a) == str(b)  (so "5" vs 5 -> 1; nested dicts/lists compare by their str, so
        key order inside a nested object matters, exactly as the rule reads)
Text replies: both contents are stripped; equal strings score 1 (two blank replies too), else 0 if one
is blank, else ROUGE-L F1. `reward` equals `score` except on the two -1 failures.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence

from fctrain.rewards.family_parsing import parse_completion_as
from fctrain.rewards.parsing import ParsedCompletion
from fctrain.rewards.reference import Reference, read_reference
from fctrain.rewards.result import RewardResult, check_batch
from fctrain.rewards.rouge import rouge_l_f1, rouge_l_f1_batch
from fctrain.rewards.tool_keys import allowed_calls, schema_violation

FAILURE_REWARD = -1.0
Rouge = Callable[[str, str], float]  # (prediction, reference) -> ROUGE-L F1


def string_similarity(pred: str, ref: str, rouge: Rouge = rouge_l_f1) -> float:
    if pred == ref:
        return 1.0
    if not pred.strip() or not ref.strip():
        return 0.0
    return rouge(pred, ref)


def _is_number(x) -> bool:
    return isinstance(x, (int, float))  # bool is an int subclass: included on purpose


def value_similarity(pred, ref, rouge: Rouge = rouge_l_f1) -> float:
    if isinstance(pred, str) and isinstance(ref, str):
        return string_similarity(pred, ref, rouge)
    if _is_number(pred) and _is_number(ref):
        if isinstance(pred, bool) != isinstance(ref, bool):
            return 0.0
        return float(pred == ref)
    return float(str(pred) == str(ref))


def argument_similarity(pred_args: dict, ref_args: dict, rouge: Rouge = rouge_l_f1) -> float:
    if not pred_args and not ref_args:
        return 1.0
    shared = [k for k in pred_args if k in ref_args]
    total = sum(value_similarity(pred_args[k], ref_args[k], rouge) for k in shared)
    return total / (len(pred_args) + len(ref_args) - len(shared))


def calls_similarity(pred_calls: Sequence[dict], ref_calls: Sequence[dict], rouge: Rouge = rouge_l_f1) -> float:
    """R of STAR's bucketed greedy matching (0 when the prediction has no calls)."""
    if not pred_calls:
        return 0.0
    buckets: dict[str, list[dict]] = {}
    for call in ref_calls:
        buckets.setdefault(call["name"], []).append(call)
    total = 0.0
    for call in pred_calls:
        bucket = buckets.get(call["name"])
        if not bucket:
            continue  # no unmatched reference call of this name: adds 0, still counts in the denominator
        best_i, best_s = 0, -1.0
        for i, ref in enumerate(bucket):
            s = argument_similarity(call["arguments"], ref["arguments"], rouge)
            if s > best_s:  # strict: the first of equal candidates wins
                best_i, best_s = i, s
        total += best_s
        del bucket[best_i]
    unmatched = sum(len(b) for b in buckets.values())
    return total / (len(pred_calls) + unmatched)


def answer_score(parsed: ParsedCompletion, ref: Reference, rouge: Rouge = rouge_l_f1) -> float:
    """The score of a well-formed, schema-valid prediction."""
    if ref.is_reply:
        return 0.0 if parsed.tool_calls else string_similarity(parsed.content, ref.text, rouge)
    return calls_similarity(parsed.tool_calls, ref.calls, rouge)


def _failure(reason: str) -> RewardResult:
    return RewardResult(reward=FAILURE_REWARD, score=0.0, reason=reason)


def _check(parsed: ParsedCompletion, allowed: dict[str, frozenset[str]]) -> str | None:
    if not parsed.ok:
        return f"format:{parsed.reason}"
    violation = schema_violation(parsed.tool_calls, allowed)
    return f"schema:{violation}" if violation else None


def _string_pairs(parsed: ParsedCompletion, ref: Reference) -> list[tuple[str, str]]:
    """Every (pred, ref) string pair whose ROUGE-L the matching may ask for (a superset)."""
    if ref.is_reply:
        return [] if parsed.tool_calls else [(parsed.content, ref.text)]
    pairs = []
    for call in parsed.tool_calls:
        for ref_call in ref.calls:
            if ref_call["name"] != call["name"]:
                continue
            for key, value in call["arguments"].items():
                other = ref_call["arguments"].get(key)
                if isinstance(value, str) and isinstance(other, str):
                    pairs.append((value, other))
    return pairs


def _prefetched_rouge(items, device: str) -> Rouge:
    """ROUGE-L of every pair the batch needs computed in one GPU launch; a dict lookup afterwards."""
    pairs = list(dict.fromkeys(
        (p, r) for parsed, ref in items for p, r in _string_pairs(parsed, ref)
        if p != r and p.strip() and r.strip()
    ))
    table = dict(zip(pairs, rouge_l_f1_batch(pairs, device=device)))
    return lambda p, r: table[(p, r)] if (p, r) in table else rouge_l_f1(p, r)


def similarity_rewards(completions: Sequence[str], references: Sequence[dict], tools_list: Sequence[list[dict]],
                       *, think: bool = True, device: str = "cpu", template: str | None = None) -> list[RewardResult]:
    """STAR's reward for a batch. `device="cuda"` computes all ROUGE-L LCS lengths with the Triton kernel.
    template: the chat format of the completions (a family name); None or qwen3 = fctrain's Hermes parser."""
    check_batch(completions, references, tools_list)
    # A GRPO group's completions share one reference and one tools object: read each once per batch
    # (keyed by id(); the objects stay alive in the argument lists for the whole call).
    allowed_by_tools: dict[int, dict[str, frozenset[str]]] = {}
    ref_by_id: dict[int, Reference] = {}
    results: list[RewardResult | None] = []
    to_score = []
    for completion, reference, tools in zip(completions, references, tools_list):
        ref = ref_by_id.get(id(reference))
        if ref is None:
            ref = ref_by_id[id(reference)] = read_reference(reference)
        parsed = parse_completion_as(completion, template, think=think)
        allowed = allowed_by_tools.get(id(tools))
        if allowed is None:
            allowed = allowed_by_tools[id(tools)] = allowed_calls(tools)
        reason = _check(parsed, allowed)
        if reason:
            results.append(_failure(reason))
        else:
            results.append(None)
            to_score.append((len(results) - 1, parsed, ref))
    rouge = rouge_l_f1
    if str(device).startswith("cuda") and to_score:
        rouge = _prefetched_rouge([(p, r) for _, p, r in to_score], device)
    for i, parsed, ref in to_score:
        score = answer_score(parsed, ref, rouge)
        results[i] = RewardResult(reward=score, score=score)
    return results


def similarity_reward(completion: str, reference: dict, tools: list[dict], *, think: bool = True,
                      template: str | None = None) -> RewardResult:
    """STAR's reward for one completion against a reference assistant message and the prompt's tools."""
    return similarity_rewards([completion], [reference], [tools], think=think, template=template)[0]
