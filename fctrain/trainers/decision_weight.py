"""Extra loss weight on the first token of each answer: where a tool-calling model decides to call or not.

Whether to call a tool at all is decided by ONE token (the "<" of "<tool_call>" against the first word of
a text reply), while a token-level mean gives that token 1/len(answer) of a sample's loss. With few
training steps the call/no-call decision then stays a prior ("always call"), and irrelevance accuracy
collapses. `decision_weight` w adds w * (mean loss over the answers' first tokens) to the usual token mean:

    L = mean_{answer tokens} l_t  +  w * mean_{first answer tokens} l_t

w = 0 is the plain token mean (and the exact code path of the trainer underneath).

Measured caveat (SmolLM2-135M, a few dozen CPU steps; docs/experiments/demo-small.md): the first token then
weighs about w * len(answer) ordinary tokens, and the push spreads beyond the first position: at w = 3 the
openers leak into the answers ("\n<tool_call>" where "\n</tool_call>" belongs, "None\nNone\n..."), and a
student distilled from such a teacher inherits the leak. Keep w around 1 with few steps, or use more data.
"""

from __future__ import annotations

import torch

from fctrain.trainers.logged_metrics import LoggedMetricsMixin

IGNORE = -100


def first_target_mask(labels: torch.Tensor) -> torch.Tensor:
    """[B, L-1] bool over next-token positions: True where position t predicts the first token of an answer
    (labels[t+1] is a target and labels[t] is not)."""
    target = labels[:, 1:] != IGNORE
    return target & (labels[:, :-1] == IGNORE)


def decision_term(token_loss: torch.Tensor, first: torch.Tensor) -> torch.Tensor:
    """Mean of token_loss over the first-token positions; 0 (still differentiable) when there are none."""
    n = first.sum()
    return (token_loss * first).sum() / n.clamp(min=1)


class DecisionWeightMixin(LoggedMetricsMixin):
    """For TRL's SFTTrainer: adds the decision term, taken from the per-token log-probs of TRL's own fused
    forward. TRL computes the token-mean loss (metrics, packing, gradient accumulation and all); a forward
    hook takes the same forward's per-token log-probs, so nothing is computed twice."""

    decision_weight: float = 0.0

    def compute_loss(self, model, inputs, return_outputs=False, num_items_in_batch=None):
        if not self.decision_weight or "labels" not in inputs:
            return super().compute_loss(model, inputs, return_outputs=return_outputs,
                                        num_items_in_batch=num_items_in_batch)
        if "shift_labels" in inputs:
            raise ValueError("decision_weight does not support sequence parallelism (pre-shifted labels)")
        captured = []
        hook = model.register_forward_hook(
            lambda _m, _a, out: captured.append(out) if getattr(out, "log_probs", None) is not None else None)
        try:
            result = super().compute_loss(model, inputs, return_outputs=return_outputs,
                                          num_items_in_batch=num_items_in_batch)
        finally:
            hook.remove()
        loss, outputs = result if return_outputs else (result, None)
        if not captured:
            raise RuntimeError("decision_weight: TRL's fused forward returned no per-token log-probs")
        first = first_target_mask(inputs["labels"]).to(captured[0].log_probs.device)
        decision_loss = decision_term(-captured[0].log_probs, first)
        self.add_metric(model.training, "decision_loss", decision_loss.item())
        extra = self.decision_weight * decision_loss
        if num_items_in_batch is not None:  # TRL leaves gradient accumulation to the loss: a per-step mean
            extra = extra / self.current_gradient_accumulation_steps
        loss = loss + extra
        return (loss, outputs) if return_outputs else loss
