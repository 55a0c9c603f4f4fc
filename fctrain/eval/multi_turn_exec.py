"""Execute a model's calls in BFCL's multi-turn environments, without ever evaluating model text.

BFCL's executor (`multi_turn_utils.execute_multi_turn_func_call`) creates the environment instances (file
system, trading bot, ...) from the entry's `initial_config` with their own `_load_scenario`, keeps them
between calls in its module globals, and runs each call by `eval` of a call string such as
`cd(folder='document')`. fctrain keeps BFCL's executor (same instances, same result formatting, same
"Error during execution: ..." messages fed back to the model), and controls what reaches its `eval`:

- a call is JSON (`{"name", "arguments"}`, from the parser); its name must be a public method of one of
  the entry's environment instances (BFCL's own mapping rule), every argument name a Python identifier and
  every value a JSON value (str, int, finite float, bool, None, lists and objects of those);
- the call string is then built from those checked parts only, exactly as BFCL's
  `convert_to_function_call` writes it: `name(k1=repr(v1),k2=repr(v2))`. The repr of a JSON value is a
  Python literal, so `eval` can only call that environment method with literal arguments;
- a call that fails the checks is not executed; the model gets an error message, and the judge gets
  `REJECTED_CALL` in its place, a string BFCL's executor cannot run (a syntax error) that leaves the
  state alone, as BFCL's `eval` of an unknown name would.
"""

from __future__ import annotations

import inspect
import math
import re
from typing import Any

ERROR_PREFIX = "Error during execution:"  # BFCL's executor's prefix for a call that raised
REJECTED_CALL = "!rejected call"  # eval -> SyntaxError: BFCL's executor records an error, runs nothing
_IDENTIFIER = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*$")


def _utils():
    from fctrain.eval.bfcl_imports import bfcl_module

    return bfcl_module("eval_checker.multi_turn_eval.multi_turn_utils")


def is_long_context(category: str) -> bool:
    """BFCL's rule (base_handler / multi_turn_checker): long-context scenarios load the bigger states."""
    return "long_context" in category or "composite" in category


def is_json_value(value: Any) -> bool:
    if value is None or isinstance(value, (str, bool, int)):
        return True
    if isinstance(value, float):
        return math.isfinite(value)
    if isinstance(value, list):
        return all(is_json_value(v) for v in value)
    if isinstance(value, dict):
        return all(isinstance(k, str) and is_json_value(v) for k, v in value.items())
    return False


def call_problem(call: dict, methods: set[str]) -> str | None:
    """Why a parsed call may not run (None: it may). Messages mirror what BFCL's eval would report."""
    name, arguments = call.get("name"), call.get("arguments")
    if not isinstance(name, str) or name not in methods:
        return f"name {name!r} is not defined"
    if not isinstance(arguments, dict):
        return f"{name}() arguments must be an object, got {type(arguments).__name__}"
    bad = [k for k in arguments if not isinstance(k, str) or not _IDENTIFIER.match(k)]
    if bad:
        return f"{name}() got invalid argument names {bad!r}"
    if not is_json_value(arguments):
        return f"{name}() arguments must be JSON values"
    return None


def call_string(call: dict) -> str:
    """BFCL's convert_to_function_call format, from a call that passed `call_problem`."""
    args = ",".join(f"{k}={v!r}" for k, v in call["arguments"].items())
    return f"{call['name']}({args})"


def instance_prefix(run_name: str, entry_id: str) -> str:
    return re.sub(r"[-./:]", "_", f"{run_name}_{entry_id}_")


def environment_methods(instances: dict[str, Any]) -> set[str]:
    """Public method names of the environment instances (BFCL maps exactly these to instances)."""
    return {name for inst in instances.values() for name, _ in inspect.getmembers(inst, inspect.ismethod)
            if not name.startswith("_")}


def execute(call_strings: list[str], entry: dict, run_name: str) -> tuple[list[str], dict[str, Any]]:
    """BFCL's executor on checked call strings; returns (results, instances). Instances persist per
    (run_name, entry id) in BFCL's module globals until `release` is called."""
    category = entry["id"].rsplit("_", 1)[0]
    return _utils().execute_multi_turn_func_call(
        call_strings, entry.get("initial_config", {}), entry["involved_classes"], run_name, entry["id"],
        long_context=is_long_context(category), is_evaL_run=False,
    )


def release(run_name: str, entry_id: str) -> None:
    """Drop the environment instances BFCL's executor kept for this run and entry (also the checker's
    `<run>_eval_...` and `<run>_ground_truth_eval_...` ones)."""
    names = vars(_utils())
    prefixes = tuple(instance_prefix(f"{run_name}{suffix}", entry_id)
                     for suffix in ("", "_eval", "_ground_truth_eval"))
    for key in [k for k in names if k.startswith(prefixes)]:
        del names[key]


def run_calls(calls: list[dict], entry: dict, run_name: str) -> tuple[list[str], list[str], int]:
    """Check and execute one step's calls in order. Returns (call strings for the judge, results for the
    model, number of errors: rejected calls + calls that raised in the environment)."""
    _, instances = execute([], entry, run_name)
    methods = environment_methods(instances)
    strings, results, errors = [], [], 0
    for call in calls:
        problem = call_problem(call, methods)
        if problem:
            strings.append(REJECTED_CALL)
            results.append(f"{ERROR_PREFIX} {problem}")
            errors += 1
            continue
        text = call_string(call)
        [result], _ = execute([text], entry, run_name)
        strings.append(text)
        results.append(result)
        errors += result.startswith(ERROR_PREFIX)
    return strings, results, errors
