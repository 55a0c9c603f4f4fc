"""fctrain's SFT trainer: TRL's SFTTrainer with grouped micro-batches and the decision weight."""

from __future__ import annotations

from trl import SFTTrainer

from fctrain.trainers.decision_weight import DecisionWeightMixin
from fctrain.trainers.group_batches import GroupedBatchesMixin
from fctrain.trainers.sft_loss import AnswerPositionsLossMixin


class FctrainSFTTrainer(GroupedBatchesMixin, AnswerPositionsLossMixin, DecisionWeightMixin, SFTTrainer):
    """SFTTrainer + contrast groups kept in one micro-batch (group_batches.py) + `decision_weight`
    (decision_weight.py) + on CPU, the loss from the answer positions only (sft_loss.py). On a GPU, with
    neither groups nor a weight, it is TRL's SFTTrainer step for step."""

    def __init__(self, *args, decision_weight: float = 0.0, **kwargs):
        super().__init__(*args, **kwargs)
        self.decision_weight = decision_weight
