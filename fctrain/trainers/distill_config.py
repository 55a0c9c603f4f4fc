"""Configs of the distillation stages (rollout, cache_teacher, ckd), apart from the trainer code so that
loading and validating a recipe does not import transformers' Trainer. Defaults are STAR's."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

from fctrain.config.schema import opt


@dataclass
class RolloutStageConfig:
    n: int = opt(8, "Completions sampled per prompt (STAR: 8).")
    temperature: float = opt(1.0, "Sampling temperature (STAR: 1.0); 0 = greedy decoding.")
    top_p: float = opt(1.0, "Nucleus sampling top_p (STAR: 1.0).")
    max_new_tokens: int = opt(2048, "Generated tokens per completion (STAR: 2048).")
    think: bool | None = opt(None, "Thinking mode: require one <think> block; None = the recipe's template.think.")
    batch_size: int = opt(4, "Prompts per generate call.")
    max_prompts: int | None = opt(None, "Use at most this many prompts.")
    fallback_to_reference: bool = opt(
        False, "Not STAR: keep a prompt's own sample when none of its rollouts is valid (smoke runs, untrained teachers)."
    )
    use_vllm: bool = opt(True, "Sample with vLLM when it is installed and CUDA is present (else HF generate).")


@dataclass
class CacheTeacherStageConfig:
    k: int = opt(100, "Teacher top-k stored per target token (STAR: 100).")
    max_target_tokens: int | None = opt(512, "Truncate each sample's targets to this many tokens + end-of-turn.")
    batch_size: int = opt(4, "Sequences per teacher forward pass.")
    shard_size: int = opt(1024, "Samples per shard (the unit an interrupted build resumes from).")
    cache_dir: str | None = opt(None, "Where to write; default STAGE_DIR/teacher_cache. A shared path is reused.")
    overwrite: bool = opt(False, "Replace a cache built for other settings instead of refusing.")
    max_samples: int | None = opt(None, "Cache at most this many samples.")


@dataclass
class CKDStageConfig:
    k: int = opt(100, "Teacher top-k (the online teacher's; a cache has its own).")
    top_m: int = opt(100, "Student top-m whose mass outside the teacher's top-k is the Mistake term (STAR: 100).")
    lam: float = opt(10.0, "Weight of the Mistake term (STAR: 10).")
    kl_type: str = opt("fkl", "fkl (STAR), rkl or akl.")
    kd_ratio: float = opt(1.0, "r in r*KD + (1-r)*CE(teacher token).")
    learning_rate: float = opt(3e-6, "Peak learning rate (STAR: 3e-6).")
    weight_decay: float = opt(1e-4, "AdamW weight decay (STAR: 1e-4).")
    per_device_train_batch_size: int = opt(2, "Sequences per device per micro-step (STAR: 2).")
    gradient_accumulation_steps: int = opt(1, "Micro-steps per optimizer step (STAR: global batch 128).")
    num_train_epochs: float = opt(1.0, "Epochs (STAR: 1).")
    max_steps: int = opt(-1, "Stop after this many optimizer steps (-1 = use epochs).")
    warmup_ratio: float = opt(0.03, "Share of steps spent warming the learning rate up.")
    lr_scheduler_type: str = opt("cosine", "transformers scheduler name.")
    max_grad_norm: float = opt(1.0, "Gradient clipping norm.")
    max_target_tokens: int | None = opt(512, "Targets per sample (STAR: 512 + end-of-turn); must match the cache.")
    packing: bool = opt(True, "Concatenate each micro-batch into one padding-free row (STAR: packing).")
    gradient_checkpointing: bool = opt(True, "Recompute activations in backward (STAR: on).")
    online_teacher: bool = opt(False, "Run the teacher in memory instead of reading the cache.")
    decision_weight: float = opt(
        0.0, "Extra weight on the CKD loss of each answer's first token, where the student decides between a call "
        "and a text reply (fctrain/trainers/decision_weight.py); 0 = STAR's token mean.")
    fused_linear: bool = opt(False, "fused_linear_ckd_loss from hidden states + lm_head (no [tokens, V] logits).")
    loss_impl: str = opt("auto", "ckd_loss implementation: auto, reference, chunked, triton.")
    max_samples: int | None = opt(None, "Use at most this many training samples.")
    save_steps: int | None = opt(None, "Save a checkpoint every N steps (None = only the final model).")
    save_total_limit: int = opt(2, "Complete checkpoints to keep.")
    on_nan: Literal["error", "skip"] = opt(
        "error", "NaN/inf loss or gradients: stop naming the step and samples, or skip the optimizer step (counted).")


# ---- data ----
