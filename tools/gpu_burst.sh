#!/usr/bin/env bash
# One GPU burst of the v2 training run, on the `device` tool's machine (PyTorch is there).
# Prepare here first: python tools/pack_gpu_burst.py   (writes .gpu/, about 30 MiB)
# Device call: command "bash tools/gpu_burst.sh 8", carry [".gpu"], timeout_s 600.
# It resumes .gpu/run/checkpoint.pt for at most $1 minutes (default 8) with bfloat16 autocast
# and writes the new checkpoint.pt and log.csv to $OUT; collect them here with
#   python tools/pack_gpu_burst.py --collect <files_at>
set -euo pipefail
cd "$(dirname "$0")/.."
export PYTHONPATH=src PYTHONUNBUFFERED=1
nvidia-smi --query-gpu=name,memory.total --format=csv,noheader || true
python3 -m depthstyle train .gpu/train/content .gpu/train/style -o .gpu/run \
    --decoder skip --skip-width 32 --init-from depthstyle-lite0-v1 \
    --size 192 --batch-size 8 --lr 5e-4 --lr-decay 1e-4 --style-weight 3 --mix-fraction 0.5 \
    --pixel-weight 10 --steps 40000 --checkpoint-every 500 --sample-every 0 \
    --max-minutes "${1:-8}" --device cuda --quiet
cp .gpu/run/checkpoint.pt .gpu/run/log.csv "${OUT:?run this on the device machine}/"
tail -2 .gpu/run/log.csv
