#!/usr/bin/env bash
# Release v1 (2026-11-25): compact decoder of the deepest tap, then the learned strength module.
#   bash training/lite0-v1.sh [MAX_MINUTES] [DEVICE]
# The release ran steps 0-1,000 with --mix-fraction 0.25 and the rest with 0.5; this recipe uses
# 0.5 throughout. The strength module trains on the finished decoder (1,500 steps, lr 1e-3).
. "$(dirname "$0")/_run.sh"
minutes="${1:-600}" device="${2:-auto}"
depthstyle train "$CONTENT" "$STYLE" -o runs/lite0-v1 --size 224 --batch-size 8 --lr 5e-4 \
    --lr-decay 1e-4 --style-weight 2 --mix-fraction 0.5 --steps 4000 --checkpoint-every 100 \
    --max-minutes "$minutes" --device "$device"
depthstyle train "$CONTENT" "$STYLE" -o runs/lite0-v1-strength --model runs/lite0-v1/decoder.safetensors \
    --learn-strength --strength-groups 4 --steps 1500 --size 224 --batch-size 8 \
    --max-minutes "$minutes" --device "$device"
cp runs/lite0-v1-strength/model.safetensors weights/lite0-decoder-v1.safetensors
sha256sum weights/lite0-decoder-v1.safetensors
