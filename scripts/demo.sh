#!/usr/bin/env bash
# The main job on the embedded default model: set up .venv (idempotent), then `fctrain demo`.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup_env.sh
export TOKENIZERS_PARALLELISM=false HF_HUB_OFFLINE=1 TRANSFORMERS_OFFLINE=1 HF_DATASETS_OFFLINE=1
.venv/bin/fctrain demo "$@"
