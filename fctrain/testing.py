"""Test helpers: the tiny offline models (built in fctrain.models.tiny, re-exported here for tests) and a few
canonical samples covering the rendering cases. Library code never imports this module."""

from __future__ import annotations

from fctrain.models.tiny import (  # noqa: F401  (re-exported for tests and scripts)
    MARKUP_TOKENS,
    SPECIAL_TOKENS,
    TINY_ARCHS,
    TINY_VOCAB_SIZE,
    atomic_write_dir,
    cache_root,
    save_tiny_model,
    tiny_config,
    tiny_model,
    tiny_tokenizer,
    tiny_tokenizer_path,
)

# ----------------------------------------------------------------------------------------------- samples

_WEATHER_TOOL = {
    "name": "get_weather",
    "description": "Current weather for a city.",
    "parameters": {"type": "object", "properties": {"city": {"type": "string"},
                                                    "units": {"type": "string", "enum": ["celsius", "fahrenheit"]}},
                   "required": ["city"]},
}
_NEWS_TOOL = {
    "name": "get_news",
    "description": "Top headlines on a topic.",
    "parameters": {"type": "object", "properties": {"topic": {"type": "string"}, "limit": {"type": "integer"}},
                   "required": ["topic"]},
}


def canonical_samples() -> list[dict]:
    """A few canonical samples (docs/contracts.md) covering the rendering cases: one call, parallel calls,
    a multi-turn exchange with tool results and a final answer, reasoning, unicode, a system prompt, and a
    plain chat without tools. A fresh deep copy on every call."""
    return [
        {"id": "single-call", "tools": [_WEATHER_TOOL], "messages": [
            {"role": "user", "content": "What is the weather in Paris?"},
            {"role": "assistant", "content": None, "tool_calls": [
                {"name": "get_weather", "arguments": {"city": "Paris"}}]},
        ]},
        {"id": "parallel-unicode", "tools": [_WEATHER_TOOL, _NEWS_TOOL], "messages": [
            {"role": "system", "content": "You are a concise assistant."},
            {"role": "user", "content": "Wetter in Zürich und Nachrichten über Käse? 天気も"},
            {"role": "assistant", "content": "", "tool_calls": [
                {"name": "get_weather", "arguments": {"city": "Zürich", "units": "celsius"}},
                {"name": "get_news", "arguments": {"topic": "Käse 🧀", "limit": 3}}]},
        ]},
        {"id": "multi-turn", "tools": [_WEATHER_TOOL], "messages": [
            {"role": "user", "content": "Is it warm in Lima?"},
            {"role": "assistant", "content": "Let me check.", "tool_calls": [
                {"name": "get_weather", "arguments": {"city": "Lima"}}],
             "reasoning_content": "The user wants the weather in Lima; call get_weather."},
            {"role": "tool", "name": "get_weather", "content": "{\"temp_c\": 24, \"sky\": \"clear\"}"},
            {"role": "assistant", "content": "Yes: 24 °C and clear skies in Lima.",
             "reasoning_content": "24 °C is warm."},
            {"role": "user", "content": "And in Oslo?"},
            {"role": "assistant", "content": None, "tool_calls": [
                {"name": "get_weather", "arguments": {"city": "Oslo"}}]},
        ]},
        {"id": "no-tools-chat", "tools": [], "messages": [
            {"role": "user", "content": "Say hi."},
            {"role": "assistant", "content": " Hi! "},
        ]},
    ]
