"""The growing message list of one multi-turn conversation, in BFCL's form or in the model's served form.

Both give the prompt of the next step and take the model's answer and the execution results back.

- `BFCLConversation` ("bfcl" prompt): BFCL's handler methods do every step, as in
  `BaseHandler.inference_multi_turn_prompting` (the path BFCL takes for local models): the function list
  never changes; at a `miss_func` holdout turn the user message is
  `DEFAULT_USER_PROMPT_FOR_ADDITIONAL_FUNCTION_PROMPTING` with the held-out docs in it; the answer is stored
  by `_parse_query_response_prompting` + `_add_assistant_message_prompting`, the results by
  `_add_execution_results_prompting`.
- `ServedConversation` ("served" prompt): canonical messages rendered with the recipe's tool template,
  tools converted to JSON Schema as for single-turn questions. Holdout turns follow BFCL's FC path
  (`inference_multi_turn_FC`), which suits a model prompted with tools: the held-out functions join the
  tool list and the user message is `DEFAULT_USER_PROMPT_FOR_ADDITIONAL_FUNCTION_FC`.
"""

from __future__ import annotations

import copy

from fctrain.eval.bfcl_prompts import api_response, cleaned_response, decode_bfcl, format_prompt
from fctrain.rewards.parsing import ParsedCompletion


def _default_prompts():
    from fctrain.eval.bfcl_imports import bfcl_module

    return bfcl_module("constants.default_prompts")


class BFCLConversation:
    """BFCL's inference_data for one entry, driven by its own handler."""

    prompt_kind = "bfcl"

    def __init__(self, handler, entry: dict):
        self.handler = handler
        self.entry = copy.deepcopy(entry)
        self.data = handler._pre_query_processing_prompting(self.entry)
        self.started = False

    def begin_turn(self, messages: list[dict], holdout: list[dict] | None) -> list[dict]:
        if holdout is not None:
            text = _default_prompts().DEFAULT_USER_PROMPT_FOR_ADDITIONAL_FUNCTION_PROMPTING
            messages = [{"role": "user", "content": text.format(functions=holdout)}]
        if not self.started:
            self.data = self.handler.add_first_turn_message_prompting(self.data, messages)
            self.started = True
        else:
            self.data = self.handler._add_next_turn_user_message_prompting(self.data, messages)
        return messages

    def prompt(self) -> str:
        return format_prompt(self.handler, self.data)

    def answer(self, text: str) -> tuple[str, ParsedCompletion]:
        """Store the model's answer; returns (BFCL's per-step response text, decoded calls)."""
        response = self.handler._parse_query_response_prompting(api_response(text))
        self.data = self.handler._add_assistant_message_prompting(self.data, response)
        return response["model_responses"], decode_bfcl(self.handler, text)

    def results(self, calls: list[dict], call_strings: list[str], results: list[str]) -> None:
        self.data = self.handler._add_execution_results_prompting(
            self.data, results, {"model_responses_decoded": call_strings})


class ServedConversation:
    """Canonical messages + tools, rendered by fctrain's template (the model's served format)."""

    prompt_kind = "served"

    def __init__(self, entry: dict, tokenizer, template: str, think: bool):
        from fctrain.data.adapters.bfcl import convert_bfcl_function

        self.convert = lambda fn: convert_bfcl_function(fn, language_hint=False)  # the docs already have it
        self.tools = [self.convert(fn) for fn in entry["function"]]
        self.messages: list[dict] = []
        self.tokenizer, self.template, self.think = tokenizer, template, think

    def begin_turn(self, messages: list[dict], holdout: list[dict] | None) -> list[dict]:
        if holdout is not None:
            self.tools += [self.convert(fn) for fn in holdout]
            messages = [{"role": "user", "content": _default_prompts().DEFAULT_USER_PROMPT_FOR_ADDITIONAL_FUNCTION_FC}]
        self.messages += [{"role": m["role"], "content": m["content"]} for m in messages]
        return messages

    def prompt(self) -> str:
        from fctrain.render.turns import render_prompt_text

        return render_prompt_text(self.tokenizer, {"messages": self.messages, "tools": self.tools},
                                  template=self.template, think=self.think)

    def answer(self, text: str) -> tuple[str, ParsedCompletion]:
        from fctrain.render.chat_format import parser_family
        from fctrain.rewards.family_parsing import parse_completion_as

        parsed = parse_completion_as(text, parser_family(self.tokenizer, self.template), think=self.think)
        calls = parsed.tool_calls if parsed.ok else []
        self.messages.append({"role": "assistant", "content": "" if calls else parsed.content or text,
                              "tool_calls": calls})
        return cleaned_response(text), parsed

    def results(self, calls: list[dict], call_strings: list[str], results: list[str]) -> None:
        self.messages += [{"role": "tool", "name": str(c.get("name")), "content": r} for c, r in zip(calls, results)]
