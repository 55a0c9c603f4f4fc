"""BFCL question + possible-answer files -> canonical samples.

BFCL stores one JSON object per line. A question: {"id", "question": [[{role, content}, ...]], "function":
[{name, description, parameters: {"type": "dict", properties, required}}]} with Python-ish type names
("dict", "float", "tuple", "any"). A possible answer: {"id", "ground_truth": [{name: {arg: [acceptable
values]}}]}, where "" among the acceptable values means "may be left out" and nested dicts repeat the
same {key: [acceptable values]} form. The executable categories (exec_*) give the ground truth as Python
call strings instead ("f(a=1, b=[2, 3])"), which we parse with `ast` (never evaluated).

Conversion:
- tools: BFCL types -> JSON Schema (the mapping BFCL itself uses for function-calling models,
  `bfcl_eval.constants.type_mappings.GORILLA_TO_OPENAPI`; unknown types -> "string"); "float" parameters
  get BFCL's " This is a float type value." hint; descriptions get BFCL's Python-3 language hint.
- target: the first acceptable value of every argument; optional arguments whose first acceptable value
  is "" are left out (that is how BFCL marks "absent").
- irrelevance questions: a text reply (IRRELEVANT_REPLY) instead of a call.
"""

from __future__ import annotations

import ast
import operator
from collections import Counter
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from fctrain.data.adapters import register_adapter
from fctrain.data.jsonl import read_jsonl
from fctrain.data.record_error import RecordError
from fctrain.data.sample import assistant, make_sample
from fctrain.errors import DataError

IRRELEVANT_REPLY = "None of the available functions can be used to answer this request."
PYTHON_HINT = " Note that the provided function is in Python 3 syntax."
FLOAT_HINT = " This is a float type value."

# BFCL's GORILLA_TO_OPENAPI (bfcl_eval/constants/type_mappings.py), the Python-relevant part;
# tests/eval/test_bfcl_adapter.py checks it still agrees with the installed package.
BFCL_TO_JSON_SCHEMA = {
    "integer": "integer", "number": "number", "float": "number", "string": "string",
    "boolean": "boolean", "bool": "boolean", "array": "array", "list": "array", "dict": "object",
    "object": "object", "tuple": "array", "any": "string", "byte": "integer", "short": "integer",
    "long": "integer", "double": "number", "char": "string", "ArrayList": "array", "Array": "array",
    "HashMap": "object", "Hashtable": "object", "Queue": "array", "Stack": "array", "Any": "string",
    "String": "string", "Bigint": "integer",
}


# ---------------------------------------------------------------- tools

def _schema(node: dict[str, Any]) -> dict[str, Any]:
    """One BFCL type node -> JSON Schema, recursing into properties and items."""
    out = dict(node)
    bfcl_type = node.get("type")
    out["type"] = BFCL_TO_JSON_SCHEMA.get(bfcl_type, "string") if bfcl_type else "string"
    if bfcl_type == "float":
        out["description"] = str(node.get("description", "")) + FLOAT_HINT
    if isinstance(node.get("properties"), dict):
        out["properties"] = {k: _schema(v) for k, v in node["properties"].items()}
    if isinstance(node.get("items"), dict):
        out["items"] = _schema(node["items"])
    return out


def convert_bfcl_function(function: dict[str, Any], *, language_hint: bool = True) -> dict[str, Any]:
    """A BFCL function doc -> canonical tool {"name", "description", "parameters" (JSON Schema object)}."""
    if not isinstance(function, dict) or not isinstance(function.get("name"), str):
        raise RecordError("bad_tool", "function", f"BFCL function doc needs a string 'name', got {str(function)[:80]!r}")
    params = function.get("parameters") or {}
    properties = params.get("properties") or {}
    if not isinstance(properties, dict):
        raise RecordError("bad_tool", f"function {function['name']!r}.parameters.properties",
                          "expected an object")
    description = str(function.get("description", "")) + (PYTHON_HINT if language_hint else "")
    return {
        "name": function["name"],
        "description": description,
        "parameters": {
            "type": "object",
            "properties": {k: _schema(v) for k, v in properties.items()},
            "required": list(params.get("required") or []),
        },
    }


# ---------------------------------------------------------------- targets

def _first(values: Any, name: str) -> tuple[bool, Any]:
    """(present, value) for one list of acceptable values: absent when the first one is ""."""
    if not isinstance(values, list):
        raise RecordError("bad_ground_truth", f"ground_truth.{name}", f"expected a list of acceptable values, got {values!r}")
    if not values:
        # BFCL ships a few answers with no acceptable value at all (live_simple_106-63-0: empty lists of
        # queries); its checker rejects every output there. The evident intent is an empty list.
        return True, []
    return values[0] != "", values[0]


def _answer_dict(answer: dict[str, Any]) -> dict[str, Any]:
    """A dict-valued answer {key: [acceptable values]} -> {key: first value}. One level only, as in BFCL's
    dict_checker: the values inside are literals (live_multiple_121-46-0 has a literal dict there)."""
    out = {}
    for key, values in answer.items():
        present, value = _first(values, key)
        if present:
            out[key] = value
    return out


