"""The tiny offline tokenizer and random models behind the `tiny-qwen3` and `tiny-llama` aliases (no hub, no
network): smoke recipes name them as models, and tests build them through fctrain.testing.

`tiny_tokenizer()` is a byte-level BPE (Qwen/GPT-2 style) trained deterministically on a small built-in corpus
of tool-calling chat text, with ChatML special tokens and fctrain's chat template. It is cached on disk (keyed
by a hash of everything that defines it), so repeated calls, processes and test sessions reuse one build.
`tiny_model()` builds a randomly initialised Qwen3 or Llama of a few hundred thousand parameters.
"""

from __future__ import annotations

import functools
import hashlib
import json
import os
import shutil
import tempfile
from pathlib import Path

import torch

# Bump when the corpus, vocab size or token lists change: it is part of the cache key.
_TOKENIZER_VERSION = 1
TINY_VOCAB_SIZE = 1024

# ChatML specials (never split, skipped by decode(skip_special_tokens=True)).
SPECIAL_TOKENS = ["<|endoftext|>", "<|im_start|>", "<|im_end|>", "<|pad|>"]
# Markup kept as single, non-special tokens, as in Qwen3's vocabulary: decode keeps them, parsers see them.
MARKUP_TOKENS = ["<think>", "</think>", "<tool_call>", "</tool_call>", "<tool_response>", "</tool_response>"]

TINY_ARCHS = ("qwen3", "llama")


def cache_root() -> Path:
    """fctrain's cache folder: $FCTRAIN_CACHE, else ~/.cache/fctrain."""
    return Path(os.environ.get("FCTRAIN_CACHE") or Path.home() / ".cache" / "fctrain")


def atomic_write_dir(final: Path, build) -> Path:
    """Run build(tmp_dir) and rename the result to `final`, so readers never see a half-written folder.

    Two processes racing both build; the loser's rename fails and its copy is dropped.
    """
    if final.exists():
        return final
    final.parent.mkdir(parents=True, exist_ok=True)
    tmp = Path(tempfile.mkdtemp(prefix=f".{final.name}-", dir=final.parent))
    try:
        build(tmp)
        try:
            os.rename(tmp, final)
        except OSError:
            if not final.exists():
                raise
    finally:
        if tmp.exists():
            shutil.rmtree(tmp, ignore_errors=True)
    return final


# ----------------------------------------------------------------------------------------------- corpus


def _corpus() -> list[str]:
    """A deterministic few-hundred-KB corpus of tool-calling chat text (what the tiny models will read)."""
    words = (
        "the a an of to in for on with by from at is are was be can will please what how when where which "
        "weather city temperature forecast today tomorrow search find get set create update delete list book "
        "flight hotel restaurant price stock currency convert amount date time user email message send number "
        "calculate sum average distance route movie music song news sports score team player recipe order "
        "status account balance transfer language translate text query result results name value id count "
        "limit page sort filter true false null yes no thanks sure here is the answer I will call function "
        "tool tools arguments parameters description required type string integer number boolean object array "
        "properties enum default optional units celsius fahrenheit km miles USD EUR GBP JPY"
    ).split()
    cities = ["Paris", "London", "Tokyo", "Berlin", "Madrid", "Rome", "Cairo", "Lima", "Oslo", "Seoul", "Zürich"]
    funcs = ["get_weather", "search_flights", "convert_currency", "calculate_sum", "get_stock_price",
             "send_email", "book_hotel", "translate_text", "find_restaurants", "get_news"]
    docs: list[str] = []
    # Integer LCG: the same text on every platform and Python version (no dependency on `random`).
    state = 12345

    def rnd(n: int) -> int:
        nonlocal state
        state = (1103515245 * state + 12345) % (2**31)
        return state % n

    for i in range(600):
        f = funcs[rnd(len(funcs))]
        city = cities[rnd(len(cities))]
        sentence = " ".join(words[rnd(len(words))] for _ in range(8 + rnd(12)))
        args = {"city": city, "limit": rnd(100), "units": ["celsius", "fahrenheit"][rnd(2)]}
        tool = {"type": "function", "function": {
            "name": f, "description": sentence.capitalize() + ".",
            "parameters": {"type": "object", "properties": {"city": {"type": "string"}, "limit": {"type": "integer"}},
                           "required": ["city"]}}}
        call = json.dumps({"name": f, "arguments": args}, ensure_ascii=False)
        docs.append(
            "<|im_start|>system\n# Tools\n\nYou may call one or more functions to assist with the user query.\n\n"
            "You are provided with function signatures within <tools></tools> XML tags:\n<tools>\n"
            + json.dumps(tool, ensure_ascii=False)
            + "\n</tools><|im_end|>\n<|im_start|>user\n"
            + f"What is the {words[rnd(len(words))]} in {city}? {sentence}?<|im_end|>\n"
            + "<|im_start|>assistant\n<think>\n" + sentence + "\n</think>\n\n"
            + f"<tool_call>\n{call}\n</tool_call><|im_end|>\n"
            + f"<|im_start|>user\n<tool_response>\n{{\"result\": {rnd(1000) / 10}, \"id\": {i}}}\n</tool_response><|im_end|>\n"
            + f"<|im_start|>assistant\nThe {words[rnd(len(words))]} in {city} is {rnd(40)} degrees.<|im_end|>\n"
        )
    return docs


