#!/usr/bin/env bash
# Resume the training run of the bundled model v2 (docs/model-card.md) from the checkpoint in
# this folder, on a fresh machine: copies it into runs/lite0-v2/ and continues there.
#   training/lite0-v2/resume.sh [MINUTES] [DEVICE]      (defaults: 150 minutes, auto)
# The run is deterministic given (seed, step): batches depend only on them, so a resumed run
# continues exactly as an uninterrupted one. After it stops, runs/lite0-v2/decoder.safetensors
# is the exported decoder; copy checkpoint.pt and log.csv back here to carry the run on.
set -euo pipefail
. "$(dirname "$0")/../resume_run.sh"
resume_run lite0-v2 \
    --decoder skip --skip-width 32 --init-from depthstyle-lite0-v1 \
    --holdout benchmarks/validation-split.json --size 192 --batch-size 8 --lr 5e-4 \
    --lr-decay 1e-4 --style-weight 3 --mix-fraction 0.5 --pixel-weight 10 --steps 40000 \
    --checkpoint-every 100 --sample-every 1000 --max-minutes "${1:-150}" --device "${2:-auto}"
