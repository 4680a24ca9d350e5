#!/usr/bin/env bash
# Resume the training run of the bundled model v3 (docs/model-card.md) from the checkpoint in
# this folder: copies it into runs/lite0-v3/ and continues there.
#   training/lite0-v3/resume.sh [MINUTES] [DEVICE]      (defaults: 150 minutes, auto)
# Steps 0-3,100 were the v2 run (training/lite0-v2, CPU, batch 8 at 192 px); steps 3,100-18,774
# ran on a lent H100 with the settings below (tools/gpu_burst.sh, which trains on the same images
# shrunk to 384 px). On a CPU one step of batch 32 at 256 px takes about 10 s.
# The run is deterministic given (seed, step). After it stops, runs/lite0-v3/decoder.safetensors
# is the exported decoder; `python tools/finalize_decoder.py runs/lite0-v3/checkpoint.pt -o FILE`
# makes the bundled file (with v1's strength module).
set -euo pipefail
. "$(dirname "$0")/../resume_run.sh"
resume_run lite0-v3 \
    --decoder skip --skip-width 32 --init-from depthstyle-lite0-v1 \
    --holdout benchmarks/validation-split.json --size 256 --batch-size 32 --lr 5e-4 \
    --lr-decay 1e-4 --style-weight 10 --mix-fraction 0.5 --pixel-weight 10 --mix-style 1 \
    --steps 400000 --checkpoint-every 100 --sample-every 1000 --max-minutes "${1:-150}" \
    --device "${2:-auto}"
