"""Acceptance: re-scoring predictions.jsonl with BFCL's ast_checker independently gives fctrain's verdicts.

On a slice of every supported category, fixed completions (right answers, wrong values, wrong names,
missing and extra calls, text replies, malformed tool calls) go through `evaluate_bfcl` with an injected
generate_fn. The test then reads BFCL's question and answer files itself, feeds each prediction's parsed
calls to BFCL's `ast_checker` (irrelevance: correct iff no call) and compares with what fctrain reported.
"""

from __future__ import annotations

import json
import sys
import types
from collections import defaultdict
from importlib import resources
from pathlib import Path

import pytest

pytest.importorskip("bfcl_eval")

from fctrain.eval.bfcl_data import SINGLE_TURN_CATEGORIES  # noqa: E402

LIMIT = 7


def bfcl_ast_checker():
    """BFCL's checker, imported with a minimal model_config stand-in (only .underscore_to_dot is read)."""
    name = "bfcl_eval.constants.model_config"
    module = sys.modules.setdefault(name, types.ModuleType(name))
    if not hasattr(module, "MODEL_CONFIG_MAPPING"):
        module.MODEL_CONFIG_MAPPING = {}
    module.MODEL_CONFIG_MAPPING.setdefault("fctrain", types.SimpleNamespace(underscore_to_dot=False))
    from bfcl_eval.constants.enums import Language
    from bfcl_eval.eval_checker.ast_eval.ast_checker import ast_checker

    return ast_checker, Language


def read_lines(path: Path) -> list[dict]:
    return [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines() if line.strip()]


def bfcl_files(category: str) -> tuple[dict[str, dict], dict[str, list] | None]:
    data = Path(str(resources.files("bfcl_eval") / "data"))
    questions = {q["id"]: q for q in read_lines(data / f"BFCL_v4_{category}.json")}
    answer_file = data / "possible_answer" / f"BFCL_v4_{category}.json"
    answers = {a["id"]: a["ground_truth"] for a in read_lines(answer_file)} if answer_file.exists() else None
    return questions, answers


def call_block(calls: list[dict]) -> str:
    return "\n".join("<tool_call>\n" + json.dumps({"name": c["name"], "arguments": c["arguments"]}) + "\n</tool_call>"
                     for c in calls)


def perturb(value):
    if isinstance(value, bool):
        return not value
    if isinstance(value, (int, float)):
        return value + 7
    if isinstance(value, str):
        return value + " zzz"
    return "zzz"


def completion_for(kind: int, reference: dict, tools: list[dict]) -> str:
    """Eight kinds of answers, from right to badly formed."""
    calls = reference.get("tool_calls") or []
    some_tool = tools[0]["name"] if tools else "no_such_tool"
    if kind == 0:  # the reference answer (right for AST questions, a call for irrelevance ones)
        return call_block(calls) or call_block([{"name": some_tool, "arguments": {}}])
    if kind == 1:  # one argument value changed
        if calls and calls[0]["arguments"]:
            first = dict(calls[0]["arguments"])
            key = next(iter(first))
            first[key] = perturb(first[key])
            return call_block([{**calls[0], "arguments": first}, *calls[1:]])
        return "I can't help with that."
    if kind == 2:  # malformed tool call
        return '<tool_call>\n{"name": "' + some_tool + '", "arguments": {\n</tool_call>'
    if kind == 3:  # a text reply
        return "Sorry, none of these functions can do that."
    if kind == 4:  # every call twice
        return call_block(calls + calls) if calls else call_block([{"name": some_tool, "arguments": {}}] * 2)
    if kind == 5:  # wrong function name
        return call_block([{**c, "name": c["name"] + "_v2"} for c in calls]) or "No."
    if kind == 6:  # one argument dropped
        if calls and calls[0]["arguments"]:
            first = dict(calls[0]["arguments"])
            first.pop(next(iter(first)))
            return call_block([{**calls[0], "arguments": first}, *calls[1:]])
        return call_block(calls)
    # kind 7: string values in another case and spacing (BFCL's checker normalises those)
    shouted = [{**c, "arguments": {k: v.upper() if isinstance(v, str) else v for k, v in c["arguments"].items()}}
               for c in calls]
    return call_block(shouted) or "Nothing to call here."