def target_arguments(answer_args: dict[str, list[Any]], function: dict[str, Any] | None = None) -> dict[str, Any]:
    """{arg: [acceptable values]} -> {arg: first acceptable value}, leaving out args whose first is "".

    A dict value is itself an answer dict, and a list of dicts is a list of answer dicts (BFCL's dict and
    list-of-dict parameters); both are resolved the same way, one level deep. With the function doc given,
    two inconsistencies in BFCL's data are resolved towards what its checker accepts: an argument the
    function does not declare is dropped (parallel_multiple_26), and a required argument whose first
    acceptable value is "" takes its first non-empty one (simple_python_200).
    """
    params = (function or {}).get("parameters") or {}
    declared = params.get("properties")
    required = set(params.get("required") or [])
    out = {}
    for name, values in answer_args.items():
        if declared is not None and name not in declared:
            continue
        present, value = _first(values, name)
        if not present and name in required:
            present, value = next(((True, v) for v in values if v != ""), (False, None))
        if not present:
            continue
        if isinstance(value, dict):
            value = _answer_dict(value)
        elif isinstance(value, list):
            value = [_answer_dict(v) if isinstance(v, dict) else v for v in value]
        out[name] = value
    return out


def target_calls(ground_truth: list[dict[str, dict]], functions: list[dict] | None = None) -> list[dict[str, Any]]:
    """BFCL ground truth [{name: {arg: [values]}}] -> canonical calls [{"name", "arguments"}]."""
    by_name = {f.get("name"): f for f in functions or []}
    calls = []
    for item in ground_truth:
        if not isinstance(item, dict) or len(item) != 1:
            raise RecordError("bad_ground_truth", "ground_truth",
                              f"each entry must be {{name: {{arg: [values]}}}}, got {str(item)[:80]!r}")
        (name, args), = item.items()
        calls.append({"name": name, "arguments": target_arguments(args, by_name.get(name))})
    return calls


_BINOPS = {ast.Add: operator.add, ast.Sub: operator.sub, ast.Mult: operator.mul, ast.Div: operator.truediv,
           ast.FloorDiv: operator.floordiv, ast.Mod: operator.mod, ast.Pow: operator.pow}


def _literal(node: ast.AST) -> Any:
    """A literal, or arithmetic on numeric literals (BFCL's exec answers contain `p=1/6`, `500*500`)."""
    if isinstance(node, ast.BinOp) and type(node.op) in _BINOPS:
        left, right = _literal(node.left), _literal(node.right)
        if isinstance(left, (int, float)) and isinstance(right, (int, float)):
            return _BINOPS[type(node.op)](left, right)
        raise ValueError("arithmetic on non-numbers")
    return ast.literal_eval(node)


def parse_call_string(text: str, tools: list[dict[str, Any]]) -> dict[str, Any]:
    """'f(a=1, b="x")' -> {"name": "f", "arguments": {...}}; positional args take the tool's property order,
    arguments the tool does not declare are dropped."""
    try:
        node = ast.parse(text.strip(), mode="eval").body
    except SyntaxError as e:
        raise RecordError("bad_ground_truth", "ground_truth", f"{text[:80]!r} is not a Python call: {e.msg}") from e
    if not isinstance(node, ast.Call):
        raise RecordError("bad_ground_truth", "ground_truth", f"{text[:80]!r} is not a function call")
    name = ast.unparse(node.func)
    tool = next((t for t in tools if t["name"] == name), None)
    order = list((tool or {}).get("parameters", {}).get("properties", {}))
    args: dict[str, Any] = {}
    try:
        if node.args:
            if len(node.args) > len(order):
                raise RecordError("bad_ground_truth", "ground_truth", f"{text[:80]!r}: more positional arguments than parameters")
            args.update({order[i]: _literal(a) for i, a in enumerate(node.args)})
        args.update({kw.arg: _literal(kw.value) for kw in node.keywords})
    except (ValueError, TypeError, SyntaxError) as e:
        raise RecordError("bad_ground_truth", "ground_truth", f"{text[:80]!r} has a non-literal argument ({e})") from e
    if tool is not None:  # as for possible answers: drop what the function does not declare (exec_multiple_45)
        args = {k: v for k, v in args.items() if k in order}
    return {"name": name, "arguments": args}


# ---------------------------------------------------------------- records

def question_messages(question: Any) -> list[dict[str, Any]]:
    """BFCL's question field: [[messages of turn 1], ...] (or a flat message list, as in sql) -> messages."""
    if isinstance(question, list) and question and all(isinstance(m, dict) for m in question):
        turns = [question]
    else:
        turns = question
    if not isinstance(turns, list) or len(turns) != 1 or not isinstance(turns[0], list):
        raise RecordError("multi_turn", "question", "expected exactly one turn (multi-turn is not supported)")
    messages = []
    for i, m in enumerate(turns[0]):
        if not isinstance(m, dict) or m.get("role") not in ("system", "user", "assistant"):
            raise RecordError("missing_role", f"question[0][{i}]",
                              f"needs role system/user/assistant, got {str(m)[:80]!r}")
        if not isinstance(m.get("content"), str):
            raise RecordError("bad_content", f"question[0][{i}].content", "expected a string")
        messages.append({"role": m["role"], "content": m["content"]})
    if not any(m["role"] == "user" for m in messages):
        raise RecordError("no_user_message", "question", "no user message")
    return messages


