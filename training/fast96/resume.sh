#!/usr/bin/env bash
# Resume the narrower skip decoder of the seventh session (96,48,24,8 / skip 16; not shipped,
# docs/model-card.md "Seventh session") from the checkpoint in this folder (step 2,000, trained
# on the 2-core CPU): copies it into runs/fast96/ and continues there.
#   training/fast96/resume.sh [MINUTES] [DEVICE]      (defaults: 60 minutes, auto)
# On the CPU one step of batch 8 at 256 px takes about 2.2 s. On a lent GPU use the burst instead:
#   mkdir -p runs/gpu-fast && cp training/fast96/checkpoint.pt runs/gpu-fast/
#   python tools/pack_gpu_burst.py
#   device command: FAST_WIDTHS=96,48,24,8 bash tools/gpu_burst.sh 8 fast   (carry [".gpu"])
set -euo pipefail
cd "$(dirname "$0")/../.."
mkdir -p runs/fast96
if [ ! -f runs/fast96/checkpoint.pt ]; then
    cp training/fast96/checkpoint.pt runs/fast96/checkpoint.pt
    cp training/fast96/log.csv runs/fast96/log.csv
fi
exec depthstyle train ../shared/train/content ../shared/train/style -o runs/fast96 \
    --decoder skip --widths 96,48,24,8 --skip-width 16 --init-from depthstyle-lite0-v3 \
    --distill-from depthstyle-lite0-v3 --distill-weight 10 \
    --holdout benchmarks/validation-split.json --size 256 --batch-size 8 --lr 5e-4 \
    --lr-decay 1e-4 --style-weight 10 --mix-fraction 0.5 --pixel-weight 10 --mix-style 1 \
    --steps 100000 --checkpoint-every 100 --sample-every 0 --max-minutes "${1:-60}" \
    --device "${2:-auto}" --quiet
