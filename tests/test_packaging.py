"""Packaging rules from the foundation issue: subpackages listed, no top-level `kernels`, docs generated."""

from __future__ import annotations

import ast
import importlib.metadata
import importlib.util
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
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


def clean_env() -> dict[str, str]:
    """The environment a user's shell has: no PYTHONSAFEPATH or PYTHONPATH to keep the checkout off sys.path."""
    return {k: v for k, v in os.environ.items() if k not in ("PYTHONSAFEPATH", "PYTHONPATH")}


def test_no_top_level_folder_is_a_regular_package():
    """A regular package at the checkout root would shadow an installed distribution of that name whenever
    the root is on sys.path (`python -m`, `python -c`, torchrun): transformers imports Hugging Face's
    `kernels`. A folder without __init__.py is at most a namespace portion, which loses to any installed
    package."""
    shadowing = [p.parent.name for p in REPO.glob("*/__init__.py") if p.parent.name != "fctrain"]
    assert shadowing == [], f"top-level folders that are regular packages: {shadowing}"


def test_import_kernels_from_the_checkout_root_never_names_the_checkout():
    probe = "import kernels; print(kernels.__file__)"
    out = subprocess.run([sys.executable, "-c", probe], cwd=REPO, env=clean_env(), capture_output=True, text=True)
    try:
        hf_kernels = importlib.metadata.distribution("kernels")
    except importlib.metadata.PackageNotFoundError:
        hf_kernels = None
    if hf_kernels is not None:  # transformers' dependency: the probe must find it, not our folder
        assert out.returncode == 0, out.stderr
        assert Path(out.stdout.strip()) == Path(hf_kernels.locate_file("kernels/__init__.py")).resolve()
    else:  # at most the empty namespace portion of kernels/, which has no file
        assert out.returncode != 0 or out.stdout.strip() == "None", out.stdout


def test_fctrain_kernels_is_the_kernels_folder_in_an_editable_install():
    spec = importlib.util.find_spec("fctrain.kernels.ckd_triton")
    assert spec is not None and Path(spec.origin).parent == REPO / "kernels" / "fctrain_kernels"


@pytest.mark.slow
def test_plain_pip_install_ships_fctrain_kernels_and_recipes_and_no_top_level_kernels(tmp_path):
    """A non-editable install (a wheel built from the checkout), imported from outside the checkout."""
    # Built from a copy: pip builds in-tree, and a stale build/ of an older layout would leak into the wheel.
    source = tmp_path / "source"
    shutil.copytree(REPO, source, ignore=shutil.ignore_patterns(
        ".git", ".venv", "runs", "build", "*.egg-info", "__pycache__", ".*_cache"))
    site = tmp_path / "site"
    build = subprocess.run(
        [sys.executable, "-m", "pip", "install", "-q", "--no-deps", "--no-build-isolation", "--no-compile",
         "--target", str(site), str(source)],
        env={**clean_env(), "PIP_DISABLE_PIP_VERSION_CHECK": "1"}, capture_output=True, text=True, timeout=300)
    assert build.returncode == 0, build.stderr[-3000:]
    assert not (site / "kernels").exists() and not (site / "recipes").exists()
    probe = (
        "import importlib.util, fctrain, fctrain.kernels.ckd_torch as k\n"
        "from fctrain.config.shipped_recipes import recipes_root\n"
        "from fctrain.distributed.deepspeed_configs import resolve_deepspeed\n"
        "print(fctrain.__file__); print(k.__file__); print(resolve_deepspeed('zero2'))\n"
        "print((recipes_root() / 'smoke' / 'sft.yaml').is_file())"
    )
    out = subprocess.run([sys.executable, "-c", probe], cwd=tmp_path, capture_output=True, text=True,
                         env={**clean_env(), "PYTHONPATH": str(site)})
    assert out.returncode == 0, out.stderr[-3000:]
    fctrain_file, kernel_file, zero2, sft_recipe = out.stdout.split()
    for path in (fctrain_file, kernel_file, zero2):
        assert Path(path).is_relative_to(site), path
    assert Path(kernel_file) == site / "fctrain" / "kernels" / "ckd_torch.py"
    assert sft_recipe == "True"


def test_named_deepspeed_configs_resolve():
    from fctrain.distributed.deepspeed_configs import NAMED, resolve_deepspeed

    for name in NAMED:
        assert resolve_deepspeed(name).is_file()


def test_recipe_reference_is_up_to_date():
    result = subprocess.run([sys.executable, str(REPO / "scripts" / "gen_recipe_docs.py"), "--check"],
                            capture_output=True, text=True)
    assert result.returncode == 0, result.stderr


def test_no_library_module_imports_the_test_helpers():
    """fctrain.testing is for tests: library code builds the tiny models from fctrain.models.tiny."""
    offenders = []
    for path in sorted((REPO / "fctrain").rglob("*.py")):
        if path.name == "testing.py" and path.parent.name == "fctrain":
            continue
        for node in ast.walk(ast.parse(path.read_text(), filename=str(path))):
            names = ([a.name for a in node.names] if isinstance(node, ast.Import)
                     else [node.module or ""] if isinstance(node, ast.ImportFrom) else [])
            if any(n == "fctrain.testing" or n.startswith("fctrain.testing.") for n in names):
                offenders.append(f"{path.relative_to(REPO)}:{node.lineno}")
    assert offenders == [], f"library modules importing fctrain.testing: {offenders}"


def _module_imports() -> dict[str, set[str]]:
    """fctrain module -> the fctrain modules it imports anywhere in its text (lazy imports included)."""
    files = {}
    for path in sorted((REPO / "fctrain").rglob("*.py")):
        parts = path.relative_to(REPO).with_suffix("").parts
        files[".".join(parts[:-1] if parts[-1] == "__init__" else parts)] = path
    graph = {}
    for name, path in files.items():
        found = set()
        for node in ast.walk(ast.parse(path.read_text(), filename=str(path))):
            if isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
                found |= {node.module, *(f"{node.module}.{a.name}" for a in node.names)}
            elif isinstance(node, ast.Import):
                found |= {a.name for a in node.names}
        graph[name] = {m for m in found if m in files and m != name}
    return graph


def test_no_import_cycle():
    """Imports point one way (docs/architecture.md); a cycle hidden by a lazy import counts as one."""
    graph, state, cycles = _module_imports(), {}, []

    def visit(module, path):
        state[module] = "open"
        for dep in sorted(graph[module]):
            if state.get(dep) == "open":
                cycles.append(path[path.index(dep):] + [dep] if dep in path else [module, dep])
            elif dep not in state:
                visit(dep, path + [dep])
        state[module] = "done"

    for module in sorted(graph):
        if module not in state:
            visit(module, [module])
    assert cycles == [], "import cycles: " + "; ".join(" -> ".join(c) for c in cycles)