def bfcl_record_to_sample(question: dict[str, Any], ground_truth: list | None, *,
                          irrelevant: bool = False, language_hint: bool = True) -> dict[str, Any]:
    """One BFCL question (+ its ground truth) -> canonical sample {"id", "messages", "tools"}.

    irrelevant=True: the reference is a text reply (no call). Otherwise `ground_truth` is either BFCL's
    possible-answer list or a list of Python call strings (exec categories).
    """
    qid = question.get("id")
    if not isinstance(qid, str):
        raise RecordError("missing_id", "id", "expected a string id")
    functions = question.get("function")
    # live_irrelevance has a few questions with no functions at all (any call is then wrong)
    if not isinstance(functions, list) or (not functions and not irrelevant):
        raise RecordError("empty_tools", "function", "expected a non-empty list of function docs")
    tools = [convert_bfcl_function(f, language_hint=language_hint) for f in functions]
    messages = question_messages(question.get("question"))

    if irrelevant:
        return make_sample(qid, messages + [assistant(IRRELEVANT_REPLY)], tools)
    if not isinstance(ground_truth, list) or not ground_truth:
        raise RecordError("missing_ground_truth", "ground_truth", "expected a non-empty list (possible answer)")
    if all(isinstance(g, str) for g in ground_truth):
        calls = [parse_call_string(g, tools) for g in ground_truth]
    else:
        calls = target_calls(ground_truth, functions)
    names = {t["name"] for t in tools}
    unknown = [c["name"] for c in calls if c["name"] not in names]
    if unknown:
        raise RecordError("unknown_tool", "ground_truth", f"calls function(s) not in 'function': {unknown}")
    return make_sample(qid, messages + [assistant(None, calls)], tools)


@register_adapter("bfcl", read=lambda path: read_bfcl(path))
def convert(record: dict[str, Any]) -> dict[str, Any]:
    """Registry entry: a question record carrying its "ground_truth" (merged in by `read_bfcl`), or flagged
    "bfcl_irrelevance" (irrelevance files have no answers)."""
    irrelevant = bool(record.get("bfcl_irrelevance"))
    return bfcl_record_to_sample(record, record.get("ground_truth"), irrelevant=irrelevant)


def answer_path_for(question_path: Path) -> Path:
    """BFCL keeps answers next to the questions: data/X.json -> data/possible_answer/X.json (unused_datasets:
    question/X.json -> possible_answer/X.json)."""
    question_path = Path(question_path)
    if question_path.parent.name == "question":
        return question_path.parent.parent / "possible_answer" / question_path.name
    return question_path.parent / "possible_answer" / question_path.name


def read_bfcl(question_path: str | Path, answer_path: str | Path | None = None) -> Iterator[tuple[str, dict]]:
    """Yield ("file:line", question record with its "ground_truth") for a BFCL question file.

    Answers come from `answer_path` or BFCL's layout (`answer_path_for`), paired by id (BFCL pairs them by
    position; ids agree in every file of bfcl-eval 2026.3.23). A file whose name contains "irrelevance"
    needs no answers; a file of merged records (each with "ground_truth") needs no answer file either.
    """
    question_path = Path(question_path)
    if not question_path.is_file():
        raise DataError(f"{question_path}: BFCL question file not found")
    answers: dict[str, list] = {}
    irrelevant = "irrelevance" in question_path.name
    answer_path = Path(answer_path) if answer_path else answer_path_for(question_path)
    if not irrelevant and answer_path.is_file():
        answers = {a.get("id"): a.get("ground_truth") for a in read_jsonl(answer_path)}
    for lineno, question in enumerate(read_jsonl(question_path), 1):
        record = dict(question)
        if irrelevant:
            record["bfcl_irrelevance"] = True
        elif question.get("id") in answers:
            record["ground_truth"] = answers[question.get("id")]
        yield f"{question_path}:{lineno}", record


def load_bfcl(question_path: str | Path, answer_path: str | Path | None = None, *,
              on_invalid: str = "error") -> tuple[list[dict], Counter]:
    """Read a BFCL question file (+ possible answers) into canonical samples, on its own (no registry).

    Returns (samples, skipped reasons); on_invalid="error" raises DataError naming file, line and field.
    """
    samples, skipped = [], Counter()
    for where, record in read_bfcl(question_path, answer_path):
        try:
            samples.append(convert(record))
        except RecordError as e:
            if on_invalid == "error":
                raise DataError(f"{where} (id {record.get('id')!r}): {e}") from e
            skipped[e.reason] += 1
    return samples, skipped
