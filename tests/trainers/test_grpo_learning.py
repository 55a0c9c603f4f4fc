"""StarGRPOTrainer on a tiny model and an easy task: the reward must rise, and the KL override must match TRL.

Task: the prompt is a few letters; the reward (and score) of a completion is the fraction of its words that are
the target letter "a". A random 2-layer model over an 11-word vocabulary starts near 1/10 and GRPO pushes it
up within a few steps. Dynamic filtering is on, so groups that are all-0 or all-1 are dropped and resampled.
"""

from __future__ import annotations

from dataclasses import dataclass

import pytest
import torch

WORDS = ["<pad>", "<eos>", "a", "b", "c", "d", "e", "f", "g", "h", "q"]


@pytest.fixture(autouse=True)
def one_torch_thread():
    """Tiny matmuls: one thread is faster, and far faster when other test processes share the cores."""
    import torch

    before = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(before)


@dataclass(frozen=True)
class Scored:
    reward: float
    score: float
    failure: str | None = None


def letter_a_scorer(completions, columns):
    out = []
    for text in completions:
        words = text.split()
        frac = words.count("a") / len(words) if words else 0.0
        out.append(Scored(frac, frac, None if words else "format"))
    return out


def _tiny_word_model(path):
    """A word-level tokenizer and a random Llama over it, saved to `path` (TRL reloads the reference from it)."""
    from tokenizers import Tokenizer, models, pre_tokenizers
    from transformers import LlamaConfig, LlamaForCausalLM, PreTrainedTokenizerFast

    tok = Tokenizer(models.WordLevel({w: i for i, w in enumerate(WORDS)}, unk_token="q"))
    tok.pre_tokenizer = pre_tokenizers.WhitespaceSplit()
    tokenizer = PreTrainedTokenizerFast(tokenizer_object=tok, pad_token="<pad>", eos_token="<eos>", unk_token="q")
    config = LlamaConfig(vocab_size=len(WORDS), hidden_size=32, intermediate_size=64, num_hidden_layers=2,
                         num_attention_heads=2, num_key_value_heads=2, max_position_embeddings=64,
                         pad_token_id=0, eos_token_id=1, bos_token_id=None)
    with torch.random.fork_rng(devices=[]):
        torch.manual_seed(0)
        LlamaForCausalLM(config).save_pretrained(path)
    tokenizer.save_pretrained(path)
    return LlamaForCausalLM.from_pretrained(path), tokenizer


def _trainer(tmp_path, *, max_steps, lr, filter_on=True, loss_type="grpo", kl_estimator="k2", beta=0.01, groups=None):
    from datasets import Dataset
    from trl import GRPOConfig

    from fctrain.trainers.dynamic_filter import FilterSpec
    from fctrain.trainers.grpo_trainer import StarGRPOTrainer

    model, tokenizer = _tiny_word_model(tmp_path / "init")
    prompts = ["q b c", "q d e", "q f g", "q h b", "q c d", "q e f", "q g h", "q b d"]
    rows = [{"prompt": p} for p in prompts]
    if groups is not None:
        rows = [{**row, "group": g} for row, g in zip(rows, groups)]
    args = GRPOConfig(
        output_dir=str(tmp_path / "out"), use_cpu=True, report_to=[], save_strategy="no", seed=0, data_seed=0,
        per_device_train_batch_size=16, num_generations=8, max_completion_length=8, learning_rate=lr,
        lr_scheduler_type="constant", beta=beta, loss_type=loss_type, max_steps=max_steps, logging_steps=1,
        temperature=1.0, disable_tqdm=True,
    )
    return StarGRPOTrainer(
        model=model, args=args, train_dataset=Dataset.from_list(rows),
        processing_class=tokenizer, scorer=letter_a_scorer, kl_estimator=kl_estimator,
        filter_spec=FilterSpec(lo=0.01, hi=0.99, min_diff=0.0, max_extra_rounds=2) if filter_on else None,
    )


def test_reward_rises_on_an_easy_task(tmp_path):
    torch.manual_seed(0)
    trainer = _trainer(tmp_path, max_steps=8, lr=3e-2)
    trainer.train()
    logs = [h for h in trainer.state.log_history if "score/mean" in h]
    assert len(logs) == 8
    scores = [h["score/mean"] for h in logs]
    first, last = sum(scores[:3]) / 3, sum(scores[-3:]) / 3
    assert first < 0.4, scores  # a random policy rarely says "a"
    assert last > first + 0.3 and last > 0.6, scores
    for key in ("filter/kept_fraction", "kl", "entropy", "completions/mean_length", "failures/format_rate",
                "batch/reward_mean", "reward", "reward_std"):
        assert key in logs[-1], key
    assert all(0.0 <= h["filter/kept_fraction"] <= 1.0 for h in logs)
    assert max(h["kl"] for h in logs) > 0  # the policy moved away from the reference