def _build_tokenizer_files(out: Path) -> None:
    from tokenizers import Tokenizer, decoders, models, pre_tokenizers, processors, trainers
    from transformers import PreTrainedTokenizerFast

    from fctrain.render.template import load_template_text

    tok = Tokenizer(models.BPE())
    tok.pre_tokenizer = pre_tokenizers.ByteLevel(add_prefix_space=False)
    tok.decoder = decoders.ByteLevel()
    # trim_offsets=False: offsets must point at the exact characters, the assistant mask is built from them.
    tok.post_processor = processors.ByteLevel(trim_offsets=False)
    trainer = trainers.BpeTrainer(
        vocab_size=TINY_VOCAB_SIZE,
        special_tokens=SPECIAL_TOKENS,
        initial_alphabet=pre_tokenizers.ByteLevel.alphabet(),
        show_progress=False,
    )
    tok.train_from_iterator(_corpus(), trainer=trainer)
    fast = PreTrainedTokenizerFast(
        tokenizer_object=tok,
        eos_token="<|im_end|>",
        pad_token="<|pad|>",
        unk_token=None,
        bos_token=None,
        additional_special_tokens=["<|endoftext|>", "<|im_start|>"],
        clean_up_tokenization_spaces=False,
        model_max_length=4096,
    )
    from tokenizers import AddedToken

    fast.add_tokens([AddedToken(t, special=False, normalized=False) for t in MARKUP_TOKENS])
    fast.chat_template = load_template_text("qwen3")
    fast.save_pretrained(out)


def _tokenizer_key() -> str:
    from fctrain.render.template import load_template_text

    blob = json.dumps([_TOKENIZER_VERSION, TINY_VOCAB_SIZE, SPECIAL_TOKENS, MARKUP_TOKENS, _corpus(),
                       load_template_text("qwen3")])
    return hashlib.sha256(blob.encode()).hexdigest()[:16]


@functools.lru_cache(maxsize=1)
def tiny_tokenizer_path() -> Path:
    """Folder holding the tiny tokenizer (built once, then reused from the cache)."""
    return atomic_write_dir(cache_root() / f"tiny-tokenizer-{_tokenizer_key()}", _build_tokenizer_files)


def tiny_tokenizer():
    """A fresh PreTrainedTokenizerFast (~1k byte-level BPE) with ChatML specials and fctrain's qwen3 template.

    eos = <|im_end|> (end of an assistant turn), pad = <|pad|>. Each call returns a new object, so callers may
    mutate it (add tokens, change the template) without affecting others.
    """
    from transformers import AutoTokenizer

    return AutoTokenizer.from_pretrained(tiny_tokenizer_path())


# ----------------------------------------------------------------------------------------------- models


def tiny_config(arch: str = "qwen3", *, vocab_size: int | None = None, hidden_size: int = 64, num_layers: int = 2,
                num_heads: int = 4, num_kv_heads: int = 2, intermediate_size: int = 128,
                max_position_embeddings: int = 4096):
    """A Qwen3Config or LlamaConfig of toy size whose special ids match `tiny_tokenizer()`."""
    from transformers import LlamaConfig, Qwen3Config

    if arch not in TINY_ARCHS:
        from fctrain.errors import ConfigError

        raise ConfigError(f"tiny model arch must be one of {TINY_ARCHS}, got {arch!r}")
    tok = tiny_tokenizer()
    common = dict(
        vocab_size=vocab_size or len(tok),
        hidden_size=hidden_size,
        intermediate_size=intermediate_size,
        num_hidden_layers=num_layers,
        num_attention_heads=num_heads,
        num_key_value_heads=num_kv_heads,
        head_dim=hidden_size // num_heads,
        max_position_embeddings=max_position_embeddings,
        tie_word_embeddings=True,
        eos_token_id=tok.eos_token_id,
        pad_token_id=tok.pad_token_id,
        bos_token_id=None,
    )
    return (Qwen3Config if arch == "qwen3" else LlamaConfig)(**common)


def tiny_model(arch: str = "qwen3", *, vocab_size: int | None = None, seed: int = 0, hidden_size: int = 64,
               num_layers: int = 2, num_heads: int = 4, num_kv_heads: int = 2, intermediate_size: int = 128,
               dtype: torch.dtype = torch.float32, attn_implementation: str = "sdpa"):
    """A randomly initialised causal LM (same seed -> same weights) sized for fast CPU tests."""
    from transformers import AutoModelForCausalLM

    config = tiny_config(arch, vocab_size=vocab_size, hidden_size=hidden_size, num_layers=num_layers,
                         num_heads=num_heads, num_kv_heads=num_kv_heads, intermediate_size=intermediate_size)
    # fork_rng: seeding must not disturb the caller's global RNG stream.
    with torch.random.fork_rng(devices=[]):
        torch.manual_seed(seed)
        model = AutoModelForCausalLM.from_config(config, dtype=dtype, attn_implementation=attn_implementation)
    model.generation_config.eos_token_id = config.eos_token_id
    model.generation_config.pad_token_id = config.pad_token_id
    model.generation_config.bos_token_id = None
    return model


def save_tiny_model(path: str | os.PathLike, arch: str = "qwen3", *, seed: int = 0, **model_kwargs) -> Path:
    """Write a tiny model and its tokenizer to `path` (loadable with from_pretrained or a recipe's model path)."""
    path = Path(path)
    path.mkdir(parents=True, exist_ok=True)
    tiny_model(arch, seed=seed, **model_kwargs).save_pretrained(path)
    tiny_tokenizer().save_pretrained(path)
    return path
