"""`fctrain export RUN_DIR --merge`: the run's final model as a plain Hugging Face checkpoint.

A LoRA/QLoRA run saves adapters (adapter_config.json); --merge folds them into the base weights with PEFT's
merge_and_unload so the result loads with AutoModelForCausalLM alone. The base is loaded in full precision
for the merge, also after QLoRA: the adapters were trained against the NF4-rounded base, and adding them to
the unrounded weights is QLoRA's own export (merging into NF4 weights would round the update away). A model
saved in 4-bit is dequantised. The export is written to a temporary folder and renamed.
"""

from __future__ import annotations

import json
import os
import shutil
from pathlib import Path

from fctrain.errors import FctrainError


def final_model_path(run_dir: Path) -> Path:
    summary = run_dir / "summary.json"
    if not summary.exists():
        raise FctrainError(f"{run_dir}: no summary.json (is this a fctrain run directory?)")
    paths = [s["model_path"] for s in json.loads(summary.read_text())["stages"] if s.get("model_path")]
    if not paths:
        raise FctrainError(f"{summary}: no stage produced a model")
    return Path(paths[-1])


def _plain(model):
    """Drop bitsandbytes quantisation (if any): a plain float checkpoint loads anywhere."""
    if getattr(model, "hf_quantizer", None) is not None or getattr(model.config, "quantization_config", None):
        model = model.dequantize()
    return model


def merged_adapter_model(adapter_dir: Path):
    """Base (full precision) + adapters from `adapter_dir`, merged into one plain transformers model."""
    import torch
    from peft import AutoPeftModelForCausalLM

    base = json.loads((adapter_dir / "adapter_config.json").read_text()).get("base_model_name_or_path")
    try:
        model = AutoPeftModelForCausalLM.from_pretrained(str(adapter_dir), dtype=torch.float32)
    except OSError as e:
        raise FctrainError(f"{adapter_dir}: cannot load the adapters' base model {base!r}: {e}") from e
    return _plain(model.merge_and_unload())


def export_run(run_dir: str, out: str | None = None, merge: bool = False) -> Path:
    from transformers import AutoModelForCausalLM, AutoTokenizer

    src = final_model_path(Path(run_dir))
    dst = Path(out) if out else Path(run_dir) / "export"
    tmp = dst.parent / f".{dst.name}.partial"
    shutil.rmtree(tmp, ignore_errors=True)
    is_adapter = (src / "adapter_config.json").exists()
    if is_adapter and not merge:
        shutil.copytree(src, tmp)
    else:
        model = merged_adapter_model(src) if is_adapter else _plain(AutoModelForCausalLM.from_pretrained(str(src)))
        model.save_pretrained(str(tmp))
        AutoTokenizer.from_pretrained(str(src)).save_pretrained(str(tmp))
    if dst.exists():
        shutil.rmtree(dst)
    os.replace(tmp, dst)
    print(f"exported {'merged ' if is_adapter and merge else ''}model to {dst}")
    return dst
