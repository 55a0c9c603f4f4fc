"""Choose dtype and attention implementation from what the machine can actually do.

Policy (documented in the recipe reference):
- dtype "auto": bfloat16 on a CUDA GPU that supports it, else float32 (fp16 weights break AMP training).
- An explicit bfloat16/float16 request on CPU is honoured with a warning (it works, but slowly and with
  lower precision); nothing is silently changed.
- cpu_bf16 (opt-in): on CPU, bf16 autocast over fp32 weights, for training (Trainer's bf16 flag) and for
  generation (`inference_autocast`). It is a speed option: exact reruns stay exact, but numbers differ
  slightly from fp32.
- attn "auto": flash_attention_2 when flash_attn imports, CUDA is present and the dtype is 16-bit; else sdpa.
- An explicit flash_attention_2 request that cannot work (no CUDA, no flash_attn, or float32) raises
  ConfigError, since transformers would fail later with a less helpful message.
"""

from __future__ import annotations

import contextlib
import importlib.util
import warnings

import torch

from fctrain.errors import ConfigError

DTYPES = {"float32": torch.float32, "bfloat16": torch.bfloat16, "float16": torch.float16,
          "fp32": torch.float32, "bf16": torch.bfloat16, "fp16": torch.float16}
ATTN_IMPLEMENTATIONS = ("auto", "sdpa", "eager", "flash_attention_2")


def vllm_available() -> bool:
    """vLLM can generate here: the package is installed and a CUDA GPU is visible (the one check of it)."""
    return importlib.util.find_spec("vllm") is not None and torch.cuda.is_available()


def cuda_wanted(device: str | None) -> bool:
    """Whether the model will run on CUDA: device names it, or device is None/"auto" and CUDA is present."""
    if device in (None, "auto"):
        return torch.cuda.is_available()
    return str(device).startswith("cuda")


def pick_dtype(dtype: str | torch.dtype = "auto", *, on_cuda: bool) -> torch.dtype:
    if isinstance(dtype, torch.dtype):
        chosen = dtype
    elif dtype == "auto":
        return torch.bfloat16 if on_cuda and torch.cuda.is_bf16_supported() else torch.float32
    elif dtype in DTYPES:
        chosen = DTYPES[dtype]
    else:
        raise ConfigError(f"model.dtype: expected one of auto, {', '.join(DTYPES)}; got {dtype!r}")
    if chosen in (torch.bfloat16, torch.float16) and not on_cuda:
        warnings.warn(
            f"model.dtype={dtype}: running in {chosen} on CPU as requested; this is slow and less precise than "
            "float32 (use dtype=auto for float32 on CPU)",
            stacklevel=3,
        )
    return chosen


def flash_attn_available() -> bool:
    return importlib.util.find_spec("flash_attn") is not None


def pick_attn_implementation(attn: str = "auto", *, on_cuda: bool, dtype: torch.dtype) -> str:
    if attn not in ATTN_IMPLEMENTATIONS:
        raise ConfigError(f"model.attn_implementation: expected one of {ATTN_IMPLEMENTATIONS}, got {attn!r}")
    half = dtype in (torch.bfloat16, torch.float16)
    if attn == "auto":
        return "flash_attention_2" if on_cuda and half and flash_attn_available() else "sdpa"
    if attn == "flash_attention_2":
        missing = [why for ok, why in ((on_cuda, "a CUDA device"), (flash_attn_available(), "the flash-attn package "
                   "(pip install 'fctrain[gpu]')"), (half, "dtype bfloat16 or float16")) if not ok]
        if missing:
            raise ConfigError(f"model.attn_implementation=flash_attention_2 needs {', '.join(missing)}; "
                              "use attn_implementation=auto (sdpa) instead")
    return attn


def cpu_native_bf16() -> bool:
    """Whether this CPU computes bf16 matmuls natively (oneDNN: AVX512-BF16 or AMX)."""
    try:
        return bool(torch.backends.mkldnn.is_available() and torch.ops.mkldnn._is_mkldnn_bf16_supported())
    except (AttributeError, RuntimeError):
        return False


def cpu_bf16_wanted(model_cfg) -> bool:
    """The recipe's `model.cpu_bf16`, with a warning where the CPU would only emulate bf16."""
    if not getattr(model_cfg, "cpu_bf16", False):
        return False
    if not cpu_native_bf16():
        warnings.warn("model.cpu_bf16: this CPU has no native bf16 (AVX512-BF16/AMX); autocast will be slower "
                      "than fp32 here", stacklevel=2)
    return True


@contextlib.contextmanager
def inference_autocast(model_cfg, model):
    """A context for generation and teacher passes: CPU bf16 autocast when the recipe asks for it."""
    on_cpu = next(model.parameters()).device.type == "cpu"
    if not (on_cpu and cpu_bf16_wanted(model_cfg)):
        yield
        return
    with torch.autocast("cpu", dtype=torch.bfloat16), bf16_linear_weights(model):
        yield


@contextlib.contextmanager
def bf16_linear_weights(model):
    """Every nn.Linear computes from a bf16 copy of its weight, made once, for the duration of the context.

    Autocast casts a weight to bf16 at every call and caches the cast only for weights that require grad, so
    a frozen model in generation re-casts all its weights at every new token. The copies are exactly the
    casts autocast would make (the same rounding), so results do not change by a bit. A tied lm_head gets its
    own copy while the input embedding keeps fp32; the original parameters are put back on exit.
    """
    originals = [(m, m.weight) for m in model.modules()
                 if isinstance(m, torch.nn.Linear) and m.weight.dtype == torch.float32]
    try:
        with torch.no_grad():
            for module, weight in originals:
                module.weight = torch.nn.Parameter(weight.to(torch.bfloat16), requires_grad=False)
        yield
    finally:
        for module, weight in originals:
            module.weight = weight
