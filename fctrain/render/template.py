"""fctrain's own Jinja template (the qwen3 fallback loaded into tokenizers without a tool template) and checks
on template texts; fctrain.render.chat_format resolves what `template:` names."""

from __future__ import annotations

import functools
import re
from importlib import resources

from fctrain.errors import ConfigError

BUILTIN_TEMPLATES = ("qwen3",)

# Same pattern transformers uses to decide whether {% generation %} masks are available (any trim variant).
_GENERATION_RE = re.compile(r"\{%-?\s*generation\s*-?%\}")
_JINJA_COMMENT_RE = re.compile(r"\{#.*?#\}", re.DOTALL)
# A template handles tools when it reads the `tools` variable and renders assistant tool calls.
_TOOLS_RE = re.compile(r"\btools\b")
_TOOL_CALLS_RE = re.compile(r"\btool_calls\b")


@functools.cache
def load_template_text(name: str) -> str:
    """The text of a built-in template (fctrain/render/templates/<name>.jinja)."""
    if name not in BUILTIN_TEMPLATES:
        raise ConfigError(f"template: unknown built-in template {name!r}; expected one of {BUILTIN_TEMPLATES} or 'model'")
    return resources.files("fctrain.render").joinpath("templates", f"{name}.jinja").read_text(encoding="utf-8")


def has_generation_markers(chat_template: str | None) -> bool:
    # Comments are stripped first: a template that only *mentions* the markers in a comment has none.
    return bool(chat_template) and bool(_GENERATION_RE.search(_JINJA_COMMENT_RE.sub("", chat_template)))


def handles_tools(chat_template: str | None) -> bool:
    """Heuristic: the template reads `tools` and renders `tool_calls` (else tools would be silently dropped)."""
    return bool(chat_template) and bool(_TOOLS_RE.search(chat_template)) and bool(_TOOL_CALLS_RE.search(chat_template))


def model_chat_template(tokenizer) -> str | None:
    """The tokenizer's default chat template as a string (dict-valued templates: the 'default' entry)."""
    ct = getattr(tokenizer, "chat_template", None)
    if isinstance(ct, dict):
        ct = ct.get("default") or ct.get("tool_use")
    return ct


# Set on a tokenizer whose own template fctrain's loader replaced (fctrain.models.load.ensure_tool_template):
# its chat_template then is qwen3, not the model's, so template.name=model must not take it.
REPLACED_TEMPLATE_ATTR = "fctrain_replaced_template"
FIX = ("use template.name=qwen3 (Qwen3's tool format, or another family: docs/formats.md), or keep "
       "template.name=model and set template.fallback=qwen3 to use qwen3 only for a model without a tool template")


def own_template_problem(tokenizer) -> str | None:
    """Why the tokenizer's own chat template cannot render tool calls, or None when it can."""
    if getattr(tokenizer, REPLACED_TEMPLATE_ATTR, False):
        return "does not render tools/tool_calls (fctrain's loader gave it qwen3 instead)"
    ct = model_chat_template(tokenizer)
    if not ct:
        return "has no chat_template"
    if not handles_tools(ct):
        return "does not render tools/tool_calls"
    return None


def no_tool_template_error(name: str, problem: str, where: str = "") -> ConfigError:
    return ConfigError(f"{where}template.name=model: the chat template of {name!r} {problem}, so tool definitions "
                       f"and calls would be dropped; {FIX}")
