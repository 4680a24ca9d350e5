#!/usr/bin/env bash
# Release v4 (2026-11-27), the bundled default: v3's skip decoder narrowed to 96/48/24/8 channels
# (skip 16), started from v3's most used channels, trained on v3's recipe plus an L1 term toward
# v3's own outputs. The release ran 2,000 steps of batch 8 on a 2-core CPU, then 7,661 steps of
# batch 32 on one H200 (bfloat16 autocast); this recipe runs batch 32 throughout.
#   bash training/lite0-v4.sh [MAX_MINUTES] [DEVICE]     (needs the v3 release: see
#   `depthstyle weights list`; about 2.2 s a step of batch 8 on a 2-core CPU)
. "$(dirname "$0")/_run.sh"
run lite0-v4 src/depthstyle/assets/lite0-decoder-v4.safetensors -- \
    --decoder skip --widths 96,48,24,8 --skip-width 16 --init-from depthstyle-lite0-v3 \
    --distill-from depthstyle-lite0-v3 --distill-weight 10 \
    --holdout benchmarks/validation-split.json --size 256 --batch-size 32 --lr 5e-4 \
    --lr-decay 1e-4 --style-weight 10 --mix-fraction 0.5 --pixel-weight 10 --mix-style 1 \
    --steps 9661 --sample-every 0 --max-minutes "${1:-600}" --device "${2:-auto}" --quiet