def test_k3_through_our_kl_path_equals_trls_loss(tmp_path):
    """Our override (TRL loss with beta=0, plus beta * reduce(k3)) must equal TRL's own k3 loss."""
    from trl import GRPOTrainer

    trainer = _trainer(tmp_path, max_steps=1, lr=1e-3, kl_estimator="k3", beta=0.1)
    trainer.current_gradient_accumulation_steps = 2
    torch.manual_seed(1)
    B, P, C = 4, 3, 5
    inputs = {
        "prompt_ids": torch.randint(2, len(WORDS), (B, P)), "prompt_mask": torch.ones(B, P, dtype=torch.long),
        "completion_ids": torch.randint(2, len(WORDS), (B, C)),
        "completion_mask": torch.tensor([[1, 1, 1, 1, 1], [1, 1, 0, 0, 0], [1, 1, 1, 0, 0], [1, 0, 0, 0, 0]]),
        "advantages": torch.tensor([1.0, -0.5, 0.25, -0.75]), "num_items_in_batch": torch.tensor(11),
    }
    with torch.no_grad():
        logps, _, _ = trainer._get_per_token_logps_and_entropies(
            trainer.model, torch.cat([inputs["prompt_ids"], inputs["completion_ids"]], 1),
            torch.cat([inputs["prompt_mask"], inputs["completion_mask"]], 1), C)
    inputs["ref_per_token_logps"] = logps + 0.3 * torch.randn_like(logps)
    for loss_type in ("grpo", "bnpo", "dr_grpo", "dapo"):
        trainer.loss_type, trainer.kl_estimator = loss_type, "k3"
        ours = trainer._compute_loss(trainer.model, inputs)
        theirs = GRPOTrainer._compute_loss(trainer, trainer.model, inputs)
        torch.testing.assert_close(ours, theirs, rtol=1e-5, atol=1e-6, msg=loss_type)
        # and k2 differs from k3 on the same inputs (the estimator really is swapped)
        trainer.kl_estimator = "k2"
        assert not torch.allclose(trainer._compute_loss(trainer.model, inputs), theirs), loss_type


def test_filter_rounds_keep_resample_pad_and_align_rewards_with_rows(tmp_path, monkeypatch):
    """TRL's round is faked (scores chosen per row) to check the trainer's use of the filter end to end."""
    from trl import GRPOTrainer

    from fctrain.trainers.grpo_math import group_advantages

    trainer = _trainer(tmp_path, max_steps=1, lr=1e-3)  # 16 rows per rank = 2 groups of 8, max 2 extra rounds
    trainer.filter_spec = type(trainer.filter_spec)(max_extra_rounds=1)
    trainer.scorer = lambda completions, columns: [
        Scored(float(c.split()[1]), max(0.0, float(c.split()[1]))) for c in completions]
    scripted = iter([
        [0.0] * 8 + [0.0, 1.0] * 4,  # round 0: group 0 all wrong (rejected), group 1 mixed (kept)
        [1.0] * 8 + [-1.0, 0.0] * 4,  # round 1: all right (rejected); scores all 0 but rewards differ (rejected)
    ])
    calls = []

    def fake_round(self, inputs):
        rewards = next(scripted)
        assert len(inputs) == len(rewards)
        r = len(calls)
        calls.append(len(inputs))
        completions = [f"row {x}" for x in rewards]
        self.reward_funcs[0](prompts=[x["prompt"] for x in inputs], completions=completions)
        n = len(inputs)
        return {"prompt_ids": torch.full((n, 2), 3), "prompt_mask": torch.ones(n, 2, dtype=torch.long),
                "completion_ids": torch.tensor([[100 * r + i, 0] for i in range(n)]),  # row identity
                "completion_mask": torch.tensor([[1, 0]] * n), "advantages": torch.zeros(n),
                "num_items_in_batch": torch.tensor(n)}

    monkeypatch.setattr(GRPOTrainer, "_generate_and_score_completions", fake_round)
    trainer.model.train()
    inputs = [{"prompt": "q b c"}] * 8 + [{"prompt": "q d e"}] * 8
    batch = trainer._generate_and_score_completions(inputs)
    assert calls == [16, 16]  # pass rate 1/2 so far -> a deficit of 1 group asks for 2
    # kept: round 0 group 1; padding: round 1 group 1 (the rejected group whose rewards differ)
    assert batch["completion_ids"][:, 0].tolist() == list(range(8, 16)) + list(range(108, 116))
    assert batch["completion_ids"].shape == (16, 1)  # the shared padding column was trimmed
    expected = group_advantages(torch.tensor([0.0, 1.0] * 4 + [-1.0, 0.0] * 4), 8, "group")
    torch.testing.assert_close(batch["advantages"], expected)
    assert batch["num_items_in_batch"].item() == 16
    trainer.log({})
    row = trainer.state.log_history[-1]  # the logged row
    assert row["filter/kept_fraction"] == 0.25 and row["filter/padded_fraction"] == 0.5
    assert row["filter/extra_rounds"] == 1.0 and row["batch/score_mean"] == 0.25


def test_contrast_pairs_share_a_rollout(tmp_path):
    from trl.trainer.grpo_trainer import RepeatSampler

    from fctrain.trainers.group_batches import GroupedRepeatSampler

    assert isinstance(_trainer(tmp_path / "plain", max_steps=1, lr=1e-3)._get_train_sampler(), RepeatSampler)
    groups = ["p0", "p1", "p2", "p3", "p0", "p1", "p2", "p3"]  # pairs spread out, as a shuffled dataset has them
    trainer = _trainer(tmp_path / "paired", max_steps=1, lr=1e-3, groups=groups)
    sampler = trainer._get_train_sampler()
    assert isinstance(sampler, GroupedRepeatSampler)
    order = list(sampler)
    assert len(order) == len(sampler) == 8 * 8  # 2 prompts x 8 completions per rollout, 4 rollouts
    for start in range(0, len(order), 16):
        rollout = order[start : start + 16]
        assert rollout[:8] == [rollout[0]] * 8 and rollout[8:] == [rollout[8]] * 8  # a group of 8 per prompt
        assert rollout[0] != rollout[8] and groups[rollout[0]] == groups[rollout[8]]  # both halves of one pair
    assert list(sampler) == order  # the same epoch, the same order (every rank, and a resumed run)
    sampler.set_epoch(1)  # as Trainer does at each epoch
    assert list(sampler) != order  # the next epoch is reshuffled
