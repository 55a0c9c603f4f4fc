"""BFCL's own prompts: for a Qwen model, fctrain's prompt is byte for byte what BFCL's QwenFCHandler formats
after BFCL's function-doc pre-processing, over every question of every single-turn category and the first
turn of every multi-turn question; models BFCL has no handler for keep the served template."""

from __future__ import annotations

import copy
import json

import pytest

pytest.importorskip("bfcl_eval")

from fctrain.eval.bfcl_data import MULTI_TURN_CATEGORIES, SINGLE_TURN_CATEGORIES, bfcl_data_dir  # noqa: E402
from fctrain.eval.bfcl_imports import bfcl_module  # noqa: E402


def raw_entries(category: str) -> list[dict]:
    path = bfcl_data_dir() / f"BFCL_v4_{category}.json"
    return [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines() if line.strip()]


def reference_prompts(category: str) -> dict[str, str]:
    """QwenFCHandler._format_prompt on the category file, pre-processed by BFCL's own functions."""
    utils = bfcl_module("utils")
    qwen = bfcl_module("model_handler.local_inference.qwen_fc").QwenFCHandler
    handler = qwen("Qwen/Qwen3-8B", 0.001, "Qwen/Qwen3-8B-FC", True)
    entries = raw_entries(category)
    if category in MULTI_TURN_CATEGORIES:
        entries = utils.populate_test_cases_with_predefined_functions(entries)
    out = {}
    for entry in entries:
        functions = utils._func_doc_language_specific_pre_processing(copy.deepcopy(entry["function"]), category)
        out[entry["id"]] = qwen._format_prompt(handler, copy.deepcopy(entry["question"][0]), functions)
    return out


@pytest.fixture(scope="module")
def bfcl_setup():
    from fctrain.eval.prompt_setup import PromptSetup

    return PromptSetup("bfcl", "qwen3", tokenizer=None, template="qwen3", think=False)


@pytest.mark.parametrize("category", SINGLE_TURN_CATEGORIES)
def test_single_turn_prompt_is_bfcl_qwen_handler_prompt(category, bfcl_setup):
    from fctrain.eval.bfcl_data import load_questions

    ours = {q.id: bfcl_setup.single_turn_prompt(q) for q in load_questions([category])}
    theirs = reference_prompts(category)
    assert len(ours) == len(theirs) == len(raw_entries(category))
    assert [i for i in theirs if ours[i] != theirs[i]] == []


@pytest.mark.parametrize("category", MULTI_TURN_CATEGORIES)
def test_multi_turn_first_prompt_is_bfcl_qwen_handler_prompt(category, bfcl_setup):
    from fctrain.eval.multi_turn import Conversation, load_multi_turn

    questions = load_multi_turn(category)
    ours = {q.id: Conversation(q, bfcl_setup.conversation(q.entry), "prompt-test").start().next_prompt()
            for q in questions}
    theirs = reference_prompts(category)
    assert len(ours) == len(theirs) == 200
    assert [i for i in theirs if ours[i] != theirs[i]] == []


def test_auto_prompt_is_bfcl_only_for_families_bfcl_knows():
    from fctrain.errors import ConfigError
    from fctrain.eval.bfcl_prompts import resolve_prompt

    assert resolve_prompt("auto", "qwen3") == "bfcl"
    assert resolve_prompt("auto", "llama") == "served"  # SmolLM2: no BFCL handler, the demo's prompts stay
    assert resolve_prompt("served", "qwen3") == "served"
    with pytest.raises(ConfigError, match="model_type"):
        resolve_prompt("bfcl", "llama")


def test_served_prompt_unchanged_for_a_model_bfcl_does_not_know(tiny_tok):
    from fctrain.eval.bfcl_data import load_questions
    from fctrain.eval.bfcl_eval import evaluate_bfcl
    from fctrain.render import render_prompt

    results = evaluate_bfcl(None, tiny_tok, categories=["simple_python"], limit=2, model_type="llama",
                            generate_fn=lambda prompts: [""] * len(prompts))
    assert results["prompt_format"] == "served" and results["bfcl_handler"] is None
    seen = []
    evaluate_bfcl(None, tiny_tok, categories=["simple_python"], limit=2, model_type="llama",
                  generate_fn=lambda prompts: seen.extend(prompts) or [""] * len(prompts))
    expected = [render_prompt(tiny_tok, q.sample, template="qwen3") for q in load_questions(["simple_python"], 2)]
    assert sorted(seen) == sorted(expected)
