"""Model families fctrain renders and parses in their own served format.

A family is the official chat template a model is served with (the copy TRL ships in `trl/chat_templates/`,
kept byte-identical to the model repos by TRL's CI), plus what fctrain needs to train on it: how an assistant
turn ends, whether the format has reasoning and parallel calls, and which response parser reads completions
(transformers' `parse_response` with the response template TRL's `add_response_schema` would set, or
fctrain's own Hermes parser). docs/formats.md lists them and says how to add one.
"""

from __future__ import annotations

import functools
from dataclasses import dataclass, field
from pathlib import Path

from fctrain.errors import ConfigError


@dataclass(frozen=True)
class Family:
    name: str
    trl_file: str  # stem of the official template in trl/chat_templates/
    parser: str  # "hermes" (fctrain.rewards.parsing) or the name of a response template in trl.chat_template_utils
    end_markers: tuple[str, ...]  # text that ends a generated assistant turn (the model's stop tokens)
    reasoning: bool  # the format renders reasoning_content of the answered turn
    parallel_calls: bool  # the format renders several calls in one assistant turn
    answer_probe: str = "<"  # a character an answer may start with (fctrain.render.prompt_ids.encode_prompt)
    template_kwargs: dict = field(default_factory=dict)  # fixed render variables (reproducible text)
    special_answer_tokens: bool = False  # answers hold special tokens the parser needs: decode without skipping


FAMILIES = {f.name: f for f in (
    # Qwen3 keeps fctrain's Hermes parser: it is the parity-checked path of STAR's similarity reward.
    Family("qwen3", "qwen3", "hermes", ("<|im_end|>",), reasoning=True, parallel_calls=True),
    Family("qwen2_5", "qwen2_5", "qwen3_template", ("<|im_end|>",), reasoning=False, parallel_calls=True),
    # Llama 3.1/3.2 print "Today Date" from the clock; a fixed date keeps rendered text (and cache hashes) stable.
    Family("llama3_1", "llama3_1", "llama3_template", ("<|eot_id|>", "<|eom_id|>"), reasoning=False,
           parallel_calls=False, template_kwargs={"date_string": "26 Jul 2024"}),
    Family("llama3_2", "llama3_2", "llama3_template", ("<|eot_id|>", "<|eom_id|>"), reasoning=False,
           parallel_calls=False, template_kwargs={"date_string": "26 Jul 2024"}),
    # A Gemma 4 call turn stops at <|tool_response>: the tool's answer is appended inside the same model turn.
    # Its call delimiters (<|tool_call>...) are special tokens in the real tokenizer: decoding must keep them.
    Family("gemma4", "gemma4", "gemma4_template", ("<turn|>", "<|tool_response>"), reasoning=True,
           parallel_calls=True, special_answer_tokens=True),
)}
ALIASES = {"hermes": "qwen3", "llama3": "llama3_2"}
# Official templates that render no tool definitions or calls: training on them would drop the tools silently.
NO_TOOLS = {
    "gemma3": "Gemma 3's official template (trl/chat_templates/gemma3.jinja) renders no tools or tool calls",
    "gemma": "Gemma/Gemma 2's official template (trl/chat_templates/gemma.jinja) renders no tools or tool calls",
}


def trl_templates_dir() -> Path:
    import trl

    return Path(trl.__file__).parent / "chat_templates"


@functools.cache
def official_template(stem: str) -> str:
    """The text of an official template TRL ships (trl/chat_templates/<stem>.jinja)."""
    path = trl_templates_dir() / f"{stem}.jinja"
    if not path.is_file():
        raise ConfigError(f"template: {path} is missing from the installed TRL; fctrain needs TRL's official copy")
    return path.read_text(encoding="utf-8")


def family_names() -> list[str]:
    return sorted([*FAMILIES, *ALIASES])


def get_family(name: str) -> Family:
    """The family called `name` (aliases allowed); a family without tools or an unknown name is a ConfigError."""
    if name in NO_TOOLS:
        raise ConfigError(f"template.name={name}: {NO_TOOLS[name]}, so tool definitions and calls would be "
                          f"dropped; use a family that renders tools ({', '.join(family_names())}) as a named "
                          "fallback")
    family = FAMILIES.get(ALIASES.get(name, name))
    if family is None:
        raise ConfigError(f"template.name={name!r}: unknown family; expected one of {', '.join(family_names())}, "
                          "'model' or a path to a .jinja file")
    return family


def detect_family(chat_template: str | None) -> Family | None:
    """The family whose official template is exactly `chat_template` (TRL's identity rule), or None."""
    if not chat_template:
        return None
    for family in FAMILIES.values():
        if official_template(family.trl_file) == chat_template:
            return family
    return None


def decode_skips_special_tokens(family: str | None) -> bool:
    """Whether completions in `family`'s format may be decoded with skip_special_tokens=True."""
    known = FAMILIES.get(ALIASES.get(family, family)) if family else None
    return not (known and known.special_answer_tokens)
