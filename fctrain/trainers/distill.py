"""Constrained knowledge distillation (STAR's CKD) on transformers' Trainer, plus the rollout and cache stages.

Per batch the collator renders nothing new: samples were rendered once (fctrain.teacher.targets) and
the teacher's top-k rows come from the cache (or an online teacher) in target order. The student is
projected onto the vocabulary only at target-predicting positions (`fctrain.models.selected_logits`), so the
logits are [target tokens, V], the same rows as the teacher's. Packing concatenates a micro-batch into
one row with restarting position_ids (transformers masks attention per sample); the teacher rows are
concatenated in the same order, and no position predicts across a sample boundary.
"""

from __future__ import annotations

import contextlib
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import torch
from transformers import Trainer

from fctrain.errors import CacheMismatchError, ConfigError
from fctrain.models.device import inference_autocast
from fctrain.trainers.distill_config import CacheTeacherStageConfig, CKDStageConfig, RolloutStageConfig
from fctrain.trainers.group_batches import GroupedBatchesMixin

STAT_KEYS = ("fkl", "mistake_mass", "student_entropy", "teacher_token_ce")  # the loss's stats, in order


# ---- stage configs ----

class RenderedDataset(torch.utils.data.Dataset):
    """Samples rendered once: {"id", "input_ids", "mask", "group"}."""

    def __init__(self, rows: list[dict]):
        self.rows = rows

    def __len__(self) -> int:
        return len(self.rows)

    def __getitem__(self, i: int) -> dict:
        return self.rows[i]


def build_ckd_dataset(samples: Sequence[dict], tokenizer, teacher, **render) -> RenderedDataset:
    """Render every sample; with a cache, verify every token hash now rather than mid-training."""
    from fctrain.teacher.teacher_cache import TeacherCache, encode_samples

    rows = [{"id": sid, "input_ids": ids, "mask": mask} for sid, ids, mask, _ in
            encode_samples(tokenizer, samples, **render)]
    groups = {s["id"]: s["group"] for s in samples if s.get("group") is not None}
    for r in rows:  # contrast pairs: CKDTrainer keeps a group in one micro-batch
        r["group"] = groups.get(r["id"])
    if isinstance(teacher, TeacherCache):
        teacher.check_render(**render)
        for r in rows:
            teacher.verify(r["id"], r["input_ids"], r["mask"])
    return RenderedDataset(rows)


@dataclass
class CKDCollator:
    """Pads (or packs) a micro-batch and gathers the teacher rows aligned to its target positions.

    Output: input_ids, attention_mask or position_ids, predict_mask [B, L] bool (logits at t predict a
    target at t+1), target_ids [N], teacher_ids [N, k], teacher_logprobs [N, k], first_target [N] bool
    (the row predicts the first token of an answer); the N rows follow predict_mask in row-major order.
    """

    teacher: Any  # TeacherCache or OnlineTeacher: get_batch([(id, input_ids, mask)]) -> [(ids, logprobs)]
    pad_id: int
    packing: bool = False

    def __call__(self, features: list[dict]) -> dict[str, torch.Tensor]:
        from fctrain.teacher.targets import predict_mask

        rows = self.teacher.get_batch([(f["id"], f["input_ids"], f["mask"]) for f in features])
        seqs = [torch.tensor(f["input_ids"], dtype=torch.long) for f in features]
        keeps = [torch.from_numpy(predict_mask(f["mask"])) for f in features]
        if self.packing:
            batch = {
                "input_ids": torch.cat(seqs)[None],
                "position_ids": torch.cat([torch.arange(len(s)) for s in seqs])[None],
                "predict_mask": torch.cat(keeps)[None],
            }
        else:
            length = max(len(s) for s in seqs)
            batch = {
                "input_ids": torch.full((len(seqs), length), self.pad_id, dtype=torch.long),
                "attention_mask": torch.zeros(len(seqs), length, dtype=torch.long),
                "predict_mask": torch.zeros(len(seqs), length, dtype=torch.bool),
            }
            for b, (s, keep) in enumerate(zip(seqs, keeps)):
                batch["input_ids"][b, : len(s)] = s
                batch["attention_mask"][b, : len(s)] = 1
                batch["predict_mask"][b, : len(s)] = keep
        # The token each kept position predicts: the next token of the same sample.
        batch["target_ids"] = torch.cat([s[1:][k[:-1]] for s, k in zip(seqs, keeps)])
        batch["first_target"] = torch.cat([_run_starts(k)[k] for k in keeps])
        batch["teacher_ids"] = torch.cat([r[0] for r in rows]).long()
        batch["teacher_logprobs"] = torch.cat([r[1] for r in rows]).float()
        if len(batch["teacher_ids"]) != len(batch["target_ids"]):
            raise CacheMismatchError(f"teacher gave {len(batch['teacher_ids'])} rows for "
                                     f"{len(batch['target_ids'])} target tokens (samples {[f['id'] for f in features]})")
        return batch


