"""CKD distillation trainer on tiny models (CPU): cache alignment with and without packing, LoRA,
the fused-linear path, the loss going down, and the stages reusing / refusing a cache."""

from __future__ import annotations

import sys
from pathlib import Path

import pytest
import torch

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "teacher"))
from teacher_helpers import WEATHER, make_samples  # noqa: E402

from fctrain.errors import CacheMismatchError  # noqa: E402
from fctrain.teacher import teacher_cache as tc  # noqa: E402
from fctrain.trainers import distill  # noqa: E402

K = 32
RENDER = {"template": "qwen3", "think": False, "max_length": None, "max_target_tokens": 24}


@pytest.fixture(scope="module")
def tok():
    from fctrain.testing import tiny_tokenizer

    return tiny_tokenizer()


@pytest.fixture(scope="module")
def teacher():
    from fctrain.testing import tiny_model

    model = tiny_model("qwen3", seed=0).eval()
    with torch.no_grad():  # a confident teacher: sharper logits give the student something to learn
        model.model.norm.weight.mul_(40.0)
    return model


@pytest.fixture(scope="module")
def samples():
    return make_samples(8, tools=[WEATHER])  # one tool: short prompts keep CPU steps fast


@pytest.fixture(scope="module")
def cache(tmp_path_factory, teacher, tok, samples):
    out = tmp_path_factory.mktemp("ckd-cache")
    tc.cache_teacher(teacher, tok, samples, out, k=K, batch_size=4, shard_size=3, progress=False, **RENDER)
    return tc.TeacherCache(out, student_tokenizer=tok, student_vocab_size=tc.output_vocab_size(teacher))


@pytest.fixture(scope="module")
def dataset(cache, tok, samples):
    return distill.build_ckd_dataset(samples, tok, cache, **RENDER)


def student(seed=1):
    from fctrain.testing import tiny_model

    return tiny_model("qwen3", seed=seed)


def training_args(tmp_path, **kw):
    from transformers import TrainingArguments

    base = dict(output_dir=str(tmp_path / "trainer"), max_steps=20, per_device_train_batch_size=2,
                learning_rate=3e-3, lr_scheduler_type="constant", logging_steps=1,
                report_to=[], use_cpu=True, save_strategy="no", disable_tqdm=True, seed=0)
    return TrainingArguments(**{**base, **kw})


@pytest.mark.parametrize("packing", [False, True])
def test_teacher_rows_align_with_target_positions(dataset, cache, teacher, tok, packing):
    """The k teacher rows in a batch are the teacher's top-k at exactly the batch's predicting positions."""
    batch = distill.CKDCollator(cache, tok.pad_token_id, packing=packing)([dataset[i] for i in range(3)])
    assert ("position_ids" in batch) == packing and batch["input_ids"].shape[0] == (1 if packing else 3)
    fwd = {k: batch[k] for k in ("input_ids", "attention_mask", "position_ids") if k in batch}
    with torch.no_grad():
        logits = teacher(**fwd, logits_to_keep=batch["predict_mask"], use_cache=False).logits
    want_lp, want_ids = torch.log_softmax(logits.float(), -1).topk(K, -1)
    torch.testing.assert_close(batch["teacher_ids"], want_ids)
    torch.testing.assert_close(batch["teacher_logprobs"], want_lp, atol=1e-3, rtol=1e-3)  # fp16 storage
    flat_ids = batch["input_ids"].flatten()
    next_tokens = flat_ids[1:][batch["predict_mask"].flatten()[:-1]]
    torch.testing.assert_close(batch["target_ids"], next_tokens)


def test_packed_and_padded_batches_give_the_same_loss(dataset, cache, tok):
    model = student()
    feats = [dataset[i] for i in range(4)]
    cfg = distill.CKDLossConfig(top_m=50)
    padded = distill.ckd_loss_and_stats(model, distill.CKDCollator(cache, tok.pad_token_id, False)(feats), cfg)
    packed = distill.ckd_loss_and_stats(model, distill.CKDCollator(cache, tok.pad_token_id, True)(feats), cfg)
    torch.testing.assert_close(packed[0], padded[0], atol=1e-5, rtol=1e-5)
    torch.testing.assert_close(packed[1], padded[1], atol=1e-5, rtol=1e-5)
    fused = distill.ckd_loss_and_stats(model, distill.CKDCollator(cache, tok.pad_token_id, True)(feats),
                                       distill.CKDLossConfig(top_m=50, fused_linear=True))
    torch.testing.assert_close(fused[0], packed[0], atol=1e-5, rtol=1e-5)


