"""STAR's Sim-RL on TRL's GRPOTrainer: what TRL does not do, as small overrides.

1. Dynamic filtering: `_generate_and_score_completions` runs TRL's rollout+scoring round, keeps the groups
   whose scores pass the filter (dynamic_filter.py), draws fresh prompts for more rounds until the batch is
   full (bounded), and joins the kept rows into one batch (grpo_batch.py).
2. Advantages from the *kept* groups with STAR's (r - mean) / (std + 1e-9) (TRL uses 1e-4 and the whole
   unfiltered round), or Dr. GRPO's r - mean.
3. Prompt tokens as training saw them (fctrain.render.prompt_ids): TRL tokenises a string prompt on its
   own, and a trailing "\n\n" can then become a token the model never saw before an answer.
4. The KL term with a selectable estimator (k2 by default; TRL hard-codes k3): TRL's loss runs with beta
   set to 0 and we add beta * reduce(KL) computed from the same policy log-probs (grpo_math.reduce_like_trl).

The scorer returns, per completion, an object with `.reward` (drives advantages) and `.score` (drives the
filter); an optional `.failure` ("format" / "validity" / None) feeds the failure-rate logs.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence
from typing import Any

import torch
from trl import GRPOTrainer

from fctrain.trainers.dynamic_filter import FilterSpec, GroupSelector, PromptStream, groups_to_request
from fctrain.trainers.grpo_batch import take_rows
from fctrain.trainers.grpo_math import group_advantages, kl_penalty, reduce_like_trl
from fctrain.trainers.logged_metrics import LoggedMetricsMixin

Scorer = Callable[[list[str], dict[str, list]], Sequence[Any]]
TRL_REWARD_KWARGS = {"trainer_state", "log_extra", "log_metric", "environments"}
SUPPORTED_LOSSES = ("grpo", "bnpo", "dr_grpo", "dapo")


class StarGRPOTrainer(LoggedMetricsMixin, GRPOTrainer):
    def __init__(self, *args, scorer: Scorer, filter_spec: FilterSpec | None = None,
                 advantage_norm: str = "group", kl_estimator: str = "k2", **kwargs):
        self.scorer, self.filter_spec = scorer, filter_spec
        self.advantage_norm, self.kl_estimator = advantage_norm, kl_estimator
        self._round_scored: list[Any] = []
        self._policy_logps: torch.Tensor | None = None
        super().__init__(*args, reward_funcs=[self._reward_func()], **kwargs)
        if self.loss_type not in SUPPORTED_LOSSES:
            raise ValueError(f"StarGRPOTrainer supports loss_type {SUPPORTED_LOSSES}, got {self.loss_type!r}")
        self._prompt_stream = PromptStream(len(self.train_dataset),
                                           seed=self.args.seed + 7919 * (1 + self.accelerator.process_index))

    def _get_train_sampler(self, dataset=None):
        """Contrast pairs (rows with a "group") stay in one rollout, as in SFT and CKD micro-batches: a call and a
        decline prompt of the same request then pull the call-or-not prior in opposite directions."""
        from fctrain.trainers.group_batches import GroupedRepeatSampler, dataset_groups

        dataset = self.train_dataset if dataset is None else dataset
        groups = dataset_groups(dataset)
        if groups is None:
            return super()._get_train_sampler(dataset)
        return GroupedRepeatSampler(groups, self.args.generation_batch_size // self.num_generations,
                                    mini_repeat_count=self.num_generations,
                                    repeat_count=self.num_iterations * self.args.steps_per_generation,
                                    seed=self.args.seed)

    # ------------------------------------------------------------------------------------------ scoring

    def _reward_func(self):
        """TRL's reward-function signature around the scorer; remembers the round's objects for the filter."""

        def simrl(prompts, completions, completion_ids=None, **columns):
            data = {k: v for k, v in columns.items() if k not in TRL_REWARD_KWARGS}
            scored = list(self.scorer(list(completions), data))
            self._round_scored.extend(scored)
            return [float(s.reward) for s in scored]

        return simrl

    # ------------------------------------------------------------------------------------------ rollouts

    def _tokenize_prompts(self, prompts: list):
        if not prompts or not isinstance(prompts[0], str):
            return super()._tokenize_prompts(prompts)
        from fctrain.render.prompt_ids import encode_prompt

        return [encode_prompt(self._tokenizer, p) for p in prompts], None, {}

    def _global_max(self, value: int) -> int:
        t = torch.tensor([value], device=self.accelerator.device)
        return int(self.accelerator.gather(t).max().item())

    def _global_sum(self, *values: float) -> list[float]:
        t = torch.tensor([values], dtype=torch.float64, device=self.accelerator.device)
        return self.accelerator.gather(t).sum(dim=0).tolist()

    def _draw_groups(self, n_groups: int) -> list[dict]:
        """Fresh prompts for an extra round, each repeated num_generations times like TRL's RepeatSampler."""
        rows = [self.train_dataset[i] for i in self._prompt_stream.take(n_groups)]
        return [row for row in rows for _ in range(self.num_generations)]

    def _generate_and_score_completions(self, inputs):
        if not self.model.training:  # evaluation: TRL's path, no filtering
            self._round_scored = []
            return super()._generate_and_score_completions(inputs)
        G = self.num_generations
        if len(inputs) % G:
            raise ValueError(f"a rank's generation batch ({len(inputs)}) must hold whole groups of {G}")
        target = len(inputs) // G
        selector = GroupSelector(target, G, self.filter_spec)
        rounds, scored_rounds, batch_inputs = [], [], inputs
        while True:
            self._round_scored = []
            scored = super()._generate_and_score_completions(batch_inputs)
            # TRL's advantages (over the unfiltered round) are replaced by the raw rewards, which then travel
            # with their rows through take_rows; advantages are computed after selection.
            scored["advantages"] = torch.tensor([float(s.reward) for s in self._round_scored],
                                                device=scored["advantages"].device)
            rounds.append(scored)
            scored_rounds.append(self._round_scored)
            selector.add_round([float(s.score) for s in self._round_scored],
                               [float(s.reward) for s in self._round_scored])
            # Every rank joins every round (TRL gathers inside it): stop only when no rank is short.
            if self._global_max(0 if selector.exhausted() else selector.deficit) == 0:
                break
            request = groups_to_request(selector.deficit, selector.kept, len(selector.groups), cap=target)
            batch_inputs = self._draw_groups(self._global_max(request))
        picked, padded = selector.select()  # in generation order: the order take_rows lays rows out in
        rows_per_round = [[] for _ in rounds]
        for g in picked:
            rows_per_round[g.round].extend(range(g.index * G, (g.index + 1) * G))
        batch = take_rows(rounds, rows_per_round, self._tokenizer.pad_token_id)
        kept_scored = [scored_rounds[g.round][g.index * G + j] for g in picked for j in range(G)]
        batch["advantages"] = group_advantages(batch["advantages"], G, self.advantage_norm)
        mask = batch["completion_mask"] * batch.get("tool_mask", 1)
        batch["num_items_in_batch"] = self.accelerator.gather(mask.sum()).sum()
        self._log_rollout_metrics(selector, padded, [s for r in scored_rounds for s in r], kept_scored)
        return batch

    def _log_rollout_metrics(self, selector: GroupSelector, padded: int, all_scored: list, kept_scored: list):
        n_all = len(all_scored)
        failures = [getattr(s, "failure", None) for s in all_scored]
        kept_r = [float(s.reward) for s in kept_scored]
        (generated, passed, target, pad, score_sum, n, fmt, valid, r_sum, r_sq, s_sum, nk) = self._global_sum(
            len(selector.groups), selector.kept, selector.target, padded,
            sum(float(s.score) for s in all_scored), n_all,
            sum(f == "format" for f in failures), sum(f == "validity" for f in failures),
            sum(kept_r), sum(r * r for r in kept_r), sum(float(s.score) for s in kept_scored), len(kept_scored))
        self.add_metric(True, "filter/kept_fraction", passed / max(generated, 1))  # passed / generated groups
        self.add_metric(True, "filter/groups_generated", generated)
        self.add_metric(True, "filter/padded_fraction", pad / max(target, 1))  # rejected groups padding the batch
        self.add_metric(True, "filter/extra_rounds", float(selector.extra_rounds))
        self.add_metric(True, "score/mean", score_sum / max(n, 1))
        self.add_metric(True, "failures/format_rate", fmt / max(n, 1))
        self.add_metric(True, "failures/validity_rate", valid / max(n, 1))
        mean = r_sum / max(nk, 1)
        self.add_metric(True, "batch/reward_mean", mean)
        self.add_metric(True, "batch/reward_std", math.sqrt(max(r_sq / max(nk, 1) - mean * mean, 0.0)))
        self.add_metric(True, "batch/score_mean", s_sum / max(nk, 1))

    # ------------------------------------------------------------------------------------------ loss

    def _get_per_token_logps_and_entropies(self, model, *args, compute_entropy=False, **kwargs):
        out = super()._get_per_token_logps_and_entropies(model, *args, compute_entropy=compute_entropy, **kwargs)
        if compute_entropy:  # only the training forward asks for entropies: these are pi_theta's log-probs
            self._policy_logps = out[0]
        return out

    def _compute_loss(self, model, inputs):
        beta = self.beta
        self.beta = 0.0  # TRL would add its k3 term; ours is added below with the configured estimator
        try:
            loss = super()._compute_loss(model, inputs)
        finally:
            self.beta = beta
        logps, self._policy_logps = self._policy_logps, None  # do not keep the autograd graph alive
        if beta == 0.0:
            return loss
        mask = inputs["completion_mask"] * inputs.get("tool_mask", 1)
        per_token_kl = kl_penalty(logps, inputs["ref_per_token_logps"], self.kl_estimator)
        training = self.model.training
        loss = loss + beta * reduce_like_trl(
            per_token_kl, mask, self.loss_type, max_completion_length=self.max_completion_length,
            num_items_in_batch=inputs.get("num_items_in_batch"), num_processes=self.accelerator.num_processes,
            grad_accum=self.current_gradient_accumulation_steps if training else 1,
            steps_per_generation=self.args.steps_per_generation, training=training)
        totals = self.accelerator.reduce(torch.stack([(per_token_kl.detach() * mask).sum(), mask.sum().float()]),
                                         reduction="sum")
        self.add_metric(training, "kl", (totals[0] / totals[1].clamp(min=1.0)).item())
        return loss
