"""QLoRA on CPU: the smoke recipe trains LoRA adapters on a 4-bit NF4 base (bitsandbytes' CPU kernels), then
`fctrain export RUN_DIR --merge` writes a plain float checkpoint that reloads with transformers alone,
computes what base + adapters compute, and generates."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
import torch

pytest.importorskip("bitsandbytes")

REPO = Path(__file__).resolve().parents[2]
RECIPE = REPO / "recipes" / "smoke" / "qlora.yaml"


def test_4bit_needs_lora():
    from fctrain.config.loader import load_recipe
    from fctrain.errors import ConfigError

    with pytest.raises(ConfigError, match="model.lora"):
        load_recipe(RECIPE, ["model.lora=null"])


def test_4bit_tiny_model_loads_with_nf4_layers():
    from bitsandbytes.nn import Linear4bit

    from fctrain.models import load_model_and_tokenizer

    model, _ = load_model_and_tokenizer("tiny-qwen3", quantization="4bit")
    linear = model.model.layers[0].mlp.up_proj
    assert isinstance(linear, Linear4bit)
    assert linear.weight.quant_state.quant_type == "nf4" and linear.weight.quant_state.nested  # double quant


@pytest.fixture(scope="module")
def qlora_run(tmp_path_factory):
    from fctrain.cli import main

    run_dir = tmp_path_factory.mktemp("qlora") / "run"
    assert main(["run", str(RECIPE), f"output_dir={run_dir}", "stages.sft.max_steps=6"]) == 0
    return run_dir


def test_qlora_trains_adapters_only(qlora_run):
    from safetensors.torch import load_file

    model_dir = qlora_run / "01-sft" / "model"
    assert (model_dir / "adapter_config.json").is_file() and not (model_dir / "model.safetensors").exists()
    adapters = load_file(str(model_dir / "adapter_model.safetensors"))
    lora_b = [w for k, w in adapters.items() if "lora_B" in k]
    assert lora_b and any(w.abs().max() > 0 for w in lora_b)  # B starts at zero: non-zero means it trained
    rows = [json.loads(x) for x in (qlora_run / "01-sft" / "metrics.jsonl").read_text().splitlines()]
    losses = [r["loss"] for r in rows if "loss" in r]
    assert losses[-1] < losses[0]


def test_export_merge_reloads_and_generates(qlora_run):
    from peft import PeftModel
    from transformers import AutoModelForCausalLM, AutoTokenizer

    from fctrain.cli import main

    assert main(["export", str(qlora_run), "--merge"]) == 0
    out = qlora_run / "export"
    assert not (out / "adapter_config.json").exists()
    assert "quantization_config" not in json.loads((out / "config.json").read_text())
    merged = AutoModelForCausalLM.from_pretrained(out, dtype=torch.float32).eval()
    tok = AutoTokenizer.from_pretrained(out)

    # The merged weights compute what the full-precision base + the trained adapters compute.
    adapter_dir = qlora_run / "01-sft" / "model"
    base_path = json.loads((adapter_dir / "adapter_config.json").read_text())["base_model_name_or_path"]
    base = AutoModelForCausalLM.from_pretrained(base_path, dtype=torch.float32).eval()
    x = tok.apply_chat_template([{"role": "user", "content": "Weather in Oslo?"}], add_generation_prompt=True,
                                return_tensors="pt", return_dict=True)
    with torch.no_grad():
        plain = base(**x).logits
        unmerged = PeftModel.from_pretrained(base, adapter_dir).eval()
        want, got = unmerged(**x).logits, merged(**x).logits
    torch.testing.assert_close(got, want, rtol=1e-4, atol=1e-4)
    assert (got - plain).abs().max() > 1e-3  # the adapters changed the model

    new = merged.generate(**x, max_new_tokens=6, do_sample=False)[0, x["input_ids"].shape[1]:]
    assert 1 <= len(new) <= 6
    assert isinstance(tok.decode(new), str)
