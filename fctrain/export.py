"""`fctrain export RUN_DIR --merge`: the run's final model as a plain Hugging Face checkpoint.

A LoRA/QLoRA run saves adapters (adapter_config.json); --merge folds them into the base weights with PEFT's
merge_and_unload so the result loads with AutoModelForCausalLM alone.
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


def export_run(run_dir: str, out: str | None = None, merge: bool = False) -> Path:
    import torch
    from transformers import AutoModelForCausalLM, AutoTokenizer

    src = final_model_path(Path(run_dir))
    dst = Path(out) if out else Path(run_dir) / "export"
    tmp = dst.parent / f".{dst.name}.partial"
    shutil.rmtree(tmp, ignore_errors=True)
    is_adapter = (src / "adapter_config.json").exists()
    if is_adapter and not merge:
        shutil.copytree(src, tmp)
    elif is_adapter:
        from peft import AutoPeftModelForCausalLM

        model = AutoPeftModelForCausalLM.from_pretrained(str(src), dtype=torch.float32)
        model = model.merge_and_unload()
        model.save_pretrained(str(tmp))
        AutoTokenizer.from_pretrained(str(src)).save_pretrained(str(tmp))
    else:
        AutoModelForCausalLM.from_pretrained(str(src)).save_pretrained(str(tmp))
        AutoTokenizer.from_pretrained(str(src)).save_pretrained(str(tmp))
    if dst.exists():
        shutil.rmtree(dst)
    os.replace(tmp, dst)
    print(f"exported {'merged ' if is_adapter and merge else ''}model to {dst}")
    return dst
