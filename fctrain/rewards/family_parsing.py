"""Parse a completion in its family's own format into the canonical ParsedCompletion.

Qwen3/Hermes (and any template fctrain knows no parser for) goes through fctrain's parser unchanged: it is
the parity-checked path of STAR's similarity reward. Every other family is parsed by transformers'
`parse_response` with the response template TRL's `add_response_schema` sets for that family's official
template (trl.chat_template_utils.<family.parser>); its output is brought to fctrain's canonical form:
calls `{"name", "arguments": dict}`, content stripped, reasoning or None.
"""

from __future__ import annotations

import json

from fctrain.render.families import ALIASES, FAMILIES, Family
from fctrain.rewards.parsing import ParsedCompletion, parse_completion


def family_for_template(template: str | None) -> Family | None:
    """The family a `template:` name stands for; None for model, a .jinja path, or Jinja text."""
    if not template:
        return None
    return FAMILIES.get(ALIASES.get(template, template))


def response_template(family: Family):
    from trl import chat_template_utils

    return getattr(chat_template_utils, family.parser)


def canonical_call(call) -> dict | None:
    """{"name", "arguments": dict} of a parsed call (OpenAI-wrapped or flat), or None when malformed."""
    fn = call.get("function", call) if isinstance(call, dict) else None
    if not isinstance(fn, dict):
        return None
    name, arguments = fn.get("name"), fn.get("arguments")
    if isinstance(arguments, str):
        try:
            arguments = json.loads(arguments)
        except ValueError:
            return None
    arguments = {} if arguments is None else arguments
    if not isinstance(name, str) or not name.strip() or not isinstance(arguments, dict):
        return None
    return {"name": name, "arguments": arguments}


def parse_with_transformers(text: str, family: Family, *, think: bool, tools: list | None = None,
                            prefix: str = "") -> ParsedCompletion:
    from transformers.utils.chat_parsing import parse_response

    try:
        parsed = parse_response(text, response_template(family), prefix=prefix, tools=tools)
    except (ValueError, TypeError, KeyError) as e:
        return ParsedCompletion(ok=False, reason=f"unparseable: {type(e).__name__}")
    reasoning = parsed.get("reasoning_content")
    if reasoning is not None and not think:
        return ParsedCompletion(ok=False, reason="unexpected_think")
    calls = [canonical_call(c) for c in parsed.get("tool_calls") or []]
    if any(c is None for c in calls):
        return ParsedCompletion(ok=False, reason="bad_tool_call")
    return ParsedCompletion(ok=True, reasoning=None if reasoning is None else reasoning.strip(),
                            content=(parsed.get("content") or "").strip(), tool_calls=calls)


def parse_completion_as(text: str, template: str | None, *, think: bool = True, tools: list | None = None,
                        prefix: str = "") -> ParsedCompletion:
    """Parse `text` in the format `template` names (a family; anything else: fctrain's Hermes parser).

    prefix: the prompt the completion was generated from, for families whose prompt opens part of the answer.
    """
    family = family_for_template(template)
    if family is None or family.parser == "hermes":
        return parse_completion(text, think=think)
    if not isinstance(text, str):
        return ParsedCompletion(ok=False, reason="not_text")
    return parse_with_transformers(text, family, think=think, tools=tools, prefix=prefix)
