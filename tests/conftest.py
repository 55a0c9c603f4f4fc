"""Shared fixtures: the offline tiny tokenizer, tiny Qwen3/Llama models and canonical samples.

Session-scoped and cheap (the tokenizer is cached on disk; models have ~100k parameters). Tests that change a
fixture's object must copy it first (tokenizers: call fctrain.testing.tiny_tokenizer() for a fresh one).
"""

from __future__ import annotations

from pathlib import Path

import pytest

REPO_ROOT = Path(__file__).resolve().parents[1]
SHARED_DATA = REPO_ROOT.parent / "shared" / "data"


@pytest.fixture(autouse=True)
def _no_frozen_features_across_tests():
    """Frozen-block features are shared per process (fctrain/models/frozen_block_cache.py); a test starts
    with none, as a run does."""
    from fctrain.models.frozen_block_cache import release_shared_features

    release_shared_features()
    yield
    release_shared_features()


@pytest.fixture(scope="session")
def tiny_tok():
    from fctrain.testing import tiny_tokenizer

    return tiny_tokenizer()


@pytest.fixture(scope="session")
def tiny_qwen3():
    from fctrain.testing import tiny_model

    return tiny_model("qwen3", seed=0).eval()


@pytest.fixture(scope="session")
def tiny_llama():
    from fctrain.testing import tiny_model

    return tiny_model("llama", seed=0).eval()


@pytest.fixture
def tool_samples():
    """Canonical samples (fresh copies, safe to mutate)."""
    from fctrain.testing import canonical_samples

    return canonical_samples()


@pytest.fixture(scope="session")
def shared_data_dir() -> Path:
    """../shared/data next to the checkout; tests using it skip cleanly when it is absent."""
    if not SHARED_DATA.is_dir():
        pytest.skip(f"shared data folder {SHARED_DATA} is absent")
    return SHARED_DATA
