"""The BFCL adapter (fctrain/data/adapters/bfcl.py) and BFCL data access (fctrain/eval/bfcl_data.py)."""

from __future__ import annotations

import json

import pytest

from fctrain.data.adapters.bfcl import (
    BFCL_TO_JSON_SCHEMA,
    IRRELEVANT_REPLY,
    bfcl_record_to_sample,
    convert_bfcl_function,
    load_bfcl,
    parse_call_string,
    target_arguments,
)
from fctrain.data.record_error import RecordError
from fctrain.errors import ConfigError, DataError

FUNCTION = {"name": "math.hypot", "description": "Norm.", "parameters": {"type": "dict", "properties": {
    "x": {"type": "integer", "description": "x"}, "y": {"type": "float", "description": "y"},
    "pts": {"type": "array", "items": {"type": "tuple", "items": {"type": "float"}}, "description": "p"},
    "opts": {"type": "dict", "properties": {"unit": {"type": "string"}}, "description": "o"},
    "z": {"type": "any", "description": "z"}}, "required": ["x", "y"]}}
QUESTION = {"id": "simple_python_9", "question": [[{"role": "user", "content": "Hypotenuse of 4 and 5 ✓?"}]],
            "function": [FUNCTION]}


def test_function_doc_becomes_json_schema():
    tool = convert_bfcl_function(FUNCTION)
    params = tool["parameters"]
    assert params["type"] == "object" and params["required"] == ["x", "y"]
    props = params["properties"]
    assert props["x"]["type"] == "integer" and props["y"]["type"] == "number"
    assert props["y"]["description"].endswith("This is a float type value.")
    assert props["pts"] == {"type": "array", "description": "p",
                            "items": {"type": "array", "items": {"type": "number", "description": " This is a float type value."}}}
    assert props["opts"]["type"] == "object" and props["opts"]["properties"]["unit"]["type"] == "string"
    assert props["z"]["type"] == "string"
    assert tool["description"] == "Norm. Note that the provided function is in Python 3 syntax."
    assert FUNCTION["parameters"]["type"] == "dict"  # the BFCL doc itself is untouched


def test_type_map_agrees_with_bfcl():
    mappings = pytest.importorskip("bfcl_eval.constants.type_mappings")
    assert BFCL_TO_JSON_SCHEMA == mappings.GORILLA_TO_OPENAPI


def test_targets_take_first_acceptable_value_and_skip_absent_optionals():
    answer = {"x": [4], "y": [5.0, 5], "z": ["", 0], "opts": [{"unit": ["cm", ""], "scale": [""]}],
              "pts": [[{"a": [1], "b": ["", 2]}, {"a": [3], "b": [4]}]]}
    assert target_arguments(answer) == {"x": 4, "y": 5.0, "opts": {"unit": "cm"},
                                        "pts": [{"a": 1}, {"a": 3, "b": 4}]}
    # with the doc: a required argument marked optional takes its first real value; undeclared ones go
    assert target_arguments({"x": ["", 3], "w": [1], "y": [1.5]}, FUNCTION) == {"x": 3, "y": 1.5}


def test_record_to_sample_and_irrelevance():
    sample = bfcl_record_to_sample(QUESTION, [{"math.hypot": {"x": [4], "y": [5.0], "z": ["", 0]}}])
    assert sample["id"] == "simple_python_9"
    assert sample["messages"][0] == {"role": "user", "content": "Hypotenuse of 4 and 5 ✓?"}
    assert sample["messages"][-1]["tool_calls"] == [{"name": "math.hypot", "arguments": {"x": 4, "y": 5.0}}]
    irrelevant = bfcl_record_to_sample(QUESTION, None, irrelevant=True)
    assert irrelevant["messages"][-1]["content"] == IRRELEVANT_REPLY
    assert irrelevant["messages"][-1]["tool_calls"] == []


@pytest.mark.parametrize("question, ground_truth, reason", [
    ({**QUESTION, "question": [[{"content": "no role"}]]}, [{"math.hypot": {"x": [1]}}], "missing_role"),
    ({**QUESTION, "question": [[{"role": "user", "content": "a"}], [{"role": "user", "content": "b"}]]},
     [{"math.hypot": {"x": [1]}}], "multi_turn"),
    (QUESTION, [{"no_such_tool": {"x": [1]}}], "unknown_tool"),
    ({**QUESTION, "function": []}, [{"math.hypot": {"x": [1]}}], "empty_tools"),
    (QUESTION, None, "missing_ground_truth"),
    (QUESTION, [{"math.hypot": {"x": 1}}], "bad_ground_truth"),
    (QUESTION, ["math.hypot(x=open('f'))"], "bad_ground_truth"),
])
def test_malformed_records_raise_with_reason(question, ground_truth, reason):
    with pytest.raises(RecordError) as err:
        bfcl_record_to_sample(question, ground_truth)
    assert err.value.reason == reason


def test_exec_call_strings_parse_without_eval():
    tools = [convert_bfcl_function({"name": "calculate_mean", "parameters": {"properties": {
        "numbers": {"type": "array"}, "k": {"type": "integer"}}}})]
    assert parse_call_string("calculate_mean([1,3,4], k=-2)", tools) == {
        "name": "calculate_mean", "arguments": {"numbers": [1, 3, 4], "k": -2}}
    assert parse_call_string("f(p=1/6, n=500*500)", tools)["arguments"] == {"p": 1 / 6, "n": 250000}
    with pytest.raises(RecordError):
        parse_call_string("__import__('os').system('x')", tools)


