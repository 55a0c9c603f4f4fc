"""Sim-RL (STAR): GRPO with the similarity reward and dynamic filtering, on TRL's GRPOTrainer.

Batch vocabulary (STAR / OpenRLHF -> TRL):
    rollout_batch_size  prompts per rollout (x num_generations completions)  -> generation_batch_size / n
    train_batch_size    completions per optimizer step                          -> micro x ranks x grad_accum
so one rollout feeds rollout_batch_size * n / train_batch_size optimizer steps (8 with STAR's 128/8/128);
steps after the first are off-policy and use the PPO ratio clip. Episodes = passes over the prompt set.

Prompts are rendered with fctrain.render.render_prompt, the reference is the sample's last assistant message
(reference_of). Samples whose own reference does not score > 0.99 against itself are dropped (STAR's sanity
filter), as are prompts longer than max_prompt_length tokens; both are counted in the metrics.
"""

from __future__ import annotations

import json
import os
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path
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
    Allowed,
    LrScheduler,
    check_training_stage,
    opt,
)
from fctrain.errors import ConfigError, FctrainError


@dataclass
class DynamicFilterConfig:
    enabled: bool = opt(True, "Train only on prompts whose group of completions disagrees (STAR, after DAPO).")
    lo: float = opt(0.01, "Keep a group when its mean score is strictly above lo ...", SHARE)
    hi: float = opt(0.99, "... and strictly below hi ...", SHARE)
    min_diff: float = opt(0.0, "... and max score - min score > min_diff.", NON_NEGATIVE)
    max_extra_rounds: int = opt(
        4, "Extra rollout rounds per batch to refill it; after that the batch is padded with the rejected "
        "groups of largest reward spread (all-equal groups have zero advantage).", NON_NEGATIVE)

    def __post_init__(self):
        from fctrain.config.typed_dict import check_fields
        from fctrain.errors import FieldError

        check_fields(self)
        if self.enabled and self.lo >= self.hi:  # no mean score is above lo and below hi: every group rejected
            raise FieldError("hi", f"> lo ({self.lo}), or enabled: false", self.hi)


