"""Import BFCL's model handlers and runner helpers from `bfcl-eval` without their optional dependencies.

`bfcl-eval` is installed with `--no-deps`. The code fctrain runs from it (a handler's `_format_prompt`,
its message-list methods and JSON tool-call extraction; the multi-turn executor and checker; the
leaderboard's `calculate_*_accuracy`) needs only the standard library, but the modules that hold it
import, at module level, SDKs it never touches on those paths:
- `openai` (the OSS handler builds an OpenAI client for its local server; we never query it),
- `overrides` (decorators `@override` / `@final` and the `EnforceOverrides` base: checks only),
- `tenacity` (retry decorators for API calls),
- `tree_sitter`, `tree_sitter_java`, `tree_sitter_javascript` (Java/JS call parsers, built at import),
- `dotenv` (the runner's command line loads API keys from a .env file),
- `bfcl_eval.constants.model_config` (every API handler; see fctrain/eval/bfcl_checker.py).

`bfcl_module(name)` imports a BFCL module with stand-ins for those that are not installed, placed in
`sys.modules` only for the duration of the import and removed afterwards (so nothing else in the process
sees a fake `openai`). A stand-in's functions raise if called, so a path that really needed the SDK fails
loudly instead of silently doing nothing. Nothing in site-packages is edited.
"""

from __future__ import annotations

import importlib
import importlib.util
import os
import sys
import types
from contextlib import contextmanager
from pathlib import Path


class MissingDependency(RuntimeError):
    """A BFCL code path needed an SDK that is not installed (fctrain only supplied a stand-in)."""


def _unavailable(module: str, name: str):
    def call(*args, **kwargs):
        raise MissingDependency(f"{module}.{name} is not installed; fctrain does not use this part of bfcl-eval")

    return call


def _identity_decorator(fn):
    return fn


def _openai() -> types.ModuleType:
    m = types.ModuleType("openai")

    class OpenAI:  # built in OSSHandler.__init__, queried only by _query_prompting (never called by fctrain)
        def __init__(self, **kwargs):
            self.completions = types.SimpleNamespace(create=_unavailable("openai", "completions.create"))

    m.OpenAI = OpenAI
    return m


def _overrides() -> types.ModuleType:
    m = types.ModuleType("overrides")
    m.override = m.final = _identity_decorator
    m.EnforceOverrides = type("EnforceOverrides", (), {})
    return m


def _tenacity() -> types.ModuleType:
    m = types.ModuleType("tenacity")
    m.retry = lambda *a, **k: _identity_decorator
    for name in ("retry_if_exception_message", "retry_if_exception_type", "wait_random_exponential",
                 "stop_after_attempt"):
        setattr(m, name, lambda *a, **k: None)
    return m


def _tree_sitter() -> types.ModuleType:
    m = types.ModuleType("tree_sitter")

    class Language:
        def __init__(self, *args):
            pass

    class Parser:
        def set_language(self, language):
            pass

        parse = _unavailable("tree_sitter", "Parser.parse")

    m.Language, m.Parser = Language, Parser
    return m


def _tree_sitter_language(name: str) -> types.ModuleType:
    m = types.ModuleType(name)
    m.language = lambda: None
    return m


def _module_with(name: str, **attrs) -> types.ModuleType:
    m = types.ModuleType(name)
    for key, value in attrs.items():
        setattr(m, key, value)
    return m


def _model_config() -> types.ModuleType:
    from fctrain.eval.bfcl_checker import _install_model_config_stub

    _install_model_config_stub()
    return sys.modules["bfcl_eval.constants.model_config"]


_STAND_INS = {
    "openai": _openai,
    "overrides": _overrides,
    "tenacity": _tenacity,
    "tree_sitter": _tree_sitter,
    "dotenv": lambda: _module_with("dotenv", load_dotenv=_unavailable("dotenv", "load_dotenv")),
    "tree_sitter_java": lambda: _tree_sitter_language("tree_sitter_java"),
    "tree_sitter_javascript": lambda: _tree_sitter_language("tree_sitter_javascript"),
}


def _installed(name: str) -> bool:
    if name in sys.modules:
        return True
    try:
        return importlib.util.find_spec(name) is not None
    except (ImportError, ValueError):
        return False


@contextmanager
def _stand_ins():
    added = []
    for name, make in _STAND_INS.items():
        if not _installed(name):
            sys.modules[name] = make()
            added.append(name)
    try:
        yield
    finally:
        for name in added:  # BFCL's modules keep their references; the rest of the process sees no fake SDK
            sys.modules.pop(name, None)


def _project_root() -> None:
    """bfcl_eval.constants.eval_config creates result/, score/ and .file_locks/ under BFCL_PROJECT_ROOT at
    import (default: next to the installed package, i.e. inside site-packages). Point it at a cache folder
    unless the user chose one."""
    if not os.environ.get("BFCL_PROJECT_ROOT"):
        root = Path(os.environ.get("XDG_CACHE_HOME", Path.home() / ".cache")) / "fctrain" / "bfcl"
        root.mkdir(parents=True, exist_ok=True)
        os.environ["BFCL_PROJECT_ROOT"] = str(root)


def bfcl_module(name: str) -> types.ModuleType:
    """Import `bfcl_eval.<name>` (e.g. "model_handler.local_inference.qwen_fc") with stand-ins for its
    unused optional dependencies."""
    full = f"bfcl_eval.{name}"
    if full in sys.modules:
        return sys.modules[full]
    _project_root()
    _model_config()  # the checker's one-entry stand-in (or the real module with our entry)
    with _stand_ins():
        return importlib.import_module(full)
