"""Supervised fine-tuning on TRL's SFTTrainer, loss on assistant tokens only (+ an optional decision weight).

fctrain renders each canonical sample itself (fctrain.render.sft_dataset: input_ids + assistant mask, with
the all-zero-mask check) and hands TRL a pre-tokenised dataset with an `assistant_masks` column; TRL turns
the mask into labels, pads, packs (packing: true) and runs the loop. LoRA via PEFT from the recipe.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Literal

from fctrain.config.schema import (
    AT_LEAST_1,
    NON_NEGATIVE,
    POSITIVE,
    RATIO,
    STEPS,
    ZERO_LR_HELP,
    LrScheduler,
    check_training_stage,
    opt,
)
from fctrain.render.chat import TrainOn


@dataclass
class SFTStageConfig:
    learning_rate: float = opt(2e-5, "Peak learning rate (AdamW), > 0.")
    allow_zero_learning_rate: bool = opt(False, ZERO_LR_HELP)
    num_train_epochs: float = opt(1.0, "Epochs over the training data (ignored when max_steps > 0).", POSITIVE)
    max_steps: int = opt(-1, "Stop after this many optimizer steps (-1 = use epochs).", STEPS)
    per_device_train_batch_size: int = opt(2, "Sequences per device per micro-step.", AT_LEAST_1)
    gradient_accumulation_steps: int = opt(1, "Micro-steps per optimizer step.", AT_LEAST_1)
    warmup_ratio: float = opt(0.03, "Share of steps spent warming the learning rate up.", RATIO)
    weight_decay: float = opt(0.0, "AdamW weight decay.", NON_NEGATIVE)
    lr_scheduler_type: LrScheduler = opt("cosine", "transformers scheduler name (cosine, linear, constant, ...).")
    max_grad_norm: float = opt(1.0, "Gradient clipping norm (0 = no clipping).", NON_NEGATIVE)
    packing: bool = opt(False, "Pack several samples per sequence (TRL's BFD packing, padding-free).")
    gradient_checkpointing: bool = opt(False, "Recompute activations in backward to save memory.")
    train_on: TrainOn = opt(
        "all_assistant", "all_assistant or last_assistant: which assistant turns carry loss.")
    max_samples: int | None = opt(None, "Use at most this many training samples.", AT_LEAST_1)
    eval_steps: int | None = opt(None, "Evaluate loss on the validation split every N steps (None = at the end).",
                                 AT_LEAST_1)
    save_steps: int | None = opt(None, "Save a checkpoint every N steps (None = only the final model).", AT_LEAST_1)
    save_total_limit: int = opt(2, "Checkpoints to keep when save_steps is set.", AT_LEAST_1)
    decision_weight: float = opt(
        0.0, "Extra loss weight on each answer's first token, where the model decides between a call and a text "
        "reply (fctrain/trainers/decision_weight.py); 0 = the plain token mean.", NON_NEGATIVE)
    skip_unrenderable: bool = opt(False, "Skip (and count) samples whose assistant tokens are all truncated away, "
                                  "or that the chat format cannot express (Llama 3.2: parallel calls).")
    on_nan: Literal["error", "skip"] = opt(
        "error", "NaN/inf loss or gradients: stop naming the step and samples, or skip the optimizer step (counted).")

    def __post_init__(self):
        check_training_stage(self)


def train_sft(ctx, cfg: SFTStageConfig, model_cfg, *, start_path: str | None, out_name: str) -> dict:
    from trl import SFTConfig

    from fctrain.data import read_jsonl
    from fctrain.render import sft_dataset
    from fctrain.trainers.common import (
        MetricsJsonl,
        common_training_args,
        frozen_block_cache_metrics,
        load_for_stage,
        loss_summary,
        peft_config_of,
        plot_curve,
        run_training,
        save_model,
    )
    from fctrain.trainers.guards import sft_id_resolver
    from fctrain.trainers.sft_trainer import FctrainSFTTrainer

    model, tokenizer = load_for_stage(model_cfg, start_path)
    train = read_jsonl(ctx.outputs["data_path"])[: cfg.max_samples]
    val_path = ctx.outputs.get("val_path")
    val = read_jsonl(val_path) if val_path and Path(val_path).exists() else []
    t = ctx.recipe.template
    render = {"template": t.name, "think": t.think, "max_length": t.max_length, "train_on": cfg.train_on}
    on_truncated = "skip" if cfg.skip_unrenderable else "error"
    train_ds, render_stats = sft_dataset(tokenizer, train, on_truncated=on_truncated, **render)
    val_ds = val_dataset(tokenizer, val, render)

    args = SFTConfig(
        **common_training_args(ctx, cfg, ctx.stage_dir / "trainer"),
        learning_rate=cfg.learning_rate,
        num_train_epochs=cfg.num_train_epochs,
        max_steps=cfg.max_steps,
        per_device_train_batch_size=cfg.per_device_train_batch_size,
        per_device_eval_batch_size=cfg.per_device_train_batch_size,
        gradient_accumulation_steps=cfg.gradient_accumulation_steps,
        warmup_steps=cfg.warmup_ratio,  # transformers 5: a float in [0, 1) is a ratio of total steps
        weight_decay=cfg.weight_decay,
        lr_scheduler_type=cfg.lr_scheduler_type,
        max_grad_norm=cfg.max_grad_norm,
        packing=cfg.packing,
        gradient_checkpointing=cfg.gradient_checkpointing,
        max_length=t.max_length,
        eval_strategy="steps" if (val_ds is not None and cfg.eval_steps) else "no",
        eval_steps=cfg.eval_steps,
    )
    metrics_path = ctx.stage_dir / "metrics.jsonl"
    trainer = FctrainSFTTrainer(
        model=model, args=args, train_dataset=train_ds, eval_dataset=val_ds, processing_class=tokenizer,
        peft_config=peft_config_of(model_cfg), callbacks=[MetricsJsonl(metrics_path, ctx.stage_dir.name)],
        decision_weight=cfg.decision_weight,
    )
    metrics = run_training(trainer, ctx, metrics_path=metrics_path, on_nan=cfg.on_nan, save_steps=cfg.save_steps,
                           save_total_limit=cfg.save_total_limit, resolve_ids=sft_id_resolver(tokenizer, train, **render))
    if val_ds is not None:
        metrics["eval_loss"] = trainer.evaluate()["eval_loss"]
    out = save_model(trainer, tokenizer, ctx.stage_dir / out_name)
    rows = read_jsonl(metrics_path) if metrics_path.exists() else []
    metrics.update(loss_summary(rows))
    metrics["train_samples"] = len(train_ds)
    metrics.update(frozen_block_cache_metrics(model))
    if render_stats["skipped"]:
        metrics["skipped"] = sum(render_stats["skipped"].values())
    # How the chat format laid the conversations out: one sequence each, or one row per assistant turn.
    metrics.update({f"render_{k}": render_stats[k] for k in ("one_sequence", "per_turn")})
    plot_curve(rows, ["loss", "grad_norm", "learning_rate"], ctx.stage_dir / "loss.png", f"SFT ({out_name})")
    return {"path": str(out), "metrics": metrics}


def val_dataset(tokenizer, val: list[dict], render: dict):
    """The validation rows, or None when there is no validation sample the chat format can express."""
    from fctrain.render import build_sft_rows

    rows = build_sft_rows(tokenizer, val, on_truncated="skip", **render).rows if val else []
    if not rows:
        return None
    from datasets import Dataset

    return Dataset.from_list(rows)


def run_sft(ctx, cfg: SFTStageConfig) -> dict:
    """Fine-tune the student (the recipe's model, or the latest model an earlier stage produced)."""
    result = train_sft(ctx, cfg, ctx.recipe.model, start_path=ctx.outputs.get("model_path"), out_name="model")
    return {"model_path": result["path"], "metrics": result["metrics"]}


def run_sft_teacher(ctx, cfg: SFTStageConfig) -> dict:
    """Teacher adaptation: fine-tune a copy of the teacher (or of the student when no teacher is given)."""
    model_cfg = ctx.recipe.teacher or ctx.recipe.model
    result = train_sft(ctx, cfg, model_cfg, start_path=ctx.outputs.get("teacher_path"), out_name="teacher")
    return {"teacher_path": result["path"], "metrics": result["metrics"]}