def _run_starts(keep: torch.Tensor) -> torch.Tensor:
    """True where a run of True begins (the position predicting an answer's first token)."""
    return keep & ~torch.cat([keep.new_zeros(1), keep[:-1]])


# ---- the trainer ----

@dataclass
class CKDLossConfig:
    top_m: int = 100
    lam: float = 10.0
    kl_type: str = "fkl"
    kd_ratio: float = 1.0
    fused_linear: bool = False
    impl: str = "auto"
    decision_weight: float = 0.0


def ckd_loss_and_stats(model, inputs: dict, cfg: CKDLossConfig) -> tuple[torch.Tensor, torch.Tensor]:
    """Student forward at the target positions only, then the CKD loss and its stats (STAT_KEYS order, plus
    the decision loss when cfg.decision_weight > 0).

    decision_weight w adds w * (the same CKD loss over the rows predicting an answer's first token), see
    fctrain/trainers/decision_weight.py; w = 0 is STAR's plain token mean."""
    from fctrain.losses import ckd_loss, fused_linear_ckd_loss
    from fctrain.models.selected_logits import selected_hidden_states, selected_logits

    keep = inputs["predict_mask"]
    fwd = {k: inputs[k] for k in ("input_ids", "attention_mask", "position_ids") if k in inputs}
    opts = {"top_m": cfg.top_m, "lam": cfg.lam, "kl_type": cfg.kl_type, "kd_ratio": cfg.kd_ratio}
    if cfg.fused_linear:
        weight = _unwrap(model).get_output_embeddings().weight
        # The loss projects the rows chunk by chunk. Under mixed precision accelerate hands the model's outputs
        # back in fp32; the hidden states were computed in the head's dtype, so casting back is exact.
        rows = selected_hidden_states(model, keep, **fwd).to(weight.dtype)
        impl = cfg.impl if cfg.impl in ("chunked", "triton") else "auto"

        def loss_of(rows, select):
            return fused_linear_ckd_loss(rows, weight, inputs["teacher_logprobs"][select], inputs["teacher_ids"][select],
                                         None, impl=impl, labels=inputs["target_ids"][select], return_stats=True, **opts)
    else:
        rows = selected_logits(model, keep, **fwd)

        def loss_of(rows, select):
            return ckd_loss(rows, inputs["teacher_logprobs"][select], inputs["teacher_ids"][select], None,
                            impl=cfg.impl, labels=inputs["target_ids"][select], return_stats=True, **opts)

    loss, stats = loss_of(rows, slice(None))
    stats = [stats[k].detach().float() for k in ("fkl", "mistake", "entropy", "ce")]
    if cfg.decision_weight:
        first = inputs["first_target"]
        decision, _ = loss_of(rows[first], first)
        loss = loss + cfg.decision_weight * decision
        stats.append(decision.detach().float())
    return loss, torch.stack(stats)


def _unwrap(model):
    while hasattr(model, "module"):  # DDP / DeepSpeed engine
        model = model.module
    if hasattr(model, "get_base_model"):  # PEFT
        model = model.get_base_model()
    return model


