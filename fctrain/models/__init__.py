"""Model loading: local folders, hub ids, the embedded SmolLM2 GGUF and tiny test models."""

from fctrain.models.aliases import (
    ALIASES,
    SMOLLM2_ALIAS,
    gguf_to_safetensors,
    resolve_alias,
    smollm2_gguf_path,
)
from fctrain.models.device import pick_attn_implementation, pick_dtype
from fctrain.models.load import ensure_pad_token, ensure_tool_template, load_model_and_tokenizer

__all__ = [
    "ALIASES",
    "SMOLLM2_ALIAS",
    "ensure_pad_token",
    "ensure_tool_template",
    "gguf_to_safetensors",
    "load_model_and_tokenizer",
    "pick_attn_implementation",
    "pick_dtype",
    "resolve_alias",
    "smollm2_gguf_path",
]
