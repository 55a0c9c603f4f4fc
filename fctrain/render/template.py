"""Which Jinja chat template renders a sample: fctrain's own (shipped as files) or the tokenizer's."""

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


def resolve_chat_template(tokenizer, template: str) -> str:
    """Template text for `template`: a built-in name ("qwen3"), "model" (the tokenizer's own), or raw Jinja.

    "model" requires a template that handles tools; otherwise a ConfigError says to use template="qwen3".
    (No silent fallback: swapping the format would change what the model is trained and evaluated on.)
    """
    if template == "model":
        ct = model_chat_template(tokenizer)
        name = getattr(tokenizer, "name_or_path", "") or type(tokenizer).__name__
        if not ct:
            raise ConfigError(f"template.name=model: tokenizer {name!r} has no chat_template; use template.name=qwen3")
        if not handles_tools(ct):
            raise ConfigError(
                f"template.name=model: the chat template of {name!r} does not render tools/tool_calls, so tool "
                "definitions and calls would be dropped; use template.name=qwen3 (fctrain's tool template)"
            )
        return ct
    if "{%" in template or "{{" in template:
        return template  # raw Jinja (tests, advanced users)
    return load_template_text(template)
