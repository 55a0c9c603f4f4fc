"""Rendering: canonical samples -> chat text, token ids and assistant loss masks (see docs/contracts.md)."""

from fctrain.render.chat import (
    Rendered,
    mask_runs,
    reference_of,
    render_chat,
    render_prompt,
    split_prompt_reference,
)
from fctrain.render.chat_format import ChatFormat, resolve_format
from fctrain.render.convert import assistant_text, to_chat_messages, to_chat_tools, tool_call_text
from fctrain.render.sft_rows import SftRows, build_sft_rows, sft_dataset
from fctrain.render.template import (
    BUILTIN_TEMPLATES,
    handles_tools,
    has_generation_markers,
    load_template_text,
)
from fctrain.render.turns import Turns, render_turns

__all__ = [
    "BUILTIN_TEMPLATES",
    "ChatFormat",
    "Rendered",
    "SftRows",
    "assistant_text",
    "build_sft_rows",
    "handles_tools",
    "has_generation_markers",
    "load_template_text",
    "mask_runs",
    "reference_of",
    "render_chat",
    "render_prompt",
    "render_turns",
    "resolve_format",
    "sft_dataset",
    "split_prompt_reference",
    "to_chat_messages",
    "to_chat_tools",
    "Turns",
    "tool_call_text",
]