@pytest.mark.slow
def test_ckd_loss_goes_down_and_stats_are_logged(tmp_path, dataset, cache, tok):
    trainer = distill.build_ckd_trainer(student(), tok, dataset, cache, distill.CKDLossConfig(top_m=50),
                                        training_args(tmp_path), packing=True)
    trainer.train()
    logs = [h for h in trainer.state.log_history if "loss" in h]
    assert len(logs) == 20
    losses = [h["loss"] for h in logs]
    first, last = sum(losses[:4]) / 4, sum(losses[-4:]) / 4
    assert last < 0.7 * first, losses
    assert all(k in logs[0] for k in distill.STAT_KEYS)
    assert sum(h["fkl"] for h in logs[-4:]) < 0.7 * sum(h["fkl"] for h in logs[:4])


def test_lora_trains_only_adapters(tmp_path, dataset, cache, tok):
    from peft import LoraConfig

    lora = LoraConfig(r=4, lora_alpha=8, target_modules=["q_proj", "v_proj"], task_type="CAUSAL_LM")
    trainer = distill.build_ckd_trainer(student(), tok, dataset, cache, distill.CKDLossConfig(top_m=50),
                                        training_args(tmp_path, max_steps=3), packing=False, peft_config=lora)
    before = {n: p.detach().clone() for n, p in trainer.model.named_parameters()}
    trainer.train()
    changed = {n for n, p in trainer.model.named_parameters() if not torch.equal(p, before[n])}
    assert changed and all("lora_" in n for n in changed)


def test_online_teacher_trains_like_the_cache(tmp_path, dataset, teacher, tok):
    online = tc.OnlineTeacher(teacher, K, teacher_tokenizer=tok, student_tokenizer=tok)
    batch = distill.CKDCollator(online, tok.pad_token_id, True)([dataset[0], dataset[1]])
    assert batch["teacher_ids"].shape == (len(batch["target_ids"]), K)


# ---- the recipe stages ----

@pytest.fixture(scope="module")
def model_dirs(tmp_path_factory):
    from fctrain.testing import save_tiny_model

    root = tmp_path_factory.mktemp("models")
    return save_tiny_model(root / "teacher", seed=0), save_tiny_model(root / "student", seed=1)


def stage_ctx(tmp_path, name, model_dirs, samples, outputs=None):
    from fctrain.config.schema import ModelConfig, Recipe, TrackingConfig
    from fctrain.data import write_jsonl
    from fctrain.stages.context import StageContext

    data = write_jsonl(tmp_path / "train.jsonl", samples)
    recipe = Recipe(name="t", device="cpu", model=ModelConfig(name_or_path=str(model_dirs[1])),
                    teacher=ModelConfig(name_or_path=str(model_dirs[0])),
                    tracking=TrackingConfig(tensorboard=False))
    (tmp_path / name).mkdir(parents=True, exist_ok=True)
    return StageContext(run_dir=tmp_path, stage_dir=tmp_path / name, recipe=recipe,
                        outputs={"data_path": str(data), **(outputs or {})})


@pytest.mark.slow
def test_stages_rollout_cache_ckd_reuse_and_refuse(tmp_path, model_dirs, samples):
    from fctrain.data import read_jsonl

    rollout_cfg = distill.RolloutStageConfig(n=2, max_new_tokens=4, fallback_to_reference=True)
    rolled = distill.run_rollout(stage_ctx(tmp_path / "run1", "01-rollout", model_dirs, samples[:4]), rollout_cfg)
    assert rolled["metrics"]["prompts"] == 4  # an untrained teacher: kept or fallback, every prompt counted
    assert "data_path" not in rolled  # the dataset (and its references, which Sim-RL scores against) stays
    data = read_jsonl(rolled["rollouts_path"])
    assert {r["source_id"] for r in data} == {s["id"] for s in samples[:4]}

    shared = tmp_path / "shared-cache"
    cache_cfg = distill.CacheTeacherStageConfig(k=K, max_target_tokens=24, cache_dir=str(shared))
    first = distill.run_cache_teacher(stage_ctx(tmp_path / "run1", "02-cache", model_dirs, data), cache_cfg)
    assert not first["metrics"]["reused"] and first["metrics"]["n_samples"] == len(data)
    again = distill.run_cache_teacher(stage_ctx(tmp_path / "run2", "02-cache", model_dirs, data), cache_cfg)
    assert again["metrics"]["reused"] and again["cache_dir"] == first["cache_dir"]
    samples = data

    ckd_cfg = distill.CKDStageConfig(top_m=50, max_target_tokens=24, max_steps=3, learning_rate=1e-3,
                                     gradient_checkpointing=True)
    ctx = stage_ctx(tmp_path / "run2", "03-ckd", model_dirs, samples, {"cache_dir": again["cache_dir"]})
    result = distill.run_ckd(ctx, ckd_cfg)
    assert (Path(result["model_path"]) / "config.json").exists()
    assert "loss_first" in result["metrics"]

    with pytest.raises(CacheMismatchError, match="max_target_tokens"):  # other truncation than the cache
        distill.run_ckd(ctx, distill.CKDStageConfig(max_target_tokens=8, max_steps=1))