@dataclass
class GRPOStageConfig:
    learning_rate: float = opt(3e-7, "Peak learning rate (AdamW), > 0.")
    allow_zero_learning_rate: bool = opt(False, ZERO_LR_HELP)
    adam_betas: tuple[float, float] = opt((0.9, 0.95), "AdamW betas.", RATIO)
    weight_decay: float = opt(0.0, "AdamW weight decay.", NON_NEGATIVE)
    warmup_ratio: float = opt(0.03, "Share of optimizer steps spent warming the learning rate up.", RATIO)
    lr_scheduler_type: LrScheduler = opt("cosine_with_min_lr", "transformers scheduler name.")
    min_lr_rate: float = opt(0.1, "Final lr = min_lr_rate * learning_rate (cosine_with_min_lr only).", SHARE)
    max_grad_norm: float = opt(1.0, "Gradient clipping norm (0 = no clipping).", NON_NEGATIVE)
    beta: float = opt(1e-3, "KL coefficient (KL to the starting policy as a loss term; 0 = no reference model).",
                      NON_NEGATIVE)
    kl_estimator: Literal["k1", "k2", "k3"] = opt(
        "k2", "k2 = 0.5 (log pi - log pi_ref)^2 (STAR); k3 = TRL's default; k1 = log-ratio.")
    epsilon: float = opt(0.2, "PPO clip range (lower, and upper unless epsilon_high is set).", POSITIVE)
    epsilon_high: float | None = opt(None, "Upper clip range (DAPO's clip-higher, e.g. 0.28); None = epsilon.",
                                     POSITIVE)
    loss_type: Literal["grpo", "bnpo", "dr_grpo", "dapo"] = opt(
        "grpo", "Loss reduction: grpo = per-sequence mean (STAR/OpenRLHF), dapo = per-token over the batch, "
        "dr_grpo = constant denominator, bnpo = per-token over the micro-batch.")
    advantage_norm: Literal["group", "batch", "none"] = opt(
        "group", "group = (r - mean)/(std + 1e-9) per prompt (STAR); none = r - mean (Dr. GRPO); batch std.")
    num_generations: int = opt(8, "Completions sampled per prompt (the group size n).", Allowed(lo=2))
    rollout_batch_size: int = opt(128, "Prompts per rollout.", AT_LEAST_1)
    train_batch_size: int = opt(128, "Completions per optimizer step (across ranks and accumulation).", AT_LEAST_1)
    per_device_train_batch_size: int = opt(8, "Completions per forward/backward micro-step on one device.",
                                           AT_LEAST_1)
    max_new_tokens: int = opt(512, "Longest completion generated.", AT_LEAST_1)
    max_prompt_length: int = opt(5120, "Prompts with more tokens are skipped (and counted).", AT_LEAST_1)
    temperature: float = opt(1.0, "Sampling temperature for rollouts.", POSITIVE)
    top_p: float = opt(1.0, "Nucleus sampling for rollouts (1.0 = off).", TOP_P)
    episodes: float = opt(3.0, "Passes over the prompt set (TRL's num_train_epochs).", POSITIVE)
    max_steps: int = opt(-1, "Stop after this many optimizer steps (-1 = use episodes).", STEPS)
    rewards: dict[str, float] = opt({"similarity": 1.0}, "Reward name -> weight (similarity, exact_match, "
                                    "format, toolrl); the filter uses the weight-averaged score.")
    filter: DynamicFilterConfig = field(default_factory=DynamicFilterConfig,
                                        metadata={"help": "Dynamic filtering of prompt groups."})
    think: bool | None = opt(None, "Expect a <think> block in completions; None = the recipe's template.think.")
    self_check: bool = opt(True, "Drop samples whose reference scores <= 0.99 against itself (STAR).")
    max_samples: int | None = opt(None, "Use at most this many prompts.", AT_LEAST_1)
    use_vllm: Literal["auto", "true", "false"] = opt(
        "auto", "vLLM rollouts (TRL colocate mode): auto = when vllm is installed and a GPU is present.")
    vllm_gpu_memory_utilization: float = opt(0.3, "GPU memory share vLLM may take in colocate mode.", TOP_P)
    gradient_checkpointing: bool = opt(False, "Recompute activations in backward to save memory.")
    mask_truncated_completions: bool = opt(False, "Exclude completions cut at max_new_tokens from the loss.")
    log_completions: bool = opt(False, "Write sampled completions with rewards to the trainer folder.")
    save_steps: int | None = opt(None, "Save a checkpoint every N steps (None = only the final model).", AT_LEAST_1)
    save_total_limit: int = opt(2, "Complete checkpoints to keep.", AT_LEAST_1)
    on_nan: Literal["error", "skip"] = opt(
        "error", "NaN/inf loss or gradients: stop naming the step and prompts, or skip the optimizer step (counted).")

    def __post_init__(self):
        check_training_stage(self)
        from fctrain.rewards import combine_rewards

        combine_rewards(self.rewards)  # unknown names or bad weights fail at `fctrain validate`, not mid-run
        plan_batches(self, world_size=1)  # batch sizes that cannot fit even one rank; more ranks are checked at run


@dataclass(frozen=True)
class BatchPlan:
    gradient_accumulation_steps: int
    steps_per_generation: int


