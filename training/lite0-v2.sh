#!/usr/bin/env bash
# Release v2 (2026-11-26): a skip decoder warm-started from v1, trained 3,100 steps with a
# stronger style loss, shipped as its trunk (the compact decoder it computes with its skips
# closed).   bash training/lite0-v2.sh [MAX_MINUTES] [DEVICE]
. "$(dirname "$0")/_run.sh"
run lite0-v2 weights/lite0-decoder-v2.safetensors --trunk -- \
    --decoder skip --skip-width 32 --init-from depthstyle-lite0-v1 \
    --holdout benchmarks/validation-split.json --size 192 --batch-size 8 --lr 5e-4 \
    --lr-decay 1e-4 --style-weight 3 --mix-fraction 0.5 --pixel-weight 10 --steps 3100 \
    --sample-every 1000 --max-minutes "${1:-600}" --device "${2:-auto}"
