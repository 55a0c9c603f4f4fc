"""BFCL's own AST checker, imported from the `bfcl-eval` package without its heavy dependencies.

`bfcl-eval` is installed with `--no-deps`. Its checker module
(`bfcl_eval.eval_checker.ast_eval.ast_checker`) imports only the standard library and three small
constant modules, plus one heavy one: `bfcl_eval.constants.model_config`, which imports every model
handler (openai, anthropic, google, ... SDKs) just to build `MODEL_CONFIG_MAPPING`. The checker reads one
field from that mapping: `MODEL_CONFIG_MAPPING[model_name].underscore_to_dot`, which says whether the
model saw tool names with '.' replaced by '_' (OpenAI-style APIs). fctrain renders tool names unchanged, so
that field is False for us, exactly as in BFCL's entries for local FC models such as "Qwen/Qwen3-0.6B-FC".

So before importing the checker we put a one-entry stand-in for `bfcl_eval.constants.model_config` into
`sys.modules` (only when the real module is not already loaded; if it is, we add our entry to it). Nothing
in site-packages is edited, and the checking logic that runs is BFCL's, untouched.
"""

from __future__ import annotations

import sys
import types
from functools import lru_cache
from typing import Any

# The model name we pass to ast_checker. It must contain no '_' (BFCL maps '_' -> '/' before the lookup).
CHECKER_MODEL_NAME = "fctrain"
_MODEL_CONFIG_MODULE = "bfcl_eval.constants.model_config"


class _CheckerModelConfig:
    """The only field of BFCL's ModelConfig that ast_checker reads."""

    underscore_to_dot = False


def _install_model_config_stub() -> None:
    module = sys.modules.get(_MODEL_CONFIG_MODULE)
    if module is None:
        module = types.ModuleType(_MODEL_CONFIG_MODULE)
        module.__doc__ = "fctrain stand-in: only what bfcl_eval's ast_checker reads (see fctrain/eval/bfcl_checker.py)."
        module.MODEL_CONFIG_MAPPING = {}
        sys.modules[_MODEL_CONFIG_MODULE] = module
    module.MODEL_CONFIG_MAPPING.setdefault(CHECKER_MODEL_NAME, _CheckerModelConfig())


@lru_cache(maxsize=1)
def _bfcl():
    """Import (once) and return BFCL's `ast_checker` function and `Language` enum."""
    try:
        import bfcl_eval  # noqa: F401
    except ImportError as e:  # pragma: no cover - depends on the environment
        raise ImportError(
            "BFCL evaluation needs the bfcl-eval package: pip install --no-deps bfcl-eval==2026.3.23"
        ) from e
    _install_model_config_stub()
    from bfcl_eval.constants.enums import Language
    from bfcl_eval.eval_checker.ast_eval.ast_checker import ast_checker

    return ast_checker, Language


def language_of(category: str):
    """BFCL's checker language for a category (its own rule: java / javascript by name, else Python)."""
    _, Language = _bfcl()
    if "javascript" in category:
        return Language.JAVASCRIPT
    if "java" in category:
        return Language.JAVA
    return Language.PYTHON


def to_bfcl_output(tool_calls: list[dict[str, Any]]) -> list[dict[str, dict[str, Any]]]:
    """fctrain calls [{"name", "arguments"}] -> BFCL's decoded model output [{name: {arg: value}}]."""
    return [{call["name"]: dict(call.get("arguments") or {})} for call in tool_calls]


def check_ast(functions: list[dict], model_output: list[dict], possible_answer: list[dict],
              category: str) -> dict[str, Any]:
    """Run BFCL's `ast_checker` on one question. Returns its dict: {"valid": bool, "error": [...], ...}.

    `functions` are the question's original BFCL function docs (not our JSON-Schema conversion: the checker
    reads BFCL's own type names such as "dict", "float", "tuple" or Java's "ArrayList").
    """
    ast_checker, _ = _bfcl()
    return ast_checker(functions, model_output, possible_answer, language_of(category), category,
                       CHECKER_MODEL_NAME)