def test_load_bfcl_files_names_file_and_line(tmp_path):
    (tmp_path / "possible_answer").mkdir()
    q = tmp_path / "BFCL_v4_simple_python.json"
    q.write_text(json.dumps(QUESTION) + "\n" + json.dumps({**QUESTION, "id": "simple_python_10",
                                                            "question": [[{"role": "bot", "content": "x"}]]}) + "\n")
    (tmp_path / "possible_answer" / q.name).write_text(
        json.dumps({"id": "simple_python_9", "ground_truth": [{"math.hypot": {"x": [4], "y": [5.0]}}]}) + "\n"
        + json.dumps({"id": "simple_python_10", "ground_truth": [{"math.hypot": {"x": [1], "y": [1.0]}}]}) + "\n")
    with pytest.raises(DataError, match=r"BFCL_v4_simple_python.json:2 .*question\[0\]\[0\]"):
        load_bfcl(q)
    samples, skipped = load_bfcl(q, on_invalid="skip")
    assert [s["id"] for s in samples] == ["simple_python_9"] and skipped == {"missing_role": 1}
    bad = tmp_path / "BFCL_v4_irrelevance.json"
    bad.write_text(json.dumps(QUESTION) + "\n{not json\n")
    with pytest.raises(DataError, match=r"BFCL_v4_irrelevance.json:2: invalid JSON"):
        load_bfcl(bad)


def test_registered_in_adapter_registry():
    from fctrain.data.adapters import ADAPTERS

    assert ADAPTERS["bfcl"].read is not None
    assert ADAPTERS["bfcl"]({**QUESTION, "bfcl_irrelevance": True})["messages"][-1]["content"] == IRRELEVANT_REPLY


# ---------------------------------------------------------------- the real package data

bfcl_data = pytest.importorskip("fctrain.eval.bfcl_data")
# BFCL answers its own checker rejects whatever the model says (required argument without acceptable value,
# or an empty list of acceptable values): the only five in bfcl-eval 2026.3.23's supported categories.
UNSATISFIABLE = {"live_simple_106-63-0", "live_simple_112-68-0", "live_multiple_507-149-4",
                 "live_multiple_862-181-3", "live_multiple_964-207-0"}


@pytest.fixture(scope="module")
def all_questions():
    pytest.importorskip("bfcl_eval")
    return bfcl_data.load_questions(bfcl_data.DEFAULT_CATEGORIES)


def test_every_category_loads(all_questions):
    counts = {c: sum(q.category == c for q in all_questions) for c in bfcl_data.DEFAULT_CATEGORIES}
    assert counts == {"simple_python": 400, "multiple": 200, "parallel": 200, "parallel_multiple": 200,
                      "irrelevance": 240, "live_simple": 258, "live_multiple": 1053, "live_parallel": 16,
                      "live_parallel_multiple": 24, "live_irrelevance": 884}


def test_reference_targets_pass_bfcls_checker(all_questions):
    from fctrain.eval.bfcl_checker import check_ast, to_bfcl_output

    rejected = {q.id for q in all_questions if q.possible_answer is not None and not check_ast(
        q.functions, to_bfcl_output(q.sample["messages"][-1]["tool_calls"]), q.possible_answer, q.category)["valid"]}
    assert rejected == UNSATISFIABLE


def test_limit_first_or_seeded():
    pytest.importorskip("bfcl_eval")
    first = bfcl_data.load_category("parallel", 3)
    assert [q.id for q in first] == ["parallel_0", "parallel_1", "parallel_2"]
    a, b = bfcl_data.load_category("parallel", 5, seed=1), bfcl_data.load_category("parallel", 5, seed=1)
    assert [q.id for q in a] == [q.id for q in b] != [q.id for q in first][:5]
    with pytest.raises(ConfigError, match="exec_simple"):
        bfcl_data.load_questions(["exec_simple"])


def test_offset_gives_a_dev_slice_disjoint_from_the_first_ones():
    pytest.importorskip("bfcl_eval")
    dev = bfcl_data.load_category("parallel", 3, offset=5)
    assert [q.id for q in dev] == ["parallel_5", "parallel_6", "parallel_7"]
    seeded = bfcl_data.load_category("parallel", 5, seed=1, offset=5)
    assert not {q.id for q in seeded} & {f"parallel_{i}" for i in range(5)}
    with pytest.raises(ConfigError, match="offset"):
        bfcl_data.load_category("parallel", 3, offset=-1)


def test_training_pool_is_disjoint_from_evaluation(all_questions):
    from fctrain.data.sample import validate_sample

    pool = bfcl_data.bfcl_training_pool()
    prefixes = {s["id"].rsplit("_", 1)[0] for s in pool}
    assert prefixes == set(bfcl_data.TRAINING_CATEGORIES)
    assert len(pool) == 340
    eval_users = {m["content"] for q in all_questions for m in q.sample["messages"] if m["role"] == "user"}
    assert not any(m["content"] in eval_users for s in pool for m in s["messages"] if m["role"] == "user")
    assert all(validate_sample(s) == [] for s in pool)
    with pytest.raises(ConfigError, match="rest"):
        bfcl_data.bfcl_training_pool(["rest"])
