"""Configs of the distillation stages (rollout, cache_teacher, ckd), apart from the trainer code so that
loading and validating a recipe does not import transformers' Trainer. Defaults are STAR's."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

from fctrain.config.schema import (
    AT_LEAST_1,
    NON_NEGATIVE,
    POSITIVE,
    RATIO,
    SHARE,
    STEPS,
    TOP_P,
    ZERO_LR_HELP,
    LrScheduler,
    check_training_stage,
    opt,
)
from fctrain.config.typed_dict import check_fields

KLType = Literal["fkl", "rkl", "akl"]  # fctrain.losses.ckd_common.KL_TYPES
LossImpl = Literal["auto", "reference", "chunked", "triton"]  # fctrain.losses.ckd_common.IMPLS


@dataclass
class RolloutStageConfig:
    n: int = opt(8, "Completions sampled per prompt (STAR: 8).", AT_LEAST_1)
    temperature: float = opt(1.0, "Sampling temperature (STAR: 1.0); 0 = greedy decoding.", NON_NEGATIVE)
    top_p: float = opt(1.0, "Nucleus sampling top_p (STAR: 1.0).", TOP_P)
    max_new_tokens: int = opt(2048, "Generated tokens per completion (STAR: 2048).", AT_LEAST_1)
    think: bool | None = opt(None, "Thinking mode: require one <think> block; None = the recipe's template.think.")
    batch_size: int = opt(4, "Prompts per generate call.", AT_LEAST_1)
    max_prompts: int | None = opt(None, "Use at most this many prompts.", AT_LEAST_1)
    fallback_to_reference: bool = opt(
        False, "Not STAR: keep a prompt's own sample when none of its rollouts is valid (smoke runs, untrained teachers)."
    )
    use_vllm: bool = opt(True, "Sample with vLLM when it is installed and CUDA is present (else HF generate).")

    def __post_init__(self):
        check_fields(self)


@dataclass
class CacheTeacherStageConfig:
    k: int = opt(100, "Teacher top-k stored per target token (STAR: 100).", AT_LEAST_1)
    max_target_tokens: int | None = opt(512, "Truncate each sample's targets to this many tokens + end-of-turn.",
                                         AT_LEAST_1)
    batch_size: int = opt(4, "Sequences per teacher forward pass.", AT_LEAST_1)
    shard_size: int = opt(1024, "Samples per shard (the unit an interrupted build resumes from).", AT_LEAST_1)
    cache_dir: str | None = opt(None, "Where to write; default STAGE_DIR/teacher_cache. A shared path is reused.")
    overwrite: bool = opt(False, "Replace a cache built for other settings instead of refusing.")
    max_samples: int | None = opt(None, "Cache at most this many samples.", AT_LEAST_1)

    def __post_init__(self):
        check_fields(self)


@dataclass
class CKDStageConfig:
    k: int = opt(100, "Teacher top-k (the online teacher's; a cache has its own).", AT_LEAST_1)
    top_m: int = opt(100, "Student top-m whose mass outside the teacher's top-k is the Mistake term (STAR: 100); "
                      "0 = no Mistake term.", NON_NEGATIVE)
    lam: float = opt(10.0, "Weight of the Mistake term (STAR: 10).", NON_NEGATIVE)
    kl_type: KLType = opt("fkl", "fkl (STAR), rkl or akl.")
    kd_ratio: float = opt(1.0, "r in r*KD + (1-r)*CE(teacher token).", SHARE)
    learning_rate: float = opt(3e-6, "Peak learning rate (STAR: 3e-6), > 0.")
    allow_zero_learning_rate: bool = opt(False, ZERO_LR_HELP)
    weight_decay: float = opt(1e-4, "AdamW weight decay (STAR: 1e-4).", NON_NEGATIVE)
    per_device_train_batch_size: int = opt(2, "Sequences per device per micro-step (STAR: 2).", AT_LEAST_1)
    gradient_accumulation_steps: int = opt(1, "Micro-steps per optimizer step (STAR: global batch 128).", AT_LEAST_1)
    num_train_epochs: float = opt(1.0, "Epochs (STAR: 1).", POSITIVE)
    max_steps: int = opt(-1, "Stop after this many optimizer steps (-1 = use epochs).", STEPS)
    warmup_ratio: float = opt(0.03, "Share of steps spent warming the learning rate up.", RATIO)
    lr_scheduler_type: LrScheduler = opt("cosine", "transformers scheduler name.")
    max_grad_norm: float = opt(1.0, "Gradient clipping norm (0 = no clipping).", NON_NEGATIVE)
    max_target_tokens: int | None = opt(512, "Targets per sample (STAR: 512 + end-of-turn); must match the cache.",
                                         AT_LEAST_1)
    packing: bool = opt(True, "Concatenate each micro-batch into one padding-free row (STAR: packing).")
    gradient_checkpointing: bool = opt(True, "Recompute activations in backward (STAR: on).")
    online_teacher: bool = opt(False, "Run the teacher in memory instead of reading the cache.")
    decision_weight: float = opt(
        0.0, "Extra weight on the CKD loss of each answer's first token, where the student decides between a call "
        "and a text reply (fctrain/trainers/decision_weight.py); 0 = STAR's token mean.", NON_NEGATIVE)
    fused_linear: bool = opt(False, "fused_linear_ckd_loss from hidden states + lm_head (no [tokens, V] logits).")
    loss_impl: LossImpl = opt("auto", "ckd_loss implementation: auto, reference, chunked, triton.")
    max_samples: int | None = opt(None, "Use at most this many training samples.", AT_LEAST_1)
    save_steps: int | None = opt(None, "Save a checkpoint every N steps (None = only the final model).", AT_LEAST_1)
    save_total_limit: int = opt(2, "Complete checkpoints to keep.", AT_LEAST_1)
    on_nan: Literal["error", "skip"] = opt(
        "error", "NaN/inf loss or gradients: stop naming the step and samples, or skip the optimizer step (counted).")

    def __post_init__(self):
        check_training_stage(self)


# ---- data ----
