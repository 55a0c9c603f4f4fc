"""The run directory: everything needed to rerun a run exactly, written before any training starts.

    RUN_DIR/config.yaml      the fully resolved recipe (defaults filled in, secrets redacted)
    RUN_DIR/meta.json        git commit, package versions, seed, command line, host, time
    RUN_DIR/NN-<stage>/      one folder per stage; `outputs.json` in it marks the stage complete
    RUN_DIR/summary.json     per-stage outputs and metrics, written as stages finish
    RUN_DIR/fctrain.lock     held by the one process writing the directory (fctrain/run_lock.py)

`fctrain run RUN_DIR/config.yaml` reruns it (into a fresh directory unless resume is used).
"""

from __future__ import annotations

import itertools
import json
import os
import platform
import re
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass
from importlib import metadata
from pathlib import Path
from typing import Any

import yaml

from fctrain.errors import FctrainError
from fctrain.run_lock import RunLock, RunLocked, acquire

# Whole words of a key, so "hf_token", "wandb_api_key", "apiKey" are secrets and "max_new_tokens", "author" are not.
SECRET_WORDS = frozenset({"token", "secret", "secrets", "password", "passwd", "apikey", "auth", "credential",
                          "credentials"})
REDACTED = "<redacted>"
TRACKED_PACKAGES = (
    "fctrain", "torch", "transformers", "trl", "peft", "accelerate", "deepspeed", "datasets", "triton",
    "wandb", "bitsandbytes", "flash-attn", "vllm", "rouge-score", "rapidfuzz", "bfcl-eval",
)


def is_secret_key(key: object) -> bool:
    words = re.split(r"[^a-z0-9]+", re.sub(r"([a-z0-9])([A-Z])", r"\1_\2", str(key)).lower())
    return bool(SECRET_WORDS.intersection(words)) or any(a == "api" and b == "key" for a, b in zip(words, words[1:]))


def redact(data: Any) -> Any:
    """Replace the values of secret-looking keys (tokens, API keys, passwords) anywhere in `data`."""
    if isinstance(data, dict):
        return {k: (REDACTED if is_secret_key(k) and v else redact(v)) for k, v in data.items()}
    if isinstance(data, list):
        return [redact(v) for v in data]
    return data


def atomic_write_text(path: Path, text: str) -> None:
    """Write to a temp file in the same folder, then rename: a crash never leaves half a file."""
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", dir=path.parent)
    try:
        with os.fdopen(fd, "w") as f:
            f.write(text)
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


def atomic_write_json(path: Path, data: Any) -> None:
    atomic_write_text(path, json.dumps(data, indent=2, ensure_ascii=False, default=str) + "\n")


def read_json(path: Path, fix: str = "") -> Any:
    """A JSON file fctrain wrote; a damaged one raises FctrainError naming the path, what is wrong and `fix`."""
    try:
        return json.loads(Path(path).read_text())
    except json.JSONDecodeError as e:
        problem = f"not valid JSON ({e.msg} at line {e.lineno}, column {e.colno})"
    except UnicodeDecodeError as e:
        problem = f"not text ({e.reason} at byte {e.start})"
    raise FctrainError(f"{path} is damaged: {problem}" + (f"; {fix}" if fix else ""))


def git_commit() -> str | None:
    here = Path(__file__).resolve().parent
    try:
        out = subprocess.run(
            ["git", "rev-parse", "HEAD"], cwd=here, capture_output=True, text=True, timeout=5, check=True
        ).stdout.strip()
        dirty = subprocess.run(
            ["git", "status", "--porcelain", "--untracked-files=no"], cwd=here, capture_output=True, text=True,
            timeout=5,
        ).stdout.strip()
        return out + ("-dirty" if dirty else "")
    except (OSError, subprocess.SubprocessError):
        return None


def package_versions() -> dict[str, str]:
    versions = {}
    for name in TRACKED_PACKAGES:
        try:
            versions[name] = metadata.version(name)
        except metadata.PackageNotFoundError:
            continue
    return versions


@dataclass
class Claim:
    """A run directory this process holds the lock of; `created` = it did not exist before this run."""

    path: Path
    lock: RunLock
    created: bool


def claim_run_dir(pattern: str, name: str, resume: str) -> Claim:
    """`pattern` with {name} filled in, locked for this process. resume auto/force: that directory (RunLocked
    when another process writes it). resume never: the first of it, -2, -3 ... that no run used (no
    config.yaml) and no process holds, so concurrent fresh runs of one recipe get a directory each."""
    base = Path(pattern.replace("{name}", name)).expanduser().resolve()
    if resume != "never":
        return _claim(base)
    for i in itertools.count(1):
        path = base if i == 1 else base.parent / f"{base.name}-{i}"
        if (path / "config.yaml").exists():
            continue
        try:
            claim = _claim(path)
        except RunLocked:
            continue
        if not (path / "config.yaml").exists():  # else another run finished writing it while we looked
            return claim
        claim.lock.release()


def _claim(path: Path) -> Claim:
    created = not path.exists()
    return Claim(path, acquire(path), created)


def write_run_files(run_dir: Path, config: dict, seed: int, argv: list[str] | None = None) -> None:
    run_dir.mkdir(parents=True, exist_ok=True)
    config = dict(redact(config))
    config["output_dir"] = str(run_dir.resolve())
    atomic_write_text(run_dir / "config.yaml", yaml.safe_dump(config, sort_keys=False, allow_unicode=True))
    meta = {
        "git_commit": git_commit(),
        "packages": package_versions(),
        "python": sys.version.split()[0],
        "platform": platform.platform(),
        "seed": seed,
        "argv": redact_argv(argv if argv is not None else sys.argv),
        "started": time.strftime("%Y-%m-%dT%H:%M:%S%z"),
    }
    atomic_write_json(run_dir / "meta.json", meta)


def redact_argv(argv: list[str]) -> list[str]:
    out = []
    for a in argv:
        key = a.split("=", 1)[0]
        out.append(f"{key}={REDACTED}" if "=" in a and is_secret_key(key) else a)
    return out
