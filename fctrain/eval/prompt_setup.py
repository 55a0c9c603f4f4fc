"""How questions become prompts and answers become calls, for one prompt format ("bfcl" or "served").

Single-turn: the prompt of a question and the decoder of its answer. Multi-turn: the message list of a
conversation (fctrain.eval.multi_turn_prompts). See docs/evaluation.md, "Prompts".
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from fctrain.eval.bfcl_data import BFCLQuestion


class PromptSetup:
    """How questions become prompts and answers become calls, for one prompt format."""

    def __init__(self, prompt_format: str, model_type: str | None, tokenizer, template: str, think: bool):
        from fctrain.eval.bfcl_prompts import bfcl_handler
        from fctrain.render.chat_format import parser_family

        self.format, self.tokenizer, self.template, self.think = prompt_format, tokenizer, template, think
        self.handler = bfcl_handler(model_type) if prompt_format == "bfcl" else None
        self.handler_name = type(self.handler).__name__ if self.handler else None
        self.family = None if self.handler else parser_family(tokenizer, template)  # the served format's

    def skip_special_tokens(self) -> bool:
        """Whether completions may be decoded without special tokens (not Gemma 4's call delimiters)."""
        from fctrain.render.families import decode_skips_special_tokens

        return self.handler is not None or decode_skips_special_tokens(self.family)

    def single_turn_prompt(self, question: BFCLQuestion) -> str:
        from fctrain.eval.bfcl_prompts import bfcl_entry, single_turn_prompt
        from fctrain.render import render_prompt

        if self.handler is None:
            return render_prompt(self.tokenizer, question.sample, template=self.template, think=self.think)
        return single_turn_prompt(self.handler, bfcl_entry(question.category, question.id))

    def decode(self) -> Callable[[str], Any]:
        """BFCL's handler's decoder for the "bfcl" prompt; else the served format's family parser."""
        from fctrain.eval.bfcl_prompts import decode_bfcl
        from fctrain.rewards.family_parsing import parse_completion_as

        if self.handler:
            return lambda text: decode_bfcl(self.handler, text)
        return lambda text: parse_completion_as(text, self.family, think=self.think)

    def conversation(self, entry: dict):
        from fctrain.eval.multi_turn_prompts import BFCLConversation, ServedConversation

        if self.handler is not None:
            return BFCLConversation(self.handler, entry)
        return ServedConversation(entry, self.tokenizer, self.template, self.think)
