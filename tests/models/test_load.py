"""load_model_and_tokenizer on tiny models and local folders; dtype/attention policy."""

from __future__ import annotations

import pytest
import torch

from fctrain.errors import ConfigError
from fctrain.models import load_model_and_tokenizer, pick_attn_implementation, pick_dtype
from fctrain.render import handles_tools, render_chat
from fctrain.testing import save_tiny_model, tiny_model, tiny_tokenizer


@pytest.mark.parametrize("alias,model_type", [("tiny-qwen3", "qwen3"), ("tiny-llama", "llama")])
def test_tiny_aliases(alias, model_type, tool_samples):
    model, tok = load_model_and_tokenizer(alias)
    assert model.config.model_type == model_type
    assert model.dtype == torch.float32 and model.config._attn_implementation == "sdpa"  # CPU policy
    assert tok.pad_token == "<|pad|>" and tok.eos_token == "<|im_end|>" and tok.pad_token_id != tok.eos_token_id
    assert model.config.pad_token_id == tok.pad_token_id
    assert handles_tools(tok.chat_template)
    r = render_chat(tok, tool_samples[0])
    logits = model(torch.tensor([r.input_ids])).logits
    assert logits.shape == (1, len(r.input_ids), len(tok))


def test_same_seed_same_weights_and_rng_untouched():
    torch.manual_seed(123)
    before = torch.rand(1)
    torch.manual_seed(123)
    a, b = tiny_model("qwen3", seed=0), tiny_model("qwen3", seed=0)
    assert torch.rand(1) == before  # building models did not consume the caller's RNG
    assert all(torch.equal(x, y) for x, y in zip(a.state_dict().values(), b.state_dict().values()))
    c = tiny_model("qwen3", seed=1)
    assert not torch.equal(a.lm_head.weight, c.lm_head.weight)


def test_tiny_tokenizer_roundtrip_and_specials():
    tok = tiny_tokenizer()
    assert 1000 <= len(tok) <= 2100
    text = '<|im_start|>user\nZürich 🧀 {"a": 1}<|im_end|>\n<tool_call>\n{}\n</tool_call>'
    ids = tok(text, add_special_tokens=False)["input_ids"]
    assert tok.decode(ids) == text
    for special in ("<|im_start|>", "<|im_end|>", "<|endoftext|>", "<tool_call>", "</think>"):
        assert len(tok(special, add_special_tokens=False)["input_ids"]) == 1


def test_load_from_saved_folder_and_model_config(tmp_path):
    from fctrain.config.schema import ModelConfig

    path = save_tiny_model(tmp_path / "m", "llama", seed=3)
    model, tok = load_model_and_tokenizer(ModelConfig(name_or_path=str(path)), for_training=False)
    ref = tiny_model("llama", seed=3)
    assert all(torch.equal(x, y) for x, y in zip(model.state_dict().values(), ref.state_dict().values()))
    assert not model.training and not any(p.requires_grad for p in model.parameters())
    assert tok("hello")["input_ids"] == tiny_tokenizer()("hello")["input_ids"]


def test_missing_folder_is_a_config_error(tmp_path):
    with pytest.raises(ConfigError, match="no such local folder"):
        load_model_and_tokenizer(str(tmp_path / "nope"))
    with pytest.raises(ConfigError, match="gguf_file"):
        load_model_and_tokenizer(str(tmp_path), gguf_file="missing.gguf")


def test_template_without_tools_is_replaced_and_chatml_tokens_added(tmp_path, tool_samples):
    # A tokenizer whose template ignores tools and whose vocab lacks ChatML tokens (e.g. a Llama-2 style model).
    from tokenizers import Tokenizer, models, pre_tokenizers
    from transformers import PreTrainedTokenizerFast

    raw = Tokenizer(models.WordLevel({"[UNK]": 0, "</s>": 1, **{c: i + 2 for i, c in enumerate("abc")}},
                                     unk_token="[UNK]"))
    raw.pre_tokenizer = pre_tokenizers.Split("", "isolated")
    tok = PreTrainedTokenizerFast(tokenizer_object=raw, eos_token="</s>", unk_token="[UNK]")
    tok.chat_template = "{% for m in messages %}{{ m.content }}{% endfor %}"
    path = save_tiny_model(tmp_path / "m", "qwen3", vocab_size=len(tok))
    tok.save_pretrained(path)
    model, tok = load_model_and_tokenizer(str(path))
    assert handles_tools(tok.chat_template)
    im_end = tok.convert_tokens_to_ids("<|im_end|>")
    assert model.get_input_embeddings().weight.shape[0] == len(tok) > im_end
    assert im_end in model.generation_config.eos_token_id
    assert tok.pad_token == "</s>"  # no distinct candidate in this vocabulary: fall back to eos


def test_dtype_policy():
    assert pick_dtype("auto", on_cuda=False) == torch.float32
    with pytest.warns(UserWarning, match="CPU"):
        assert pick_dtype("bfloat16", on_cuda=False) == torch.bfloat16
    with pytest.raises(ConfigError, match="model.dtype"):
        pick_dtype("float8", on_cuda=False)


