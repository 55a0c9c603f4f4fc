"""What `template:` names, resolved to a chat format: the Jinja text, a label for errors and the family.

- a family name (`qwen3`, `qwen2_5`, `llama3_2`, `gemma4`, ... see fctrain.render.families): that model's
  official template as TRL ships it;
- `model`: the tokenizer's own template (it must render tools); its family is found by identity with the
  official templates, as TRL does;
- a path to a `.jinja` file, or raw Jinja text (tests).
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from fctrain.errors import ConfigError
from fctrain.render.families import Family, detect_family, get_family, official_template
from fctrain.render.template import model_chat_template, no_tool_template_error, own_template_problem


@dataclass(frozen=True)
class ChatFormat:
    label: str  # how errors name it: the family, "model (<name>)" or the file
    text: str  # the Jinja template
    family: Family | None  # None: a template fctrain knows nothing about (masks and parsing still checked)

    def render_kwargs(self, think: bool) -> dict:
        return {**(self.family.template_kwargs if self.family else {}), "enable_thinking": think}


def is_template_path(name: str) -> bool:
    return name.endswith(".jinja") or "/" in name


def resolve_format(tokenizer, template: str) -> ChatFormat:
    if "{%" in template or "{{" in template:
        return ChatFormat("given Jinja text", template, detect_family(template))
    if template == "model":
        name = getattr(tokenizer, "name_or_path", "") or type(tokenizer).__name__
        problem = own_template_problem(tokenizer)
        if problem is not None:
            raise no_tool_template_error(name, problem)
        text = model_chat_template(tokenizer)
        return ChatFormat(f"model ({name})", text, detect_family(text))
    if is_template_path(template):
        path = Path(template)
        if not path.is_file():
            raise ConfigError(f"template.name={template!r}: no such Jinja file")
        text = path.read_text(encoding="utf-8")
        return ChatFormat(str(path), text, detect_family(text))
    family = get_family(template)
    return ChatFormat(family.name, official_template(family.trl_file), family)


def parser_family(tokenizer, template: str) -> str | None:
    """The family whose parser reads completions rendered with `template` (None: fctrain's Hermes parser).

    `model` and .jinja paths are resolved to a family by identity with the official templates, so a Llama
    tokenizer's own template is parsed as Llama's, not as Hermes."""
    family = resolve_format(tokenizer, template).family
    return family.name if family is not None else None
