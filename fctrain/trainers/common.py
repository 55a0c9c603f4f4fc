"""What every fctrain trainer shares: model loading from the recipe (QLoRA included), TrainingArguments fields
that come from the recipe (device, precision, DeepSpeed, tracking, seed), `run_training` (resume from the newest
complete checkpoint, SIGTERM, NaN guard, throughput logging), a metrics.jsonl log, and the loss curve PNG."""

from __future__ import annotations

import json
import math
import os
from pathlib import Path
from typing import Any

import torch
from transformers import TrainerCallback

from fctrain.errors import ConfigError, FctrainError


def cuda_available() -> bool:
    return torch.cuda.is_available()


def load_for_stage(model_cfg, path: str | None = None, *, lora_allowed: bool = True):
    """Load (model, tokenizer) for a stage: `path` (an earlier stage's output) wins over the recipe's model.

    `model.quantization: 4bit` loads NF4 weights (QLoRA); for a trainable model (lora_allowed) PEFT's
    prepare_model_for_kbit_training then casts the remaining float weights to fp32 and lets gradients reach
    the adapters through the frozen embeddings.
    """
    from fctrain.models import load_model_and_tokenizer

    name = path or model_cfg.name_or_path
    quantization = model_cfg.quantization
    model, tokenizer = load_model_and_tokenizer(
        name,
        dtype=model_cfg.dtype,
        attn_implementation=model_cfg.attn_implementation,
        trust_remote_code=model_cfg.trust_remote_code,
        gguf_file=None if path else model_cfg.gguf_file,
        revision=None if path else model_cfg.revision,
        quantization=quantization,
    )
    if getattr(model_cfg, "trainable_layers", None) and lora_allowed:
        freeze_below_top_layers(model, model_cfg.trainable_layers)
        if getattr(model_cfg, "cache_frozen_blocks", False):
            from fctrain.models.frozen_block_cache import install_frozen_block_cache

            install_frozen_block_cache(model, model_cfg.trainable_layers)
    if quantization == "4bit" and lora_allowed:
        from peft import prepare_model_for_kbit_training

        model = prepare_model_for_kbit_training(model, use_gradient_checkpointing=False)  # trainers decide GC
    return model, tokenizer


def freeze_below_top_layers(model, n: int) -> None:
    """Leave only the top `n` decoder blocks and the final norm trainable (`model.trainable_layers`).

    The input embeddings stay frozen too: with a trainable embedding, autograd would carry gradients down
    through every frozen block to reach it, and the saving (backward stops at block n from the top) is lost.
    A tied output head is the same tensor, so it is frozen with them; an untied head stays trainable."""
    decoder = model.get_decoder()
    blocks = getattr(decoder, "layers", None)
    if blocks is None:
        raise ConfigError(f"model.trainable_layers: {type(model).__name__} has no decoder `layers` to choose from")
    if not 1 <= n <= len(blocks):
        raise ConfigError(f"model.trainable_layers: {n} is not in 1..{len(blocks)} (the model's block count)")
    model.requires_grad_(False)
    for module in [*blocks[len(blocks) - n:], getattr(decoder, "norm", None)]:
        if module is not None:
            module.requires_grad_(True)
    head, embeddings = model.get_output_embeddings(), model.get_input_embeddings()
    if head is not None and head.weight is not embeddings.weight:
        head.requires_grad_(True)


def frozen_block_cache_metrics(model) -> dict[str, int]:
    """The stage's frozen-block cache counts (fctrain/models/frozen_block_cache.py), when one is installed."""
    cache = getattr(model, "_fctrain_frozen_block_cache", None)
    return {} if cache is None else {f"frozen_cache_{k}": v for k, v in cache.stats.items()}


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


def _is_grpo(trainer) -> bool:
    from trl import GRPOTrainer

    return isinstance(trainer, GRPOTrainer)