def test_cpu_bf16_is_opt_in_autocast_over_fp32_weights(monkeypatch, tiny_qwen3):
    from transformers import Trainer, TrainingArguments

    from fctrain.config.schema import ModelConfig
    from fctrain.models.device import inference_autocast
    from fctrain.trainers.common import precision_flags

    monkeypatch.setattr("fctrain.trainers.common.cuda_available", lambda: False)
    monkeypatch.setattr("fctrain.models.device.cpu_native_bf16", lambda: True)
    off, on = ModelConfig(), ModelConfig(cpu_bf16=True)
    assert precision_flags(off) == {"bf16": False, "fp16": False}
    assert precision_flags(on) == {"bf16": True, "fp16": False}
    with inference_autocast(off, tiny_qwen3):
        assert not torch.is_autocast_enabled("cpu")
    with inference_autocast(on, tiny_qwen3):
        assert torch.is_autocast_enabled("cpu") and torch.get_autocast_dtype("cpu") == torch.bfloat16
        logits = tiny_qwen3(input_ids=torch.tensor([[1, 2, 3]])).logits
    assert logits.dtype == torch.bfloat16 and tiny_qwen3.dtype == torch.float32
    # The flag reaches accelerate: Trainer's forward runs under CPU bf16 autocast, weights stay fp32.
    args = TrainingArguments(output_dir="/tmp/unused", use_cpu=True, report_to=[], **precision_flags(on))
    fresh = tiny_model("qwen3", seed=0)  # accelerate wraps forward in place: not the shared fixture
    trainer = Trainer(model=fresh, args=args)
    assert trainer.accelerator.mixed_precision == "bf16"
    seen = []
    fresh.lm_head.register_forward_hook(lambda *_: seen.append(torch.is_autocast_enabled("cpu")))
    trainer.accelerator.prepare_model(fresh)(input_ids=torch.tensor([[1, 2, 3]]))
    assert seen == [True] and fresh.dtype == torch.float32

    monkeypatch.setattr("fctrain.models.device.cpu_native_bf16", lambda: False)
    with pytest.warns(UserWarning, match="no native bf16"):
        assert precision_flags(on)["bf16"]


def test_cpu_bf16_inference_casts_weights_once_with_the_same_numbers(monkeypatch):
    """inference_autocast computes every Linear from a bf16 copy made on entry: the logits and the greedy
    tokens equal plain autocast's bit for bit, and the fp32 (tied) parameters are back on exit."""
    from fctrain.config.schema import ModelConfig
    from fctrain.models.device import inference_autocast

    monkeypatch.setattr("fctrain.models.device.cpu_native_bf16", lambda: True)
    model = tiny_model("qwen3", seed=3).eval()
    model.config.tie_word_embeddings = True
    model.tie_weights()
    head = model.lm_head.weight
    assert head is model.get_input_embeddings().weight
    ids = torch.tensor([[5, 9, 2, 7, 1, 4]])
    with torch.inference_mode():
        with torch.autocast("cpu", dtype=torch.bfloat16):
            want_logits = model(input_ids=ids).logits
            want_tokens = model.generate(input_ids=ids, max_new_tokens=8, do_sample=False)
        with inference_autocast(ModelConfig(cpu_bf16=True), model):
            assert model.lm_head.weight.dtype == torch.bfloat16
            assert model.get_input_embeddings().weight.dtype == torch.float32  # embeddings keep fp32
            got_logits = model(input_ids=ids).logits
            got_tokens = model.generate(input_ids=ids, max_new_tokens=8, do_sample=False)
    assert torch.equal(got_logits, want_logits) and torch.equal(got_tokens, want_tokens)
    assert model.lm_head.weight is head and model.get_input_embeddings().weight is head
    assert all(p.dtype == torch.float32 for p in model.parameters())


def test_attention_policy():
    assert pick_attn_implementation("auto", on_cuda=False, dtype=torch.float32) == "sdpa"
    assert pick_attn_implementation("eager", on_cuda=False, dtype=torch.float32) == "eager"
    with pytest.raises(ConfigError, match="CUDA"):
        pick_attn_implementation("flash_attention_2", on_cuda=False, dtype=torch.bfloat16)
    with pytest.raises(ConfigError, match="attn_implementation"):
        pick_attn_implementation("flash", on_cuda=False, dtype=torch.float32)


def test_4bit_quantization_without_bitsandbytes_is_a_clear_error(monkeypatch):
    import importlib.util

    real_find_spec = importlib.util.find_spec
    monkeypatch.setattr(importlib.util, "find_spec",
                        lambda name, *a: None if name == "bitsandbytes" else real_find_spec(name, *a))
    with pytest.raises(ConfigError, match="bitsandbytes"):
        load_model_and_tokenizer("tiny-qwen3", quantization="4bit")


def test_trainable_layers_freezes_all_but_the_top_blocks():
    from fctrain.errors import ConfigError
    from fctrain.trainers.common import freeze_below_top_layers

    model = tiny_model("qwen3", seed=0)  # 2 blocks, tied embeddings
    freeze_below_top_layers(model, 1)
    trainable = {n for n, p in model.named_parameters() if p.requires_grad}
    assert trainable and all(n.startswith(("model.layers.1.", "model.norm.")) for n in trainable)
    out = model(input_ids=torch.tensor([[1, 2, 3, 4]]), labels=torch.tensor([[1, 2, 3, 4]]))
    out.loss.backward()
    assert model.model.layers[0].self_attn.q_proj.weight.grad is None
    assert model.model.layers[1].self_attn.q_proj.weight.grad is not None
    with pytest.raises(ConfigError, match="not in 1..2"):
        freeze_below_top_layers(tiny_model("qwen3", seed=0), 3)