class CKDTrainer(GroupedBatchesMixin, Trainer):
    """Trainer whose loss is CKD against teacher top-k rows carried in the batch (rows with a "group" are
    kept in one micro-batch: fctrain/trainers/group_batches.py)."""

    loss_is_scaled_for_ga = False  # a per-micro-batch token mean; Trainer divides by accumulation steps

    def __init__(self, *args, ckd: CKDLossConfig, **kwargs):
        super().__init__(*args, **kwargs)
        self.ckd = ckd
        self.stat_keys = STAT_KEYS + (("decision_loss",) if ckd.decision_weight else ())
        self._stat_sum = torch.zeros(len(self.stat_keys), dtype=torch.float64)
        self._stat_n = 0

    def compute_loss(self, model, inputs, return_outputs=False, num_items_in_batch=None):
        loss, stats = ckd_loss_and_stats(model, inputs, self.ckd)
        if model.training:
            self._stat_sum += stats.detach().double().cpu()
            self._stat_n += 1
        return (loss, {"stats": stats}) if return_outputs else loss

    def log(self, logs: dict[str, float], start_time: float | None = None) -> None:
        if self._stat_n and "loss" in logs:  # training logs: add the stats averaged since the last log
            means = self._stat_sum / self._stat_n
            logs.update({key: round(float(v), 6) for key, v in zip(self.stat_keys, means)})
            self._stat_sum.zero_()
            self._stat_n = 0
        super().log(logs, start_time)


def build_ckd_trainer(model, tokenizer, dataset: RenderedDataset, teacher, loss_cfg: CKDLossConfig,
                      args, *, packing: bool, peft_config=None, callbacks=None) -> CKDTrainer:
    """A ready CKDTrainer; `args` is a transformers TrainingArguments."""
    if peft_config is not None:
        from peft import get_peft_model

        model = get_peft_model(model, peft_config)
    args.remove_unused_columns = False  # the collator's teacher tensors are not forward() arguments
    pad_id = tokenizer.pad_token_id if tokenizer.pad_token_id is not None else tokenizer.eos_token_id
    return CKDTrainer(model=model, args=args, train_dataset=dataset, processing_class=tokenizer,
                      data_collator=CKDCollator(teacher, pad_id, packing), callbacks=callbacks, ckd=loss_cfg)


# ---- stages (thin glue for the recipe runner) ----

def _render_settings(ctx, max_target_tokens) -> dict:
    t = ctx.recipe.template
    return {"template": t.name, "think": t.think, "max_length": t.max_length, "max_target_tokens": max_target_tokens}


def _data(ctx, max_samples: int | None, *, rollouts: bool) -> list[dict]:
    """The stage's samples: the first max_samples, with whole groups (contrast pairs stay pairs).

    rollouts=True (cache_teacher, ckd): the teacher's rollouts when a rollout stage ran, else the data. The
    dataset itself (data_path) stays what later stages see, so Sim-RL still scores against the references."""
    from fctrain.data import read_jsonl
    from fctrain.trainers.group_batches import take_whole_groups

    path = (rollouts and ctx.outputs.get("rollouts_path")) or ctx.outputs.get("data_path")
    if not path:
        raise ConfigError(f"stage {ctx.stage_dir.name}: no data_path from an earlier stage (add data.sources)")
    return take_whole_groups(read_jsonl(path), max_samples)


def _teacher_cfg(ctx):
    if ctx.recipe.teacher is None and not ctx.outputs.get("teacher_path"):
        raise ConfigError(f"stage {ctx.stage_dir.name}: needs a teacher (recipe `teacher:` or a sft_teacher stage)")
    return ctx.recipe.teacher or ctx.recipe.model


def _load_teacher(ctx):
    from fctrain.trainers.common import cuda_available, load_for_stage

    model, tokenizer = load_for_stage(_teacher_cfg(ctx), ctx.outputs.get("teacher_path"), lora_allowed=False)
    if ctx.recipe.device != "cpu" and cuda_available():
        model = model.to("cuda")
    return model.eval(), tokenizer


def _vllm_teacher(ctx, cfg: RolloutStageConfig):
    """(model path, tokenizer) for vLLM when it can run here, else None (HF generate is used)."""
    from fctrain.models.device import vllm_available

    if not cfg.use_vllm or ctx.recipe.device == "cpu" or not vllm_available():
        return None
    from transformers import AutoTokenizer

    from fctrain.models import ensure_pad_token, ensure_tool_template, resolve_alias

    path = str(resolve_alias(ctx.outputs.get("teacher_path") or _teacher_cfg(ctx).name_or_path))
    tokenizer = AutoTokenizer.from_pretrained(path)
    ensure_tool_template(tokenizer)
    ensure_pad_token(tokenizer)
    return path, tokenizer


