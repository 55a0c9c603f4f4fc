"""decision_weight in SFT: the first token of each answer gets w times the mean loss of those tokens on top of
TRL's token mean, computed from the same forward."""

from __future__ import annotations

import pytest
import torch

from fctrain.trainers.decision_weight import IGNORE, first_target_mask


def test_first_target_mask_marks_where_each_answer_starts():
    labels = torch.tensor([[IGNORE, IGNORE, 5, 6, IGNORE, 7, 8, IGNORE],
                           [IGNORE, 3, 4, IGNORE, IGNORE, IGNORE, IGNORE, IGNORE]])
    # position t predicts labels[t + 1]: answers start at labels 2 and 5 (row 0) and 1 (row 1)
    assert first_target_mask(labels).nonzero().tolist() == [[0, 1], [0, 4], [1, 0]]


@pytest.mark.parametrize("path", ["answer_positions", "trl_fused_hook"])
def test_decision_weight_adds_w_times_the_first_token_loss(tmp_path, tool_samples, monkeypatch, path):
    """Both ways the term is computed: from our answer-positions loss (CPU) and, as on CUDA, from TRL's own
    fused forward through DecisionWeightMixin's hook."""
    from trl import SFTConfig

    from fctrain.trainers import sft_loss

    if path == "trl_fused_hook":
        monkeypatch.setattr(sft_loss, "_trl_scores_only_labels", lambda device: True)

    from fctrain.render import sft_dataset
    from fctrain.testing import tiny_model, tiny_tokenizer
    from fctrain.trainers.sft_trainer import FctrainSFTTrainer

    tok = tiny_tokenizer()
    samples = [s for s in tool_samples if s["id"] in ("single-call", "parallel-unicode", "multi-turn")]
    dataset, _ = sft_dataset(tok, samples, template="qwen3", think=False)
    losses = {}
    for w in (0.0, 2.0):
        model = tiny_model("qwen3", seed=0)
        args = SFTConfig(output_dir=str(tmp_path / f"w{w}"), report_to=[], use_cpu=True, max_length=None)
        trainer = FctrainSFTTrainer(model=model, args=args, train_dataset=dataset, processing_class=tok,
                                    decision_weight=w)
        inputs = trainer.data_collator([trainer.train_dataset[i] for i in range(len(dataset))])
        losses[w] = trainer.compute_loss(model, dict(inputs))
    labels = inputs["labels"]
    with torch.no_grad():
        logits = tiny_model("qwen3", seed=0)(input_ids=inputs["input_ids"],
                                             attention_mask=inputs.get("attention_mask")).logits[:, :-1]
    nll = -torch.log_softmax(logits.float(), -1).gather(-1, labels[:, 1:].clamp(min=0)[..., None])[..., 0]
    first = first_target_mask(labels)
    assert first.sum() == 5  # one answer each, and three in multi-turn
    torch.testing.assert_close(losses[2.0] - losses[0.0], 2.0 * nll[first].mean(), atol=1e-4, rtol=1e-4)
    trainer.log({})
    assert trainer.state.log_history[-1]["decision_loss"] > 0  # logged in the row, as TRL logs its metrics


def test_cpu_answer_positions_loss_equals_trls_own(tmp_path, tool_samples):
    """On CPU the loss is computed from the answer positions only (sft_loss.py): same value, gradient and
    logged metrics as TRL's fused head, which scores every position there."""
    from trl import SFTConfig, SFTTrainer

    from fctrain.render import sft_dataset
    from fctrain.testing import tiny_model, tiny_tokenizer
    from fctrain.trainers.sft_trainer import FctrainSFTTrainer

    tok = tiny_tokenizer()
    dataset, _ = sft_dataset(tok, [s for s in tool_samples if s["id"] != "no-tools-chat"])
    results = {}
    for name, cls in (("trl", SFTTrainer), ("fctrain", FctrainSFTTrainer)):
        model = tiny_model("qwen3", seed=0)
        args = SFTConfig(output_dir=str(tmp_path / name), report_to=[], use_cpu=True, max_length=None)
        trainer = cls(model=model, args=args, train_dataset=dataset, processing_class=tok)
        inputs = trainer.data_collator([trainer.train_dataset[i] for i in range(len(dataset))])
        loss = trainer.compute_loss(model, dict(inputs), num_items_in_batch=None)
        loss.backward()
        grad = model.model.layers[0].mlp.down_proj.weight.grad.clone()
        trainer.log({})  # the log row, where TRL averages its metrics and fctrain adds its own
        results[name] = (loss.detach(), grad, trainer.state.log_history[-1])
    torch.testing.assert_close(results["fctrain"][0], results["trl"][0], atol=1e-5, rtol=1e-5)
    torch.testing.assert_close(results["fctrain"][1], results["trl"][1], atol=1e-6, rtol=1e-4)
    for key in ("entropy", "mean_token_accuracy", "num_tokens"):
        assert abs(results["fctrain"][2][key] - results["trl"][2][key]) < 1e-4, key
