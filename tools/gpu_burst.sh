#!/usr/bin/env bash
# One GPU burst of the skip-decoder training run, on the `device` tool's machine (PyTorch,
# Pillow, safetensors and tqdm are there; the Lite0 encoder weights ship in the package).
# Prepare here first: python tools/pack_gpu_burst.py   (writes .gpu/, about 35 MiB)
# Device call: command "bash tools/gpu_burst.sh 7.5", carry [".gpu"], timeout_s 600.
# It resumes .gpu/run/checkpoint.pt for at most $1 minutes (default 7.5) with bfloat16 autocast
# (crops prepared in worker threads) and writes checkpoint.pt, log.csv and the exported
# decoder.safetensors to $OUT; collect them here with
#   python tools/pack_gpu_burst.py --collect <files_at>
set -euo pipefail
cd "$(dirname "$0")/.."
export PYTHONPATH=src PYTHONUNBUFFERED=1
nvidia-smi --query-gpu=name,memory.total --format=csv,noheader || true
python3 -c "import torch, PIL, safetensors, tqdm; print('torch', torch.__version__)"
python3 -m depthstyle train .gpu/train/content .gpu/train/style -o .gpu/run \
    --decoder skip --skip-width 32 --init-from depthstyle-lite0-v1 \
    --size 256 --batch-size 32 --lr 5e-4 --lr-decay 1e-4 --style-weight 10 --mix-fraction 0.5 \
    --pixel-weight 10 --mix-style 1 --steps 400000 --checkpoint-every 500 --sample-every 0 \
    --max-minutes "${1:-7.5}" --device cuda --quiet || echo "train exited with $?"
cp .gpu/run/checkpoint.pt .gpu/run/log.csv "${OUT:?run this on the device machine}/"
cp .gpu/run/decoder.safetensors "$OUT/" 2>/dev/null || true
tail -3 .gpu/run/log.csv
