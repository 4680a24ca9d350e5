#!/usr/bin/env bash
# Resume model v4's decoder (96,48,24,8 / skip 16; docs/model-card.md) from the checkpoint in
# this folder (step 9,661: 2,000 CPU steps of batch 8, then 7,661 GPU steps of batch 32; log.csv
# holds both, the "seconds" column tells them apart): copies it into runs/lite0-v4/ and goes on.
#   training/lite0-v4/resume.sh [MINUTES] [DEVICE]      (defaults: 60 minutes, auto)
# On the CPU one step of batch 8 at 256 px takes about 2.2 s. On a lent GPU use the burst instead
# (tools/gpu_session.sh; batch 32 there): python tools/pack_gpu_burst.py packs this checkpoint
# when runs/gpu-fast/ holds no newer one.
set -euo pipefail
. "$(dirname "$0")/../resume_run.sh"
resume_run lite0-v4 \
    --decoder skip --widths 96,48,24,8 --skip-width 16 --init-from depthstyle-lite0-v3 \
    --distill-from depthstyle-lite0-v3 --distill-weight 10 \
    --holdout benchmarks/validation-split.json --size 256 --batch-size 8 --lr 5e-4 \
    --lr-decay 1e-4 --style-weight 10 --mix-fraction 0.5 --pixel-weight 10 --mix-style 1 \
    --steps 100000 --checkpoint-every 100 --sample-every 0 --max-minutes "${1:-60}" \
    --device "${2:-auto}" --quiet
