"""Conversations and tokenizers for the per-family tests (tests/render/test_families.py).

Each family gets the tiny byte-level BPE with its control tokens added as special tokens, as a real
checkpoint of that family has them; the official template is read straight from TRL's files.
"""

from __future__ import annotations

import functools
from pathlib import Path

FAMILY_SPECIALS = {
    "qwen3": [],
    "qwen2_5": [],
    "llama3_2": ["<|begin_of_text|>", "<|start_header_id|>", "<|end_header_id|>", "<|eot_id|>", "<|eom_id|>",
                 "<|python_tag|>"],
    "gemma4": ["<bos>", "<|turn>", "<turn|>", "<|tool>", "<tool|>", "<|tool_call>", "<tool_call|>",
               "<|tool_response>", "<tool_response|>", "<|channel>", "<channel|>", '<|"|>'],
}
FAMILY_BOS = {"llama3_2": "<|begin_of_text|>", "gemma4": "<bos>"}


@functools.cache
def official_text(stem: str) -> str:
    import trl

    return (Path(trl.__file__).parent / "chat_templates" / f"{stem}.jinja").read_text(encoding="utf-8")


def family_tokenizer(family: str):
    from fctrain.models.tiny import tiny_tokenizer

    tok = tiny_tokenizer()
    if FAMILY_SPECIALS[family]:
        tok.add_special_tokens({"additional_special_tokens": FAMILY_SPECIALS[family]})
    if family in FAMILY_BOS:
        tok.bos_token = FAMILY_BOS[family]
    tok.chat_template = official_text(family)
    return tok


WEATHER = {"name": "get_weather", "description": "Current weather of a city.",
           "parameters": {"type": "object", "properties": {"city": {"type": "string"},
                                                           "days": {"type": "integer"}}, "required": ["city"]}}
NEWS = {"name": "get_news", "description": "Headlines on a topic.",
        "parameters": {"type": "object", "properties": {"topic": {"type": "string"}}, "required": ["topic"]}}


def call(name: str, **arguments) -> dict:
    return {"name": name, "arguments": arguments}


def conversations(family: str, think: bool) -> list[dict]:
    """Single-turn call, parallel calls, a text reply, and a multi-turn conversation with tool responses,
    a text reply between calls and reasoning (where the family's format has them)."""
    parallel = family != "llama3_2"  # Llama 3.2 renders one call per turn (its template refuses more)
    reason = (lambda text: text) if think else (lambda text: None)
    second = [call("get_weather", city="Oslo", days=2), call("get_news", topic="Käse 🧀")] if parallel else \
        [call("get_weather", city="Oslo", days=2)]
    tools = [WEATHER, NEWS]
    return [
        {"id": "single", "tools": tools, "messages": [
            {"role": "user", "content": "Weather in Lima?"},
            {"role": "assistant", "content": None, "reasoning_content": reason("Call get_weather for Lima."),
             "tool_calls": [call("get_weather", city="Lima")]}]},
        {"id": "parallel" if parallel else "two-args", "tools": tools, "messages": [
            {"role": "system", "content": "Be brief."},
            {"role": "user", "content": "Oslo for two days, and cheese news."},
            {"role": "assistant", "content": None, "tool_calls": second}]},
        {"id": "text-reply", "tools": tools, "messages": [
            {"role": "user", "content": "Tell me a joke."},
            {"role": "assistant", "content": "None of the tools tells jokes.",
             "reasoning_content": reason("No tool fits.")}]},
        {"id": "multi-turn", "tools": tools, "messages": [
            {"role": "user", "content": "Weather in Lima?"},
            {"role": "assistant", "content": None, "reasoning_content": reason("Need the weather."),
             "tool_calls": [call("get_weather", city="Lima")]},
            {"role": "tool", "name": "get_weather", "content": '{"temp_c": 24, "sky": "clear"}'},
            {"role": "assistant", "content": "24 °C and clear in Lima."},
            {"role": "user", "content": "And Oslo, plus cheese news?"},
            {"role": "assistant", "content": None, "reasoning_content": reason("Two lookups."),
             "tool_calls": second},
            *[{"role": "tool", "name": c["name"], "content": "ok"} for c in second],
            {"role": "assistant", "content": "Done: Oslo is cold.", "reasoning_content": None}]},
    ]