def test_cache_and_ckd_read_the_rollouts_other_stages_the_dataset(tmp_path, model_dirs, samples):
    from fctrain.data import write_jsonl

    rollouts = [{**s, "id": s["id"] + "-r0", "source_id": s["id"]} for s in samples[:2]]
    path = write_jsonl(tmp_path / "rollouts.jsonl", rollouts)
    ctx = stage_ctx(tmp_path, "03-ckd", model_dirs, samples[:3], {"rollouts_path": str(path)})
    assert [s["id"] for s in distill._data(ctx, None, rollouts=True)] == [r["id"] for r in rollouts]
    assert [s["id"] for s in distill._data(ctx, None, rollouts=False)] == [s["id"] for s in samples[:3]]
    ctx.outputs.pop("rollouts_path")  # no rollout stage: distil the dataset's own answers
    assert [s["id"] for s in distill._data(ctx, None, rollouts=True)] == [s["id"] for s in samples[:3]]


def test_a_rollout_stage_completed_by_an_older_version_still_hands_on_rollouts():
    from fctrain.pipeline import reused_outputs

    old = {"data_path": "/run/03-rollout/rollouts.jsonl", "metrics": {"kept": 3}, "seconds": 1.0}
    assert reused_outputs("rollout", old) == {"rollouts_path": "/run/03-rollout/rollouts.jsonl",
                                              "metrics": {"kept": 3}, "seconds": 1.0}
    assert reused_outputs("sft", {"model_path": "/m"}) == {"model_path": "/m"}
    new = {"rollouts_path": "/r.jsonl"}
    assert reused_outputs("rollout", new) == new


def test_fused_path_takes_fp32_outputs_of_a_bf16_model(dataset, cache, tok):
    """Under mixed precision accelerate returns a model's outputs in fp32 (`convert_outputs_to_fp32`), hidden
    states included, while the lm_head stays bf16: the fused loss casts the rows back (seen on an H200)."""
    from accelerate.utils import convert_outputs_to_fp32

    model = student().to(torch.bfloat16)
    model.forward = convert_outputs_to_fp32(model.forward)
    batch = distill.CKDCollator(cache, tok.pad_token_id, True)([dataset[i] for i in range(3)])
    fused, _ = distill.ckd_loss_and_stats(model, batch, distill.CKDLossConfig(top_m=50, fused_linear=True))
    plain, _ = distill.ckd_loss_and_stats(model, batch, distill.CKDLossConfig(top_m=50))
    fused.backward()
    assert model.lm_head.weight.grad is not None or model.get_output_embeddings().weight.grad is not None
    torch.testing.assert_close(fused.float(), plain.float(), rtol=2e-2, atol=2e-2)


@pytest.mark.parametrize("fused_linear", [False, True])
def test_decision_weight_adds_the_loss_of_each_answers_first_token(dataset, cache, tok, fused_linear):
    from fctrain.losses import ckd_loss
    from fctrain.teacher.targets import predict_mask

    feats = [dataset[i] for i in range(3)]
    batch = distill.CKDCollator(cache, tok.pad_token_id, packing=True)(feats)
    first = batch["first_target"]
    assert first.sum() == 3 and first.shape == batch["target_ids"].shape  # one answer per sample here
    starts = torch.cumsum(torch.tensor([0] + [int(predict_mask(f['mask']).sum()) for f in feats[:-1]]), 0)
    assert first.nonzero().squeeze(1).tolist() == starts.tolist()  # each sample's first target row

    model = student()
    plain = distill.CKDLossConfig(top_m=50, fused_linear=fused_linear)
    weighted = distill.CKDLossConfig(top_m=50, fused_linear=fused_linear, decision_weight=2.0)
    base, stats = distill.ckd_loss_and_stats(model, batch, plain)
    total, wstats = distill.ckd_loss_and_stats(model, batch, weighted)
    logits = model(input_ids=batch["input_ids"], position_ids=batch["position_ids"],
                   logits_to_keep=batch["predict_mask"], use_cache=False).logits
    decision = ckd_loss(logits[first], batch["teacher_logprobs"][first], batch["teacher_ids"][first], top_m=50,
                        labels=batch["target_ids"][first])
    torch.testing.assert_close(total, base + 2.0 * decision, atol=1e-5, rtol=1e-5)
    assert len(stats) == 4 and len(wstats) == 5
    torch.testing.assert_close(wstats[4], decision.detach(), atol=1e-5, rtol=1e-5)
