"""Packaging rules from the foundation issue: subpackages listed, no top-level `kernels`, docs generated."""

from __future__ import annotations

import importlib.util
import subprocess
import sys
from pathlib import Path

import tomllib

REPO = Path(__file__).resolve().parents[1]


def test_every_fctrain_subpackage_is_listed_in_pyproject():
    listed = set(tomllib.loads((REPO / "pyproject.toml").read_text())["tool"]["setuptools"]["packages"])
    found = {
        ".".join(p.parent.relative_to(REPO).parts) for p in (REPO / "fctrain").rglob("__init__.py")
        if "__pycache__" not in p.parts
    }
    assert found <= listed, f"add to pyproject [tool.setuptools].packages: {sorted(found - listed)}"
    assert {"fctrain.kernels", "fctrain.recipes"} <= listed


def test_kernels_folder_is_fctrain_kernels_not_a_top_level_module(tmp_path):
    spec = importlib.util.find_spec("fctrain.kernels")
    assert spec is not None and Path(spec.origin).parent == REPO / "kernels"
    # Outside the checkout (whose root is on sys.path under `python -m pytest`), the install must not
    # provide a top-level `kernels`: that name belongs to the package transformers probes for.
    probe = "import importlib.util as u; s = u.find_spec('kernels'); print(s.origin if s else None)"
    out = subprocess.run([sys.executable, "-c", probe], cwd=tmp_path, capture_output=True, text=True, check=True)
    assert str(REPO / "kernels") not in out.stdout


def test_named_deepspeed_configs_resolve():
    from fctrain.distributed.deepspeed_configs import NAMED, resolve_deepspeed

    for name in NAMED:
        assert resolve_deepspeed(name).is_file()


def test_recipe_reference_is_up_to_date():
    result = subprocess.run([sys.executable, str(REPO / "scripts" / "gen_recipe_docs.py"), "--check"],
                            capture_output=True, text=True)
    assert result.returncode == 0, result.stderr