def run_rollout(ctx, cfg: RolloutStageConfig) -> dict:
    """Teacher rollouts over the training prompts -> rollouts_path of the kept samples (for cache and CKD)."""
    from fctrain.distributed.rollout_shards import join_rollouts, shard_rollouts
    from fctrain.teacher.rollouts import rollout_teacher
    from fctrain.trainers.common import frozen_block_cache_metrics

    samples = _data(ctx, cfg.max_prompts, rollouts=False)
    shard = shard_rollouts(samples, ctx.stage_dir / "rollouts.jsonl")  # torchrun: this rank's prompts
    model, tokenizer = _vllm_teacher(ctx, cfg) or _load_teacher(ctx)  # a path string means vLLM
    think = ctx.recipe.template.think if cfg.think is None else cfg.think
    on_hf = not isinstance(model, str)
    if on_hf:
        _share_frozen_features(model, _teacher_cfg(ctx))  # the greedy check's forced pass reuses the SFT's
    with inference_autocast(_teacher_cfg(ctx), model) if on_hf else contextlib.nullcontext():
        result = rollout_teacher(model, tokenizer, shard.samples, shard.part_path, n=cfg.n,
                                 temperature=cfg.temperature, top_p=cfg.top_p, max_new_tokens=cfg.max_new_tokens,
                                 think=think, batch_size=cfg.batch_size, seed=ctx.seed + shard.rank,
                                 template=ctx.recipe.template.name, fallback_to_reference=cfg.fallback_to_reference)
    result = join_rollouts(shard, result, [s["id"] for s in samples])
    if result["kept"] + result["reference_fallback"] == 0:
        raise ConfigError(f"rollout stage: no valid rollout among {result['prompts']} prompts "
                          f"(rejections: {result['counts']}); a stronger teacher, more samples (n) or "
                          "fallback_to_reference: true for smoke runs")
    metrics = {k: result[k] for k in ("prompts", "kept", "rejected", "reference_fallback", "teacher_forced")}
    if on_hf:
        metrics.update(frozen_block_cache_metrics(model))
    return {"rollouts_path": result["data_path"], "metrics": metrics}


def _share_frozen_features(model, model_cfg) -> None:
    """With `cache_frozen_blocks`, the teacher pass reads and adds to the frozen-block features of the process
    (fctrain/models/frozen_block_cache.py): those of the teacher SFT where a rollout is the reference, and
    CKD of a student with the same base then starts from these."""
    if model_cfg.cache_frozen_blocks and model_cfg.trainable_layers:
        from fctrain.models.frozen_block_cache import install_frozen_block_cache

        model.requires_grad_(False)
        install_frozen_block_cache(model, model_cfg.trainable_layers)


def run_cache_teacher(ctx, cfg: CacheTeacherStageConfig) -> dict:
    """One teacher pass over the training targets -> cache_dir of top-k rows."""
    from fctrain.teacher.teacher_cache import cache_teacher
    from fctrain.trainers.common import frozen_block_cache_metrics

    samples = _data(ctx, cfg.max_samples, rollouts=True)
    model, tokenizer = _load_teacher(ctx)
    _share_frozen_features(model, _teacher_cfg(ctx))
    out = Path(cfg.cache_dir) if cfg.cache_dir else ctx.stage_dir / "teacher_cache"
    name = ctx.outputs.get("teacher_path") or _teacher_cfg(ctx).name_or_path
    with inference_autocast(_teacher_cfg(ctx), model):
        summary = cache_teacher(model, tokenizer, samples, out, k=cfg.k, batch_size=cfg.batch_size,
                                shard_size=cfg.shard_size, teacher_name=str(name), overwrite=cfg.overwrite,
                                **_render_settings(ctx, cfg.max_target_tokens))
    keys = ("n_samples", "n_tokens", "bytes_per_token", "reused")
    metrics = {**{k: summary[k] for k in keys}, **frozen_block_cache_metrics(model)}
    return {"cache_dir": summary["cache_dir"], "metrics": metrics}