def plan_batches(cfg: GRPOStageConfig, world_size: int) -> BatchPlan:
    """STAR's batch sizes in TRL's terms; every rank must hold whole groups (the filter works per rank)."""
    micro_all = cfg.per_device_train_batch_size * world_size
    rollout = cfg.rollout_batch_size * cfg.num_generations
    problems = []
    if cfg.train_batch_size % micro_all:
        problems.append(f"train_batch_size ({cfg.train_batch_size}) must be a multiple of "
                        f"per_device_train_batch_size x ranks ({micro_all})")
    if rollout % cfg.train_batch_size:
        problems.append(f"rollout_batch_size x num_generations ({rollout}) must be a multiple of "
                        f"train_batch_size ({cfg.train_batch_size})")
    if rollout % (world_size * cfg.num_generations):
        problems.append(f"each of the {world_size} ranks must get whole groups of {cfg.num_generations} "
                        f"from the {rollout} completions of a rollout")
    if problems:
        raise ConfigError("grpo: " + "; ".join(problems))
    return BatchPlan(cfg.train_batch_size // micro_all, rollout // micro_all)


def want_vllm(setting: str) -> bool:
    from fctrain.models.device import vllm_available

    available = vllm_available()
    if setting == "true" and not available:
        raise ConfigError("grpo.use_vllm: true needs the vllm package and a CUDA GPU")
    return available if setting == "auto" else setting == "true"


def build_grpo_dataset(samples: list[dict], tokenizer, *, template: str, think: bool, max_prompt_length: int,
                       scorer=None):
    """Rows {prompt, reference, tools} (the last two as JSON); counts what was skipped and why."""
    from datasets import Dataset

    from fctrain.render import reference_of, render_prompt
    from fctrain.render.prompt_ids import encode_prompt

    rows, kept, skipped = [], [], Counter()
    for s in samples:
        reference = reference_of(s)
        if reference is None:
            skipped["no_assistant_turn"] += 1
            continue
        prompt = render_prompt(tokenizer, s, template=template, think=think)
        if len(encode_prompt(tokenizer, prompt)) > max_prompt_length:
            skipped["prompt_too_long"] += 1
            continue
        rows.append({"prompt": prompt, "reference": json.dumps(reference, ensure_ascii=False),
                     "tools": json.dumps(s.get("tools") or [], ensure_ascii=False), "id": str(s.get("id", "")),
                     "group": s.get("group")})  # contrast pairs share a rollout (GroupedRepeatSampler)
        kept.append(s)
    if scorer is not None and rows:
        refs = [json.loads(r["reference"]) for r in rows]
        texts = [reference_answer_text(tokenizer, s, template=template, family=scorer.template, think=think)
                 for s in kept]
        own = scorer.score(texts, refs, [json.loads(r["tools"]) for r in rows])
        passed = [r for r, sc in zip(rows, own) if sc.score > 0.99]
        skipped["reference_fails_own_reward"] += len(rows) - len(passed)
        rows = passed
    if not rows:
        raise FctrainError(f"grpo: no usable prompts (skipped: {dict(skipped)})")
    return Dataset.from_list(rows), skipped


def references_longer_than(dataset, tokenizer, max_new_tokens: int, *, think: bool) -> int:
    """How many references (their answer plus the end-of-turn token) do not fit in max_new_tokens.

    A completion cut there fails the format check (reward -1) even when it was on its way to the reference, so
    a max_new_tokens below the calls' length teaches the policy that answering briefly (declining) pays."""
    from fctrain.render import assistant_text

    lengths = [len(tokenizer.encode(assistant_text(json.loads(r), think=think), add_special_tokens=False)) + 1
               for r in dataset["reference"]]
    return sum(n > max_new_tokens for n in lengths)


def reference_answer_text(tokenizer, sample: dict, *, template: str, family: str | None, think: bool) -> str:
    """The sample's reference as the policy would write it, for the self-check: the Hermes text for Qwen3
    (as it always was), else the format's rendering of the answer, decoded as completions are (without
    special tokens)."""
    from fctrain.render import assistant_text, reference_of, render_chat

    if family in (None, "qwen3"):
        return assistant_text(reference_of(sample), think=think)
    rendered = render_chat(tokenizer, sample, template=template, think=think, train_on="last_assistant")
    answer = [t for t, m in zip(rendered.input_ids, rendered.assistant_mask) if m]
    return tokenizer.decode(answer, skip_special_tokens=True)


def reloadable_model_path(model, tokenizer, fallback: Path) -> None:
    """TRL builds the reference policy by reloading the policy's `_name_or_path`; give in-memory models one."""
    name = getattr(model.config, "_name_or_path", "") or ""
    if (Path(name) / "config.json").is_file():
        return
    if name and not Path(name).exists() and name.count("/") == 1:  # a hub id transformers resolved already
        return
    from fctrain.distributed import barrier, is_main

    if is_main():  # under torchrun one rank writes; every rank then reloads the same files
        model.save_pretrained(fallback)
        tokenizer.save_pretrained(fallback)
    barrier()
    model.config._name_or_path = str(fallback)


def run_grpo(ctx, cfg: GRPOStageConfig) -> dict:
    """Sim-RL of the latest model (or the recipe's): returns {"model_path", "metrics"}."""
    from trl import GRPOConfig

    from fctrain.data import read_jsonl
    from fctrain.render.chat_format import parser_family
    from fctrain.trainers.checkpointing import prompt_stream_hook
    from fctrain.trainers.common import (
        MetricsJsonl,
        common_training_args,
        load_for_stage,
        peft_config_of,
        plot_curve,
        run_training,
        save_model,
    )
    from fctrain.trainers.dynamic_filter import FilterSpec
    from fctrain.trainers.grpo_reward import RecipeScorer
    from fctrain.trainers.grpo_trainer import StarGRPOTrainer

    template = ctx.recipe.template
    think = template.think if cfg.think is None else cfg.think
    plan = plan_batches(cfg, int(os.environ.get("WORLD_SIZE", "1")))
    if "data_path" not in ctx.outputs:
        raise FctrainError("grpo needs canonical samples: add data.sources to the recipe")
    model, tokenizer = load_for_stage(ctx.recipe.model, ctx.outputs.get("model_path"))
    tokenizer.padding_side = "left"  # TRL generates from left-padded prompts
    scorer = RecipeScorer(cfg.rewards, think=think, template=parser_family(tokenizer, template.name))
    samples = read_jsonl(ctx.outputs["data_path"])[: cfg.max_samples]
    dataset, skipped = build_grpo_dataset(samples, tokenizer, template=template.name, think=think,
                                          max_prompt_length=cfg.max_prompt_length,
                                          scorer=scorer if cfg.self_check else None)
    too_long = references_longer_than(dataset, tokenizer, cfg.max_new_tokens, think=think)
    if too_long:
        print(f"fctrain: warning: {too_long} of {len(dataset)} grpo references are longer than grpo.max_new_tokens "
              f"({cfg.max_new_tokens}); completions like them are cut and score -1", flush=True)
    if cfg.beta and ctx.recipe.model.lora is None:
        reloadable_model_path(model, tokenizer, ctx.stage_dir / "init-model")

    use_vllm = want_vllm(cfg.use_vllm)
    args = GRPOConfig(
        **common_training_args(ctx, cfg, ctx.stage_dir / "trainer"),
        learning_rate=cfg.learning_rate, adam_beta1=cfg.adam_betas[0], adam_beta2=cfg.adam_betas[1],
        # transformers 5 reads a warmup_steps below 1 as a ratio of the total steps
        weight_decay=cfg.weight_decay, warmup_steps=cfg.warmup_ratio, lr_scheduler_type=cfg.lr_scheduler_type,
        lr_scheduler_kwargs={"min_lr_rate": cfg.min_lr_rate} if cfg.lr_scheduler_type == "cosine_with_min_lr" else {},
        max_grad_norm=cfg.max_grad_norm, num_train_epochs=cfg.episodes, max_steps=cfg.max_steps,
        per_device_train_batch_size=cfg.per_device_train_batch_size,
        gradient_accumulation_steps=plan.gradient_accumulation_steps, steps_per_generation=plan.steps_per_generation,
        num_generations=cfg.num_generations, max_completion_length=cfg.max_new_tokens,
        temperature=cfg.temperature, top_p=cfg.top_p, beta=cfg.beta, epsilon=cfg.epsilon,
        epsilon_high=cfg.epsilon_high, loss_type=cfg.loss_type, scale_rewards=cfg.advantage_norm,
        mask_truncated_completions=cfg.mask_truncated_completions, gradient_checkpointing=cfg.gradient_checkpointing,
        use_vllm=use_vllm, vllm_mode="colocate", vllm_gpu_memory_utilization=cfg.vllm_gpu_memory_utilization,
        log_completions=cfg.log_completions, remove_unused_columns=False,
    )
    f = cfg.filter
    metrics_path = ctx.stage_dir / "metrics.jsonl"
    trainer = StarGRPOTrainer(
        model=model, args=args, train_dataset=dataset, processing_class=tokenizer,
        peft_config=peft_config_of(ctx.recipe.model), callbacks=[MetricsJsonl(metrics_path, ctx.stage_dir.name)],
        scorer=scorer, advantage_norm=cfg.advantage_norm, kl_estimator=cfg.kl_estimator,
        filter_spec=FilterSpec(f.lo, f.hi, f.min_diff, f.max_extra_rounds) if f.enabled else None,
    )
    extra = run_training(trainer, ctx, metrics_path=metrics_path, on_nan=cfg.on_nan, save_steps=cfg.save_steps,
                         save_total_limit=cfg.save_total_limit, state_hooks=[prompt_stream_hook(trainer)])
    out = save_model(trainer, tokenizer, ctx.stage_dir / "model")
    rows = read_jsonl(metrics_path) if metrics_path.exists() else []
    metrics = {**summarise(rows), **extra}
    metrics.update(prompts=len(dataset), references_longer_than_max_new_tokens=too_long, skipped=sum(skipped.values()), **{f"skipped_{k}": v for k, v in skipped.items()})
    plot_curve(rows, ["reward", "score/mean", "filter/kept_fraction", "kl"], ctx.stage_dir / "reward.png", "Sim-RL")
    return {"model_path": str(out), "metrics": metrics}


def summarise(rows: list[dict]) -> dict[str, float]:
    """First/last fifth means of the curves that tell whether RL worked, and the mean kept fraction."""
    from fctrain.trainers.common import loss_summary

    out: dict[str, float] = {}
    for key in ("reward", "score/mean", "kl", "failures/format_rate"):
        out.update({k.replace("/", "_"): v for k, v in loss_summary(rows, key).items()})
    kept = [r["filter/kept_fraction"] for r in rows if "filter/kept_fraction" in r]
    if kept:
        out["kept_fraction_mean"] = sum(kept) / len(kept)
    return out
