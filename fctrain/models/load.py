"""load_model_and_tokenizer: a causal LM and its tokenizer, ready for fctrain's tool-calling templates."""

from __future__ import annotations

import logging
from pathlib import Path
from typing import Any

import torch

from fctrain.errors import ConfigError
from fctrain.models.aliases import ALIASES, TINY_ALIASES, gguf_to_safetensors, resolve_alias
from fctrain.models.device import cuda_wanted, pick_attn_implementation, pick_dtype
from fctrain.render.template import (
    REPLACED_TEMPLATE_ATTR,
    handles_tools,
    load_template_text,
    model_chat_template,
)

log = logging.getLogger(__name__)

CHAT_SPECIAL_TOKENS = ("<|im_start|>", "<|im_end|>")


def _options(model: Any, overrides: dict) -> dict:
    """Accept a name/path string or a ModelConfig-like object (attributes name_or_path, dtype, ...)."""
    keys = ("dtype", "attn_implementation", "trust_remote_code", "gguf_file", "revision", "quantization")
    if isinstance(model, (str, Path)):
        opts = {"name_or_path": str(model)}
    else:
        opts = {"name_or_path": str(model.name_or_path), **{k: getattr(model, k) for k in keys if hasattr(model, k)}}
    opts.update({k: v for k, v in overrides.items() if v is not None})
    return opts


def ensure_tool_template(tokenizer, model=None) -> bool:
    """Give the tokenizer fctrain's qwen3 template when its own does not handle tools. Returns True if changed.

    The ChatML tokens it needs are added as special tokens when missing (and the model's embeddings resized),
    and <|im_end|> becomes an end-of-generation token. The tokenizer is marked, so that template.name=model
    refuses it rather than rendering with qwen3 under the model's name.
    """
    if handles_tools(model_chat_template(tokenizer)):
        return False
    vocab = tokenizer.get_vocab()
    missing = [t for t in CHAT_SPECIAL_TOKENS if t not in vocab]
    if missing:
        tokenizer.add_special_tokens({"additional_special_tokens": missing})
        if model is not None:
            model.resize_token_embeddings(len(tokenizer))
    tokenizer.chat_template = load_template_text("qwen3")
    setattr(tokenizer, REPLACED_TEMPLATE_ATTR, True)
    if model is not None:
        im_end = tokenizer.convert_tokens_to_ids("<|im_end|>")
        eos = model.generation_config.eos_token_id
        eos = [] if eos is None else [eos] if isinstance(eos, int) else list(eos)
        if im_end not in eos:
            model.generation_config.eos_token_id = [*eos, im_end]
    return True


def ensure_pad_token(tokenizer, model=None) -> None:
    """A pad token distinct from the end-of-turn token when the vocabulary has one (<|endoftext|>), else eos.

    Padding with <|im_end|> is harmless for the loss (labels of padding are -100) but confuses code that
    locates the end of an answer by searching for eos, so a distinct pad is preferred.
    """
    vocab = tokenizer.get_vocab()
    if tokenizer.pad_token is None or tokenizer.pad_token == tokenizer.eos_token:
        for candidate in ("<|pad|>", "<|endoftext|>"):
            if candidate in vocab and candidate != tokenizer.eos_token:
                tokenizer.pad_token = candidate
                break
        else:
            if tokenizer.pad_token is None:
                tokenizer.pad_token = tokenizer.eos_token
    if model is not None:
        model.config.pad_token_id = tokenizer.pad_token_id
        model.generation_config.pad_token_id = tokenizer.pad_token_id


def load_model_and_tokenizer(model: Any, *, dtype: str | torch.dtype | None = None,
                             attn_implementation: str | None = None, trust_remote_code: bool | None = None,
                             device: str | None = None, gguf_file: str | None = None, revision: str | None = None,
                             quantization: str | None = None, for_training: bool = True):
    """(model, tokenizer) from a local folder, a hub id, or an alias: smollm2-135m-instruct, tiny-qwen3,
    tiny-llama. `model` may also be a ModelConfig (keyword arguments override its fields).

    dtype/attn_implementation default to "auto" (see fctrain.models.device for the policy). device: None
    leaves the model on CPU (trainers move it), "auto" = cuda when available, or an explicit device.
    trust_remote_code is passed to transformers only when true. quantization="4bit" loads NF4 weights with
    bitsandbytes (QLoRA; on the GPU when CUDA is present, else on the CPU, which bitsandbytes >= 0.45 supports). for_training=False puts the model in eval
    mode with gradients off (teachers, reference models, evaluation).
    """
    opts = _options(model, dict(dtype=dtype, attn_implementation=attn_implementation,
                                trust_remote_code=trust_remote_code, gguf_file=gguf_file, revision=revision,
                                quantization=quantization))
    name = opts["name_or_path"]
    on_cuda = cuda_wanted(device)
    if device not in (None, "auto") and on_cuda and not torch.cuda.is_available():
        raise ConfigError(f"device={device!r} but CUDA is not available on this machine")
    torch_dtype = pick_dtype(opts.get("dtype") or "auto", on_cuda=on_cuda)
    attn = pick_attn_implementation(opts.get("attn_implementation") or "auto", on_cuda=on_cuda, dtype=torch_dtype)
    quantization = opts.get("quantization") or "none"
    quant_config = None if quantization == "none" else _bnb_4bit_config(quantization, torch_dtype)

    if name.lower() in TINY_ALIASES and quant_config is not None:
        # bitsandbytes quantises while loading from files: write the (deterministic) tiny model out once.
        lm, tok = _from_pretrained(str(_tiny_folder(TINY_ALIASES[name.lower()])), opts, torch_dtype, attn, quant_config)
    elif name.lower() in TINY_ALIASES:
        from fctrain.models.tiny import tiny_model, tiny_tokenizer

        lm, tok = tiny_model(TINY_ALIASES[name.lower()], dtype=torch_dtype, attn_implementation=attn), tiny_tokenizer()
    else:
        lm, tok = _from_pretrained(name, opts, torch_dtype, attn, quant_config)
    ensure_tool_template(tok, lm)
    ensure_pad_token(tok, lm)
    if device is not None and quant_config is None:
        lm.to("cuda" if device == "auto" and on_cuda else "cpu" if device == "auto" else device)
    if not for_training:
        lm.eval().requires_grad_(False)
    log.info("loaded %s (%s, attn=%s, %.1fM params)", name, torch_dtype, attn, lm.num_parameters() / 1e6)
    return lm, tok


