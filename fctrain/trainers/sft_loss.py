"""SFT loss from the answer positions only, where TRL's fused LM head would score every position (CPU).

TRL's fused head (`trl.trainer.utils.add_fused_lm_head`) projects only the positions that carry a label
on CUDA/XPU, but every position elsewhere. On CPU a 450-token prompt with a 60-token answer then pays the
vocabulary projection, log-softmax, entropy and top-1 for all 450 positions: SmolLM2-135M (49k vocabulary)
trains at ~80 tokens/s that way on 2 cores, against ~200 tokens/s when only the answer positions are
projected (docs/benchmarks.md). Here the model projects the label positions only (`selected_logits`, as the
CKD trainer does) and the loss is TRL's: the token mean over labelled tokens
(divided by `num_items_in_batch` under gradient accumulation), plus the optional decision term
(decision_weight.py). Entropy and token accuracy are logged as TRL logs them.

Anything this path does not cover (CUDA/XPU, label smoothing, DFT loss, a custom loss function, MoE aux
loss, sequence parallelism, return_outputs) goes to TRL unchanged.
"""

from __future__ import annotations

import torch
import torch.nn.functional as F

from fctrain.models.selected_logits import selected_logits
from fctrain.trainers.decision_weight import IGNORE, decision_term, first_target_mask
from fctrain.trainers.logged_metrics import LoggedMetricsMixin


def _trl_scores_only_labels(device: torch.device) -> bool:
    return device.type in ("cuda", "xpu")


class AnswerPositionsLossMixin(LoggedMetricsMixin):
    decision_weight: float = 0.0
    train_tokens_seen: int = 0  # the `num_tokens` TRL logs on its own path

    def _answer_path_applies(self, model, inputs, return_outputs) -> bool:
        device = inputs["input_ids"].device if "input_ids" in inputs else torch.device("cpu")
        return ("labels" in inputs and "shift_labels" not in inputs and not return_outputs
                and not _trl_scores_only_labels(device) and self.args.loss_type == "nll"
                and self.label_smoother is None and self.compute_loss_func is None and not self.aux_loss_enabled)

    def compute_loss(self, model, inputs, return_outputs=False, num_items_in_batch=None):
        if not self._answer_path_applies(model, inputs, return_outputs):
            return super().compute_loss(model, inputs, return_outputs=return_outputs,
                                        num_items_in_batch=num_items_in_batch)
        labels = inputs["labels"]
        predicts = torch.zeros_like(labels, dtype=torch.bool)
        predicts[:, :-1] = labels[:, 1:] != IGNORE  # position t predicts the label at t + 1
        fwd = {k: v for k, v in inputs.items() if k != "labels"}
        logits = selected_logits(model, predicts, **fwd).float()
        targets = labels[:, 1:][predicts[:, :-1]]
        nll = F.cross_entropy(logits, targets, reduction="none")
        count = torch.as_tensor(len(targets) if num_items_in_batch is None else num_items_in_batch)
        loss = nll.sum() / count.to(nll.device).clamp(min=1)
        if self.args.average_tokens_across_devices and num_items_in_batch is not None:
            loss = loss * self.accelerator.num_processes  # as TRL: DDP averages, the count covers every rank
        if self.decision_weight:
            decision = decision_term(nll, first_target_mask(labels)[predicts[:, :-1]])
            steps = self.current_gradient_accumulation_steps if num_items_in_batch is not None else 1
            loss = loss + self.decision_weight * decision / steps
            self.add_metric(model.training, "decision_loss", decision.item())
        self._log_like_trl(model, inputs, logits.detach(), targets)
        return loss

    def _log_like_trl(self, model, inputs, logits: torch.Tensor, targets: torch.Tensor) -> None:
        gather = self.accelerator.gather_for_metrics
        log_p = logits.log_softmax(-1)
        n = gather(torch.tensor(len(targets), device=logits.device)).sum()
        entropy = gather(-(log_p.exp() * log_p).sum(-1).sum()).sum()
        correct = gather((logits.argmax(-1) == targets).sum()).sum()
        self.add_metric(model.training, "entropy", (entropy / n).item() if n > 0 else 0.0)
        self.add_metric(model.training, "mean_token_accuracy", (correct / n).item() if n > 0 else 0.0)
        if model.training:
            if "attention_mask" in inputs:
                tokens = inputs["attention_mask"].sum()
            else:
                tokens = torch.tensor(inputs["input_ids"].numel(), device=logits.device)
            self.train_tokens_seen += gather(tokens).sum().item() // getattr(self, "_tp_size", 1)
            self.set_metric(True, "num_tokens", self.train_tokens_seen)
