"""BFCL multi-turn acceptance: an oracle replaying BFCL's ground truth scores 100% on a slice of every
multi-turn category (both prompt formats), a model that never calls scores 0, a call that raises in the
environment is fed back and counted, and BFCL's own runner, reading fctrain's BFCL result files on its own,
gives the same verdicts."""

from __future__ import annotations

import ast
import json
import uuid

import pytest

pytest.importorskip("bfcl_eval")

from fctrain.eval.bfcl_data import MULTI_TURN_CATEGORIES  # noqa: E402
from fctrain.eval.bfcl_eval import evaluate_bfcl  # noqa: E402
from fctrain.eval.multi_turn import load_multi_turn  # noqa: E402

LIMIT = 6  # questions per category: the first ones (their first user messages are distinct)
ADDED_FUNCTIONS = "I have updated some more functions you can choose from"  # BFCL's holdout-turn message


def ground_truth_call(text: str, functions: list[dict]) -> dict:
    """BFCL's ground-truth call string -> a JSON call (positional arguments named from the function doc)."""
    node = ast.parse(text, mode="eval").body
    params = list(next(f for f in functions if f["name"] == node.func.id)["parameters"]["properties"])
    arguments = {params[i]: ast.literal_eval(a) for i, a in enumerate(node.args)}
    arguments.update({k.arg: ast.literal_eval(k.value) for k in node.keywords})
    return {"name": node.func.id, "arguments": arguments}


def tool_calls_text(calls: list[dict]) -> str:
    return "\n".join(f"<tool_call>\n{json.dumps(c)}\n</tool_call>" for c in calls)


class Oracle:
    """Answers each prompt from BFCL's ground truth: at a turn's first step all of that turn's calls, after
    the tool responses (or for a turn whose ground truth is empty) a plain text answer.

    The question is recognised by its first user message, the turn by the user messages present in order,
    the step by a tool response after the turn's message."""

    def __init__(self, questions, *, drop_last_call_of: set[str] = frozenset()):
        self.questions = questions
        self.drop = drop_last_call_of  # these questions lose one call per turn (a wrong answer)
        firsts = [q.entry["question"][0][-1]["content"] for q in questions]
        assert len(set(firsts)) == len(firsts), "the oracle needs distinct first user messages"

    def turn(self, question, prompt: str) -> tuple[int, int]:
        pos, turn = 0, None
        for t, messages in enumerate(question.entry["question"]):
            found = prompt.find(messages[-1]["content"] if messages else ADDED_FUNCTIONS, pos)
            if found < 0:
                break
            pos, turn = found, t
        return turn, pos

    def answer(self, prompt: str) -> str:
        q = next(q for q in self.questions if q.entry["question"][0][-1]["content"] in prompt)
        turn, pos = self.turn(q, prompt)
        truth = q.ground_truth[turn]
        if "<tool_response>" in prompt[pos:] or not truth:
            return "All done."
        functions = q.entry["function"] + [f for fs in q.entry.get("missed_function", {}).values() for f in fs]
        calls = [ground_truth_call(t, functions) for t in truth]
        if q.id in self.drop:
            calls = calls[:-1] or [{"name": "ls", "arguments": {}}]
        return tool_calls_text(calls)

    def __call__(self, prompts: list[str]) -> list[str]:
        return [self.answer(p) for p in prompts]


def never_calls(prompts: list[str]) -> list[str]:
    return ["I would rather not call any function."] * len(prompts)


def read_jsonl(path) -> list[dict]:
    return [json.loads(line) for line in path.read_text().splitlines()]


def evaluate_category(category: str, generate_fn, tokenizer, prompt: str = "bfcl", **kwargs) -> dict:
    # one category per run: categories share first questions (base_0, long_context_0, ...), and the oracle
    # recognises a conversation by its prompt
    return evaluate_bfcl(None, tokenizer, categories=[category], limit=LIMIT, prompt=prompt, model_type="qwen3",
                         batch_size=4, generate_fn=generate_fn, **kwargs)


@pytest.mark.parametrize("prompt", ["bfcl", "served"])
@pytest.mark.parametrize("category", MULTI_TURN_CATEGORIES)
def test_oracle_scores_100_and_silent_model_0(category, prompt, tiny_tok):
    oracle = Oracle(load_multi_turn(category, LIMIT))
    results = evaluate_category(category, oracle, tiny_tok, prompt)
    assert results["categories"][category]["accuracy"] == 1.0, results["categories"]
    assert results["categories"][category]["total_count"] == LIMIT
    assert results["aggregates"]["multi_turn"]["accuracy"] == 1.0
    assert results["prompt_format"] == prompt
    silent = evaluate_category(category, never_calls, tiny_tok, prompt)
    assert silent["categories"][category]["accuracy"] == 0.0