def _bnb_4bit_config(quantization: str, compute_dtype: torch.dtype):
    """QLoRA's NF4 + double quantisation. bitsandbytes runs 4-bit layers on CUDA and (>= 0.45) on the CPU."""
    import importlib.util

    if quantization != "4bit":
        raise ConfigError(f"model.quantization: expected none or 4bit, got {quantization!r}")
    if importlib.util.find_spec("bitsandbytes") is None:
        raise ConfigError("model.quantization=4bit needs bitsandbytes (pip install 'fctrain[qlora]'); "
                          "use quantization=none")
    from transformers import BitsAndBytesConfig

    return BitsAndBytesConfig(load_in_4bit=True, bnb_4bit_quant_type="nf4", bnb_4bit_use_double_quant=True,
                              bnb_4bit_compute_dtype=compute_dtype)


def _tiny_folder(arch: str):
    """The tiny random model (seed 0, as `tiny_model` builds it) and its tokenizer, saved once in the cache."""
    import hashlib

    import transformers

    from fctrain.models.tiny import atomic_write_dir, cache_root, save_tiny_model, tiny_config

    key = hashlib.sha256((tiny_config(arch).to_json_string() + transformers.__version__).encode()).hexdigest()[:12]
    return atomic_write_dir(cache_root() / f"tiny-{arch}-{key}", lambda out: save_tiny_model(out, arch))


def _loadable_path(name: str, opts: dict) -> str:
    """What from_pretrained gets for `name`: an alias's folder, a GGUF's cached conversion, a path or hub id."""
    path = resolve_alias(name)
    if path.startswith(("/", "./", "../", "~")) and not Path(path).expanduser().is_dir():
        raise ConfigError(f"model.name_or_path={name!r}: no such local folder")
    path = str(Path(path).expanduser()) if path.startswith("~") else path
    if opts.get("gguf_file"):
        if not Path(path).is_dir():
            raise ConfigError(f"model.gguf_file is set, so model.name_or_path must be a local folder; got {name!r}")
        path = str(gguf_to_safetensors(path, opts["gguf_file"]))
    return path


def _hub_kwargs(opts: dict) -> dict[str, Any]:
    kwargs: dict[str, Any] = {}
    if opts.get("trust_remote_code"):
        kwargs["trust_remote_code"] = True
    if opts.get("revision"):
        kwargs["revision"] = opts["revision"]
    return kwargs


def _not_loadable(name: str, e: Exception) -> ConfigError:
    return ConfigError(f"model.name_or_path={name!r} is not a local model folder, a reachable hub id, or an alias "
                       f"({', '.join(ALIASES)}): {e}")


def load_tokenizer(model: Any):
    """The tokenizer of a name/path/alias or ModelConfig as it ships, before fctrain installs its tool template:
    for checks that should not load weights (the pipeline's template.name=model check)."""
    opts = _options(model, {})
    name = opts["name_or_path"]
    if name.lower() in TINY_ALIASES:
        from fctrain.models.tiny import tiny_tokenizer

        return tiny_tokenizer()
    from transformers import AutoTokenizer

    try:
        return AutoTokenizer.from_pretrained(_loadable_path(name, opts), **_hub_kwargs(opts))
    except (OSError, ValueError) as e:
        raise _not_loadable(name, e) from e


def _from_pretrained(name: str, opts: dict, torch_dtype: torch.dtype, attn: str, quant_config=None):
    from transformers import AutoModelForCausalLM, AutoTokenizer

    path = _loadable_path(name, opts)
    kwargs = _hub_kwargs(opts)
    if quant_config is not None:
        # bitsandbytes weights are placed while loading and cannot be moved with .to() afterwards.
        where = torch.cuda.current_device() if torch.cuda.is_available() else "cpu"
        model_kwargs = {**kwargs, "quantization_config": quant_config, "device_map": {"": where}}
    else:
        model_kwargs = kwargs
    try:
        tok = AutoTokenizer.from_pretrained(path, **kwargs)
        lm = AutoModelForCausalLM.from_pretrained(path, dtype=torch_dtype, attn_implementation=attn, **model_kwargs)
    except (OSError, ValueError) as e:
        raise _not_loadable(name, e) from e
    return lm, tok
