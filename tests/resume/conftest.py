"""A tiny finished SFT run (2 steps, a checkpoint each step), made once per session; tests copy it."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[2]
SMOKE_SFT = REPO / "recipes" / "smoke" / "sft.yaml"
TINY = ["stages.sft.max_steps=2", "stages.sft.save_steps=1", "data.sources.0.n=16", "data.val_fraction=0.0",
        "tracking.tensorboard=false", "resume=auto"]


@pytest.fixture(scope="session")
def run_tiny():
    """run_tiny(run_dir, *overrides) -> exit code of `fctrain run` on the tiny SFT recipe."""
    from fctrain.cli import main

    def run(run_dir: Path, *overrides: str, recipe: Path = SMOKE_SFT) -> int:
        return main(["run", str(recipe), f"output_dir={run_dir}", *TINY, *overrides])

    return run


@pytest.fixture(scope="session")
def finished(tmp_path_factory, run_tiny) -> Path:
    run_dir = tmp_path_factory.mktemp("finished") / "run"
    assert run_tiny(run_dir) == 0
    return run_dir


@pytest.fixture
def copy(finished, tmp_path) -> Path:
    return Path(shutil.copytree(finished, tmp_path / "run"))
