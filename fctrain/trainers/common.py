"""What every fctrain trainer shares: model loading from the recipe, TrainingArguments fields that come from
the recipe (device, precision, DeepSpeed, tracking, seed), a metrics.jsonl log, and the loss curve PNG."""

from __future__ import annotations

import json
import math
import os
from pathlib import Path
from typing import Any

import torch
from transformers import TrainerCallback

from fctrain.errors import FctrainError


def cuda_available() -> bool:
    return torch.cuda.is_available()


def load_for_stage(model_cfg, path: str | None = None, *, lora_allowed: bool = True):
    """Load (model, tokenizer) for a stage: `path` (an earlier stage's output) wins over the recipe's model."""
    from fctrain.models import load_model_and_tokenizer

    name = path or model_cfg.name_or_path
    model, tokenizer = load_model_and_tokenizer(
        name,
        dtype=model_cfg.dtype,
        attn_implementation=model_cfg.attn_implementation,
        trust_remote_code=model_cfg.trust_remote_code,
        gguf_file=None if path else model_cfg.gguf_file,
        revision=None if path else model_cfg.revision,
    )
    return model, tokenizer


def peft_config_of(model_cfg):
    """A PEFT LoraConfig from the recipe's `model.lora` section, or None for a full fine-tune."""
    if model_cfg.lora is None:
        return None
    from peft import LoraConfig

    lc = model_cfg.lora
    return LoraConfig(r=lc.r, lora_alpha=lc.alpha, lora_dropout=lc.dropout, target_modules=lc.target_modules,
                      task_type="CAUSAL_LM")


def report_to(tracking) -> list[str]:
    targets = []
    if tracking.tensorboard:
        targets.append("tensorboard")
    if tracking.wandb:
        if not os.environ.get("WANDB_API_KEY"):
            os.environ.setdefault("WANDB_MODE", "offline")  # no key: log locally, sync later with `wandb sync`
        targets.append("wandb")
    return targets


def precision_flags(model_cfg) -> dict[str, bool]:
    """bf16/fp16 autocast flags for TrainingArguments, honouring the recipe's dtype where the device can."""
    dtype = model_cfg.dtype
    on_gpu = cuda_available()
    if dtype == "auto":
        return {"bf16": on_gpu and torch.cuda.is_bf16_supported(), "fp16": False}
    if dtype in ("bfloat16", "float16") and not on_gpu:
        # Mixed precision autocast is a GPU feature; on CPU we train in the weights' dtype.
        return {"bf16": False, "fp16": False}
    return {"bf16": dtype == "bfloat16", "fp16": dtype == "float16"}


def common_training_args(ctx, stage_cfg, out_dir: Path) -> dict[str, Any]:
    """Fields of TrainingArguments (and TRL configs) that follow from the recipe, not the stage."""
    from fctrain.distributed.deepspeed_configs import resolve_deepspeed

    r = ctx.recipe
    os.environ["TENSORBOARD_LOGGING_DIR"] = str(ctx.stage_dir / "tensorboard")
    use_cpu = r.device == "cpu" or not cuda_available()
    if r.device == "cuda" and not cuda_available():
        raise FctrainError("recipe asks for device: cuda but no CUDA device is visible")
    args = {
        "output_dir": str(out_dir),
        "seed": ctx.seed,
        "data_seed": ctx.seed,
        "use_cpu": use_cpu,
        "report_to": report_to(r.tracking),
        "logging_steps": r.tracking.logging_steps,
        "save_strategy": "no",
        "disable_tqdm": False,
        "dataloader_num_workers": 0,
        **precision_flags(r.model),
    }
    if r.deepspeed:
        args["deepspeed"] = str(resolve_deepspeed(r.deepspeed))
    return args


class MetricsJsonl(TrainerCallback):
    """Append every logged metrics dict to `metrics.jsonl` (rank 0 only); `fctrain report` plots it."""

    def __init__(self, path: Path, stage: str):
        self.path, self.stage = Path(path), stage
        self.path.parent.mkdir(parents=True, exist_ok=True)

    def on_log(self, args, state, control, logs=None, **kwargs):
        if not state.is_world_process_zero or not logs:
            return
        row = {"stage": self.stage, "step": state.global_step, "epoch": state.epoch}
        row.update({k: v for k, v in logs.items() if isinstance(v, (int, float))})
        with self.path.open("a") as f:
            f.write(json.dumps(row) + "\n")


def read_metrics(path: Path) -> list[dict]:
    if not Path(path).exists():
        return []
    return [json.loads(line) for line in Path(path).read_text().splitlines() if line.strip()]


def loss_summary(rows: list[dict], key: str = "loss") -> dict[str, float]:
    values = [r[key] for r in rows if key in r and math.isfinite(r[key])]
    if not values:
        return {}
    k = max(1, len(values) // 5)  # mean of the first and last fifth: robust to one noisy step
    return {f"{key}_first": sum(values[:k]) / k, f"{key}_last": sum(values[-k:]) / k}


def plot_curve(rows: list[dict], keys: list[str], path: Path, title: str) -> Path | None:
    """A PNG of the given metrics against step (skipped when nothing was logged)."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    series = {k: [(r["step"], r[k]) for r in rows if k in r] for k in keys}
    series = {k: v for k, v in series.items() if v}
    if not series:
        return None
    fig, axes = plt.subplots(1, len(series), figsize=(5 * len(series), 3.5), squeeze=False)
    for ax, (k, pts) in zip(axes[0], series.items()):
        ax.plot([p[0] for p in pts], [p[1] for p in pts], marker="o", markersize=2)
        ax.set_xlabel("optimizer step")
        ax.set_ylabel(k)
        ax.set_title(k)
        ax.grid(alpha=0.3)
    fig.suptitle(title)
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    plt.close(fig)
    return path


def save_model(trainer, tokenizer, out: Path) -> Path:
    """Save the final model + tokenizer under a temp name and rename: no half-written model dir."""
    import shutil

    tmp = out.parent / f".{out.name}.partial"
    if tmp.exists():
        shutil.rmtree(tmp)
    trainer.save_model(str(tmp))
    if trainer.is_world_process_zero():
        tokenizer.save_pretrained(str(tmp))
        if out.exists():
            shutil.rmtree(out)
        os.replace(tmp, out)
    return out