def _bfcl_runner_verdicts(result_file, category: str) -> dict[str, bool]:
    """BFCL's own eval_runner path on a result file: its handler decodes, its multi_turn_checker judges."""
    from fctrain.eval.bfcl_imports import bfcl_module

    runner = bfcl_module("eval_checker.eval_runner")
    utils = bfcl_module("utils")
    handler = bfcl_module("model_handler.local_inference.qwen_fc").QwenFCHandler(
        "Qwen/Qwen3-8B", 0.001, "Qwen/Qwen3-8B-FC", True)
    prompts = {e["id"]: e for e in utils.load_dataset_entry(category, include_prereq=False,
                                                             include_language_specific_hint=False)}
    truth = {e["id"]: e["ground_truth"] for e in utils.load_ground_truth_entry(category)}
    model_name = f"rescore{uuid.uuid4().hex[:8]}"
    verdicts = {}
    for row in read_jsonl(result_file):
        out = runner._evaluate_single_multi_turn_entry(handler, row["id"], row["result"], truth[row["id"]],
                                                       prompts[row["id"]], model_name, category)
        verdicts[row["id"]] = bool(out["valid"])
    return verdicts


@pytest.mark.parametrize("category", MULTI_TURN_CATEGORIES)
def test_bfcl_runner_rescoring_gives_the_same_verdicts(category, tmp_path, tiny_tok):
    questions = load_multi_turn(category, LIMIT)
    wrong = {q.id for i, q in enumerate(questions) if i % 2 == 1}
    evaluate_category(category, Oracle(questions, drop_last_call_of=wrong), tiny_tok, out_dir=tmp_path)
    ours = {p["id"]: p["valid"] for p in read_jsonl(tmp_path / "predictions.jsonl")}
    assert 0 < sum(ours.values()) < len(ours)  # both verdicts occur
    theirs = _bfcl_runner_verdicts(tmp_path / "bfcl_result" / f"BFCL_v4_{category}_result.json", category)
    assert theirs == ours


def test_raising_call_is_fed_back_and_counted(tiny_tok):
    [question] = load_multi_turn("multi_turn_base", 1)
    answers = iter([
        tool_calls_text([{"name": "sort", "arguments": {}}]),  # the file system's sort() needs file_name
        tool_calls_text([{"name": "not_a_method", "arguments": {"x": 1}}]),  # no such function: not executed
        "Giving up on this turn.",
    ])
    prompts_seen: list[str] = []

    def generate(prompts):
        prompts_seen.extend(prompts)
        return [next(answers, "Nothing to do.") for _ in prompts]

    results = evaluate_bfcl(None, tiny_tok, categories=["multi_turn_base"], limit=1, prompt="bfcl",
                            model_type="qwen3", generate_fn=generate)
    assert "Error during execution:" in prompts_seen[1] and "sort()" in prompts_seen[1]
    assert "Error during execution: name 'not_a_method' is not defined" in prompts_seen[2]
    # the conversation went on: every later turn was asked
    assert len(prompts_seen) == 2 + len(question.entry["question"])
    assert results["categories"]["multi_turn_base"]["execution_errors"] == 2
    assert results["categories"]["multi_turn_base"]["accuracy"] == 0.0


def test_rejected_calls_never_reach_eval():
    from fctrain.eval.multi_turn_exec import REJECTED_CALL, call_problem, call_string

    methods = {"cd", "ls"}
    assert call_problem({"name": "__import__", "arguments": {}}, methods) is not None
    assert call_problem({"name": "cd", "arguments": {"folder); import os; (x": 1}}, methods) is not None
    assert call_problem({"name": "cd", "arguments": {"folder": float("nan")}}, methods) is not None
    assert call_problem({"name": "cd", "arguments": {"folder": "x'); import os; ('"}}, methods) is None
    # a hostile string stays one string literal in the built call
    assert ast.literal_eval(ast.parse(call_string({"name": "cd", "arguments": {"folder": "x'); import os; ('"}}),
                                      mode="eval").body.keywords[0].value) == "x'); import os; ('"
    with pytest.raises(SyntaxError):
        compile(REJECTED_CALL, "<call>", "eval")


def test_results_report_overall_and_bfcl_files(tmp_path, tiny_tok):
    results = evaluate_bfcl(None, tiny_tok, categories=["multi_turn_base", "irrelevance"], limit=2,
                            prompt="bfcl", model_type="qwen3", generate_fn=never_calls, out_dir=tmp_path)
    v4 = results["overall_v4"]
    assert v4["built_from"] == ["irrelevance", "multi_turn_base"] and not v4["complete"]
    assert "network" in v4["missing"]["web_search_base"] and "memory_kv" in v4["missing"]
    assert "overall" not in results["aggregates"]
    rows = read_jsonl(tmp_path / "predictions.jsonl")
    turns = next(r for r in rows if r["category"] == "multi_turn_base")["turns"]
    assert all(step["prompt"].startswith("<|im_start|>system") for t in turns for step in t["steps"])
    assert read_jsonl(tmp_path / "bfcl_result" / "BFCL_v4_irrelevance_result.json")[0]["id"] == "irrelevance_0"