@pytest.fixture(scope="module")
def evaluated(tmp_path_factory):
    from fctrain.eval.bfcl_data import load_questions
    from fctrain.eval.bfcl_eval import evaluate_bfcl
    from fctrain.render import reference_of, render_prompt
    from fctrain.testing import tiny_tokenizer

    tokenizer = tiny_tokenizer()
    questions = load_questions(SINGLE_TURN_CATEGORIES, LIMIT)
    # prompt text -> queue of completions (two questions may render the same prompt)
    answers_by_prompt: dict[str, list[str]] = defaultdict(list)
    for i, q in enumerate(questions):
        prompt = render_prompt(tokenizer, q.sample)
        answers_by_prompt[prompt].append(completion_for(i % 8, reference_of(q.sample), q.sample["tools"]))

    def generate_fn(prompts: list[str]) -> list[str]:
        return [answers_by_prompt[p].pop(0) for p in prompts]

    out = tmp_path_factory.mktemp("bfcl_eval")
    results = evaluate_bfcl(None, tokenizer, categories=SINGLE_TURN_CATEGORIES, limit=LIMIT, out_dir=out,
                            generate_fn=generate_fn, batch_size=5, model_name="fixed-completions")
    return results, out


def test_independent_rescoring_matches(evaluated):
    from fctrain.rewards.parsing import parse_completion

    results, out = evaluated
    ast_checker, Language = bfcl_ast_checker()
    predictions = read_lines(out / "predictions.jsonl")
    assert {p["category"] for p in predictions} == set(SINGLE_TURN_CATEGORIES)
    files = {c: bfcl_files(c) for c in SINGLE_TURN_CATEGORIES}
    verdicts_by_category = defaultdict(list)
    for p in predictions:
        questions, answers = files[p["category"]]
        parsed = parse_completion(p["completion"], think=False)
        assert parsed.ok == p["format_ok"]
        assert (parsed.tool_calls if parsed.ok else []) == p["parsed_calls"]
        calls = p["parsed_calls"]
        if "irrelevance" in p["category"]:
            expected = not calls
        elif p["category"] == "live_relevance":
            expected = bool(calls)
        elif not p["format_ok"]:
            expected = False
        else:
            model_output = [{c["name"]: c["arguments"]} for c in calls]
            expected = ast_checker(questions[p["id"]]["function"], model_output, answers[p["id"]], Language.PYTHON,
                                   p["category"], "fctrain")["valid"]
        assert p["valid"] == expected, (p["id"], p["completion"], p["error"])
        verdicts_by_category[p["category"]].append(expected)

    for category, verdicts in verdicts_by_category.items():
        assert len(verdicts) == min(LIMIT, len(files[category][0]))
        assert any(verdicts) and not all(verdicts), f"{category}: the slice should mix right and wrong answers"
        assert results["categories"][category]["correct"] == sum(verdicts)
        assert results["categories"][category]["accuracy"] == pytest.approx(sum(verdicts) / len(verdicts))


def test_outputs_written(evaluated):
    results, out = evaluated
    for name in ("results.json", "predictions.jsonl", "results.md", "accuracy_by_category.png"):
        assert (out / name).stat().st_size > 0, name
    saved = json.loads((out / "results.json").read_text())
    assert saved["categories"] == json.loads(json.dumps(results["categories"]))
    row = read_lines(out / "predictions.jsonl")[0]
    assert {"id", "category", "completion", "parsed_calls", "valid", "error", "latency_s"} <= set(row)
    failures = sum(not p["format_ok"] for p in read_lines(out / "predictions.jsonl"))
    assert results["format_failure_rate"] == pytest.approx(failures / results["n_questions"])
    assert failures > 0
    markdown = (out / "results.md").read_text()
    assert "| simple_python |" in markdown and "| single_turn |" in markdown and "| overall_v4 |" in markdown