def run_training(trainer, ctx, *, metrics_path: Path, on_nan: str = "error", save_steps: int | None = None,
                 save_total_limit: int | None = 2, resolve_ids=None, state_hooks=()) -> dict[str, Any]:
    """trainer.train() with fctrain's recovery features; returns metrics to add to the stage's (may be empty).

    - save_steps: a checkpoint every N optimizer steps, marked COMPLETE when whole; the newest
      `save_total_limit` complete ones are kept (fctrain/trainers/checkpointing.py).
    - resume: auto continues from the newest complete checkpoint in the stage's trainer folder, with
      optimizer, scheduler, RNG states, data position and every `state_hooks` entry restored.
    - SIGTERM saves a checkpoint and raises TrainingStopped (exit code 143) (fctrain/trainers/signals.py).
    - on_nan: error stops at a NaN/inf loss or gradient naming step and samples; skip skips the optimizer
      step and counts it (fctrain/trainers/guards.py). resolve_ids maps a batch to sample ids when the
      batch does not carry them.
    """
    from fctrain.trainers import checkpointing, signals, tracking
    from fctrain.trainers.guards import NonFiniteGuard

    args = trainer.args
    if save_steps:
        args.save_strategy, args.save_steps = "steps", save_steps
    args.save_total_limit = None  # CompleteCheckpoints rotates, counting complete checkpoints only
    if _is_grpo(trainer):
        args.include_num_input_tokens_seen = "no"  # GRPO batches are raw prompt rows; TRL logs num_tokens itself
    if on_nan == "skip" and args.deepspeed:
        raise ConfigError("on_nan: skip is not supported with DeepSpeed (its engine steps inside backward); "
                          "use on_nan: error")
    hooks = list(state_hooks)
    guard = NonFiniteGuard(on_nan, resolve_ids).install(trainer)
    stopper = signals.StopOnSigterm()
    stamp = {"config_hash": ctx.config_hash} if getattr(ctx, "config_hash", None) else None
    for callback in (guard, checkpointing.CompleteCheckpoints(save_total_limit, hooks, stamp), stopper):
        trainer.add_callback(callback)
    tracking.install(trainer, ctx.run_dir / "config.yaml")
    from fctrain.distributed.sync_check import RankSyncCheck

    trainer.add_callback(RankSyncCheck(ctx.stage_dir))  # torchrun: every rank must end with the same weights

    resume = None
    if ctx.recipe.resume != "never":  # auto, or force (the pipeline checked or recorded the settings)
        resume = checkpointing.prepare_resume(args.output_dir, metrics_path)
    if resume is not None:
        checkpointing.restore_extra_state(resume, hooks)
        print(f"fctrain: resuming {ctx.stage_dir.name} from checkpoint step {resume.name.split('-')[-1]}: {resume}",
              flush=True)
    trainer.train(resume_from_checkpoint=str(resume) if resume is not None else None)
    if stopper.stopped_at is not None:
        stopped = signals.TrainingStopped(stopper.stopped_at,
                                          str(checkpointing.latest_complete_checkpoint(args.output_dir)))
        print(f"fctrain: {stopped} (fctrain run {ctx.run_dir / 'config.yaml'} resume=auto)", flush=True)
        raise stopped
    extra: dict[str, Any] = {}
    if guard.skipped:
        extra["nonfinite_steps_skipped"] = guard.skipped
    if resume is not None:
        extra["resumed_from_step"] = int(resume.name.split("-")[-1])
    return extra


def precision_flags(model_cfg) -> dict[str, bool]:
    """bf16/fp16 autocast flags for TrainingArguments, honouring the recipe's dtype where the device can."""
    from fctrain.models.device import cpu_bf16_wanted

    dtype = model_cfg.dtype
    on_gpu = cuda_available()
    if not on_gpu and cpu_bf16_wanted(model_cfg):
        return {"bf16": True, "fp16": False}  # accelerate autocasts to bf16 on CPU; weights stay fp32
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
    if r.tracking.wandb:
        os.environ.setdefault("WANDB_DIR", str(ctx.run_dir))
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
        "include_num_input_tokens_seen": "non_padding",  # feeds perf/tokens_per_s
        "dataloader_num_workers": 0,
        **precision_flags(r.model),
    }
    if r.deepspeed:
        args["deepspeed"] = str(resolve_deepspeed(r.deepspeed))
    return args


def checkpointing_args(enabled: bool) -> dict[str, Any]:
    """Activation checkpointing in this transformers release's words: `activation_checkpointing` from the
    releases that renamed it (where `gradient_checkpointing` is a deprecated alias), `gradient_checkpointing`
    before them (5.17, as on the GPU machine of docs/benchmarks.md, refuses the new name)."""
    import dataclasses

    from transformers import TrainingArguments

    fields = {f.name for f in dataclasses.fields(TrainingArguments)}
    name = "activation_checkpointing" if "activation_checkpointing" in fields else "gradient_checkpointing"
    return {name: enabled, f"{name}_kwargs": {"use_reentrant": False} if enabled else None}


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
    """Save the final model + tokenizer under a temp name and rename: no half-written model dir.

    LoRA adapters are merged first, so the next stage gets a plain model (and can add a LoRA of its own).
    QLoRA keeps its adapters: merging into NF4 weights would round the update away; `fctrain export --merge`
    merges them into the full-precision base.
    """
    import shutil

    if hasattr(trainer.model, "merge_and_unload") and not getattr(trainer.model, "is_loaded_in_4bit", False):
        trainer.model = trainer.model.merge_and_unload()

    tmp = out.parent / f".{out.name}.partial"
    if tmp.exists() and trainer.is_world_process_zero():  # one rank cleans up; several would race
        shutil.rmtree(tmp)
    trainer.save_model(str(tmp))
    if trainer.is_world_process_zero():
        tokenizer.save_pretrained(str(tmp))
        if out.exists():
            shutil.rmtree(out)
        os.replace(tmp, out)
    return out
