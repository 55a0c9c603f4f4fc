"""BFCL's own prompts: the prompt (and answer decoding) that BFCL's model handler uses for a model family.

BFCL runs a local model (vLLM/SGLang server) through an `OSSHandler` subclass: `_pre_query_processing_prompting`
picks the system prompt and functions, `add_first_turn_message_prompting` / `_add_next_turn_user_message_prompting`
/ `_add_assistant_message_prompting` / `_add_execution_results_prompting` grow the message list, and
`_format_prompt(messages, functions)` turns it into the exact text sent to the completions endpoint. The
function docs it gets are those of `bfcl_eval.utils.load_dataset_entry`, which adds BFCL's language hints.

fctrain calls those methods on a real handler instance (imported with `fctrain.eval.bfcl_imports`), so the
prompt is BFCL's byte for byte. Only the server query is replaced by fctrain's generation.

Supported families (`HANDLERS`): Qwen 2.x / 3 -> `QwenFCHandler` (BFCL's entries `Qwen/Qwen3-*-FC`). Other
families BFCL has handlers for (Llama 3.x, Gemma, Granite, Hammer, xLAM, FunctionGemma) are not wired yet:
their answers are not `<tool_call>` JSON, and their decoders would need fctrain-side checks first.

Decoding: BFCL's Qwen handler finds `<tool_call>\\n{json}\\n</tool_call>` blocks with `json.loads`
(`_extract_tool_calls`); its `decode_execute` would `eval` a block that decodes to a JSON *string*. fctrain
uses the same extraction and treats such a block as undecodable instead (model text is never evaluated).
"""

from __future__ import annotations

import copy
import json
import types
from functools import lru_cache

from fctrain.errors import ConfigError
from fctrain.rewards.parsing import ParsedCompletion

PROMPT_CHOICES = ("auto", "bfcl", "served")
# model_type (transformers config) -> (BFCL handler module, class, a BFCL registry name using it)
HANDLERS = {
    "qwen2": ("model_handler.local_inference.qwen_fc", "QwenFCHandler", "Qwen/Qwen2.5-7B-Instruct-FC"),
    "qwen3": ("model_handler.local_inference.qwen_fc", "QwenFCHandler", "Qwen/Qwen3-8B-FC"),
    "qwen3_moe": ("model_handler.local_inference.qwen_fc", "QwenFCHandler", "Qwen/Qwen3-30B-A3B-Instruct-2507-FC"),
}


def model_type_of(model, model_name: str | None) -> str | None:
    """The transformers model_type of a loaded model, else of the config at `model_name` (local folder)."""
    config = getattr(model, "config", None)
    if getattr(config, "model_type", None):
        return config.model_type
    if model_name:
        try:
            from transformers import AutoConfig

            return AutoConfig.from_pretrained(model_name, local_files_only=True).model_type
        except (OSError, ValueError):
            return None
    return None


def resolve_prompt(prompt: str, model_type: str | None) -> str:
    """"auto" -> "bfcl" for a model family BFCL has a (wired) handler for, else "served"."""
    if prompt not in PROMPT_CHOICES:
        raise ConfigError(f"prompt must be one of {', '.join(PROMPT_CHOICES)}, got {prompt!r}")
    if prompt == "auto":
        return "bfcl" if model_type in HANDLERS else "served"
    if prompt == "bfcl" and model_type not in HANDLERS:
        raise ConfigError(
            f"prompt: 'bfcl' needs a model family with a BFCL handler wired in fctrain "
            f"(model_type {', '.join(HANDLERS)}); this model's model_type is {model_type!r}. Use 'served'."
        )
    return prompt


@lru_cache(maxsize=8)
def _handler_class(model_type: str):
    from fctrain.eval.bfcl_imports import bfcl_module

    module, cls, _ = HANDLERS[model_type]
    return getattr(bfcl_module(module), cls)


def bfcl_handler(model_type: str):
    """A fresh instance of BFCL's handler for this model family (its OpenAI client is a never-used stand-in)."""
    registry = HANDLERS[model_type][2]
    return _handler_class(model_type)(registry.removesuffix("-FC"), 0.001, registry, True)


@lru_cache(maxsize=64)
def _dataset_entries(category: str) -> dict[str, dict]:
    from fctrain.eval.bfcl_imports import bfcl_module

    return {e["id"]: e for e in bfcl_module("utils").load_dataset_entry(category)}


def bfcl_entries(category: str) -> list[dict]:
    """BFCL's test entries of a category as its inference reads them (language hints added), in BFCL's
    order; copies (handlers modify them)."""
    return [copy.deepcopy(e) for e in _dataset_entries(category).values()]


def bfcl_entry(category: str, entry_id: str) -> dict:
    """One entry of `bfcl_entries` (a copy)."""
    return copy.deepcopy(_dataset_entries(category)[entry_id])


def first_turn_state(handler, entry: dict) -> dict:
    """BFCL's inference_data after the first turn's messages (the single-turn prompt's state)."""
    data = handler._pre_query_processing_prompting(entry)
    return handler.add_first_turn_message_prompting(data, entry["question"][0])


def format_prompt(handler, data: dict) -> str:
    return handler._format_prompt(data["message"], data["function"])


def single_turn_prompt(handler, entry: dict) -> str:
    """The exact prompt BFCL's handler sends for a single-turn entry (or a multi-turn entry's first step)."""
    return format_prompt(handler, first_turn_state(handler, copy.deepcopy(entry)))


def api_response(text: str) -> types.SimpleNamespace:
    """What the handler's `_parse_query_response_prompting` reads from a completions response."""
    return types.SimpleNamespace(choices=[types.SimpleNamespace(text=text)],
                                 usage=types.SimpleNamespace(prompt_tokens=0, completion_tokens=0))


def cleaned_response(text: str) -> str:
    """BFCL's `model_responses` (Qwen handler): the text after the last `</think>`, leading newlines removed."""
    return text.split("</think>")[-1].lstrip("\n") if "</think>" in text else text


def decode_bfcl(handler, text: str) -> ParsedCompletion:
    """BFCL's decoding of a Qwen answer (its `_extract_tool_calls` on the cleaned response), never evaluating.

    ok=False (reason) where BFCL's decoder would raise: a block that is not an object with `name` (str) and
    `arguments` (an object, or a JSON string of one), or a block decoding to a string (BFCL would eval it).
    """
    answer = cleaned_response(text)
    calls = []
    for item in handler._extract_tool_calls(answer):
        if not isinstance(item, dict) or not isinstance(item.get("name"), str) or "arguments" not in item:
            return ParsedCompletion(ok=False, reason="bfcl_undecodable_call", content=answer)
        arguments = item["arguments"]
        if isinstance(arguments, str):  # convert_to_function_call json.loads string arguments
            try:
                arguments = json.loads(arguments)
            except ValueError:
                return ParsedCompletion(ok=False, reason="bfcl_undecodable_call", content=answer)
        if not isinstance(arguments, dict):
            return ParsedCompletion(ok=False, reason="bfcl_undecodable_call", content=answer)
        calls.append({"name": item["name"], "arguments": arguments})
    return ParsedCompletion(ok=True, content=answer, tool_calls=calls)