def run_ckd(ctx, cfg: CKDStageConfig) -> dict:
    """Distil the student (recipe model or the latest model_path) from the cache or an online teacher."""
    from transformers import TrainingArguments

    from fctrain.data import read_jsonl
    from fctrain.teacher.teacher_cache import OnlineTeacher, TeacherCache, output_vocab_size
    from fctrain.trainers.common import (
        MetricsJsonl,
        checkpointing_args,
        common_training_args,
        frozen_block_cache_metrics,
        load_for_stage,
        loss_summary,
        peft_config_of,
        plot_curve,
        run_training,
        save_model,
    )
    from fctrain.trainers.guards import WithSampleIds

    model, tokenizer = load_for_stage(ctx.recipe.model, ctx.outputs.get("model_path"))
    samples = _data(ctx, cfg.max_samples, rollouts=True)
    if cfg.online_teacher:
        teacher_model, teacher_tok = _load_teacher(ctx)
        teacher = OnlineTeacher(teacher_model, cfg.k, teacher_tokenizer=teacher_tok, student_tokenizer=tokenizer,
                                student_vocab_size=output_vocab_size(model))
    else:
        if not ctx.outputs.get("cache_dir"):
            raise ConfigError("ckd stage: no cache_dir from an earlier cache_teacher stage "
                              "(add one, or set online_teacher: true)")
        teacher = TeacherCache(ctx.outputs["cache_dir"], student_tokenizer=tokenizer,
                               student_vocab_size=output_vocab_size(model))
    dataset = build_ckd_dataset(samples, tokenizer, teacher, **_render_settings(ctx, cfg.max_target_tokens))

    args = TrainingArguments(
        **common_training_args(ctx, cfg, ctx.stage_dir / "trainer"),
        learning_rate=cfg.learning_rate, weight_decay=cfg.weight_decay,
        per_device_train_batch_size=cfg.per_device_train_batch_size,
        gradient_accumulation_steps=cfg.gradient_accumulation_steps,
        num_train_epochs=cfg.num_train_epochs, max_steps=cfg.max_steps,
        warmup_steps=cfg.warmup_ratio,  # transformers 5: a float in [0, 1) is a ratio of the total steps
        lr_scheduler_type=cfg.lr_scheduler_type, max_grad_norm=cfg.max_grad_norm,
        **checkpointing_args(cfg.gradient_checkpointing),
    )
    loss_cfg = CKDLossConfig(top_m=cfg.top_m, lam=cfg.lam, kl_type=cfg.kl_type, kd_ratio=cfg.kd_ratio,
                             fused_linear=cfg.fused_linear, impl=cfg.loss_impl, decision_weight=cfg.decision_weight)
    metrics_path = ctx.stage_dir / "metrics.jsonl"
    trainer = build_ckd_trainer(model, tokenizer, dataset, teacher, loss_cfg, args, packing=cfg.packing,
                                peft_config=peft_config_of(ctx.recipe.model),
                                callbacks=[MetricsJsonl(metrics_path, ctx.stage_dir.name)])
    trainer.data_collator = WithSampleIds(trainer.data_collator)  # a NaN report names the batch's samples
    extra = run_training(trainer, ctx, metrics_path=metrics_path, on_nan=cfg.on_nan, save_steps=cfg.save_steps,
                         save_total_limit=cfg.save_total_limit)
    out = save_model(trainer, tokenizer, ctx.stage_dir / "model")
    rows = read_jsonl(metrics_path) if metrics_path.exists() else []
    metrics = {**loss_summary(rows), **loss_summary(rows, "fkl"), "train_samples": len(dataset), **extra,
               **frozen_block_cache_metrics(model)}
    plot_curve(rows, ["loss", *STAT_KEYS[:2]], ctx.stage_dir / "loss.png", "CKD")
    return {"model_path": str(out), "metrics": metrics}


__all__ = [
    "CKDStageConfig", "CacheTeacherStageConfig", "RolloutStageConfig", "CKDCollator", "CKDTrainer",
    "CKDLossConfig", "build_ckd_dataset", "build_ckd_trainer", "ckd_loss_and_stats",
    "run_ckd", "run_cache_teacher", "run_rollout",
]
