#!/usr/bin/env bash
# Release v3 (2026-11-26): v2's skip decoder, skips open, trained on to step 18,774 at batch 32
# with --mix-style 1 (the release: steps 0-3,100 were v2's CPU run at batch 8 and 192 px, the
# rest ran on a GPU on the training images shrunk to 384 px).
#   bash training/lite0-v3.sh [MAX_MINUTES] [DEVICE]     (about 10 s a step on a 2-core CPU)
. "$(dirname "$0")/_run.sh"
run lite0-v3 weights/lite0-decoder-v3.safetensors -- \
    --decoder skip --skip-width 32 --init-from depthstyle-lite0-v1 \
    --holdout benchmarks/validation-split.json --size 256 --batch-size 32 --lr 5e-4 \
    --lr-decay 1e-4 --style-weight 10 --mix-fraction 0.5 --pixel-weight 10 --mix-style 1 \
    --steps 18774 --sample-every 1000 --max-minutes "${1:-600}" --device "${2:-auto}"
