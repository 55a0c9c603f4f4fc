#!/usr/bin/env bash
# The checks that need a CUDA GPU, in one run: the Triton kernels compiled for real against their references
# (tests/gpu), the CKD-loss and reward benchmarks (their "on GPU" sections of docs/benchmarks.md), and short
# bf16 training runs (SFT, then teacher SFT -> rollouts -> cache -> fused-linear CKD) of a random-init
# Qwen3-0.6B-shaped model. Uses the python on PATH, which must already hold torch with CUDA and fctrain.
#   bash scripts/gpu_checks.sh [OUT_DIR]      (logs, a summary and the updated docs/benchmarks.md land there)
#   STEPS="tests bench_ckd" bash scripts/gpu_checks.sh    (only those steps; default: all of them)
set -uo pipefail
cd "$(dirname "$0")/.."
OUT=${1:-${OUT:-runs/gpu_checks}}
mkdir -p "$OUT"
export PYTHONUNBUFFERED=1 TOKENIZERS_PARALLELISM=false HF_HUB_OFFLINE=1 TRANSFORMERS_OFFLINE=1 WANDB_MODE=offline
export FCTRAIN_CACHE=${FCTRAIN_CACHE:-/tmp/fctrain-cache}

STEPS=${STEPS:-tests bench_ckd breakdown bench_reward bf16_sft bf16_ckd}

# step NAME SECONDS CMD...: run CMD with a time limit, log it to OUT/NAME.log, note rc and time in summary.txt.
step() {
  local name=$1 limit=$2 start rc
  shift 2
  [[ " $STEPS " == *" $name "* ]] || return 0
  start=$(date +%s)
  echo "=== $name: $*" | tee -a "$OUT/$name.log"
  timeout "$limit" "$@" >>"$OUT/$name.log" 2>&1
  rc=$?
  echo "$name rc=$rc $(( $(date +%s) - start )) s" | tee -a "$OUT/summary.txt"
  tail -n 25 "$OUT/$name.log"
}

{ nvidia-smi --query-gpu=name,memory.total,driver_version --format=csv,noheader
  python3 -c "import torch, triton, transformers, trl; print('torch', torch.__version__, 'triton', triton.__version__,
'transformers', transformers.__version__, 'trl', trl.__version__)"; } 2>&1 | tee -a "$OUT/summary.txt"

# test_selected_logits runs the older-transformers fallback on this machine's release (its last test only
# states what the CPU venv has).
step tests 200 python3 -m pytest -q -p no:cacheprovider tests/gpu tests/losses/test_ckd_loss.py \
  tests/losses/test_fused_linear_ckd.py tests/models/test_selected_logits.py -k "not takes_a_boolean_mask"
step bench_ckd 240 python3 scripts/bench_ckd.py --device cuda --write-docs
step breakdown 90 python3 scripts/bench_ckd.py --device cuda --breakdown --tokens 4096 16384
step bench_reward 150 python3 scripts/bench_reward.py --device cuda --n 10000 --repeat 2 --data "${XLAM_DATA:-../shared/data/xlam_messages_1k.jsonl}"
cp docs/benchmarks.md "$OUT/benchmarks.md"

# A random-init model of Qwen3-0.6B's shape (hidden 1024, 28 layers, 16/8 heads, MLP 3072, vocab 151,936;
# head_dim 64 where the real one has 128) with the tiny test tokenizer: real per-token cost, offline.
MODEL=/tmp/qwen3-0.6b-shaped
[[ "$STEPS" == *bf16* ]] && python3 -c "from fctrain.testing import save_tiny_model
save_tiny_model('$MODEL', 'qwen3', vocab_size=151936, hidden_size=1024, num_layers=28, num_heads=16,
                num_kv_heads=8, intermediate_size=3072)" >>"$OUT/model.log" 2>&1
step bf16_sft 120 fctrain run recipes/smoke/sft.yaml model.name_or_path=$MODEL output_dir=/tmp/gpu-runs/sft \
  data.sources.0.n=512 stages.sft.max_steps=30 stages.sft.per_device_train_batch_size=8 stages.sft.learning_rate=1e-4
step bf16_ckd 150 fctrain run recipes/smoke/ckd.yaml model.name_or_path=$MODEL teacher.name_or_path=$MODEL \
  output_dir=/tmp/gpu-runs/ckd data.sources.0.n=256 stages.sft_teacher.learning_rate=1e-4 \
  stages.rollout.max_prompts=32 stages.cache_teacher.k=100 stages.ckd.k=100 stages.ckd.top_m=100 \
  stages.ckd.fused_linear=true stages.ckd.learning_rate=1e-4 stages.ckd.max_steps=30 \
  stages.ckd.per_device_train_batch_size=8
