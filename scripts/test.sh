#!/usr/bin/env bash
# The whole test suite on CPU: set up .venv (idempotent), lint, then pytest. CI runs exactly this.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup_env.sh
# PYTHONSAFEPATH: `python -m` must not put the checkout on sys.path (its kernels/ folder would shadow the
# `kernels` package transformers imports).
export TOKENIZERS_PARALLELISM=false HF_HUB_OFFLINE=1 TRANSFORMERS_OFFLINE=1 HF_DATASETS_OFFLINE=1 WANDB_MODE=offline \
  PYTHONSAFEPATH=1
.venv/bin/ruff check .
.venv/bin/python -m pytest -q "$@"
