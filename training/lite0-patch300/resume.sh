#!/usr/bin/env bash
# Resume the ninth session's pixel-patch run (docs/model-card.md, "Ninth session"): model v4's
# checkpoint continued with --patch-swd-weight 300 for 2,290 CPU steps of batch 8 (step 11,951;
# log.csv holds both CPU parts, steps 11,101-11,120 twice). Not shipped: no checkpoint was
# clearly more style-specific than v4. Copies it into runs/lite0-patch300/ and goes on.
#   training/lite0-patch300/resume.sh [MINUTES] [DEVICE]      (defaults: 60 minutes, auto)
# About 2.2 s per step on the 2-core CPU. On a lent GPU use the burst (tools/gpu_session.sh 540
# patch), which starts from this checkpoint.
set -euo pipefail
. "$(dirname "$0")/../resume_run.sh"
resume_run lite0-patch300 \
    --decoder skip --widths 96,48,24,8 --skip-width 16 --init-from depthstyle-lite0-v3 \
    --distill-from depthstyle-lite0-v3 --distill-weight 10 \
    --holdout benchmarks/validation-split.json --size 256 --batch-size 8 --lr 5e-4 \
    --lr-decay 1e-4 --style-weight 10 --mix-fraction 0.5 --pixel-weight 10 --mix-style 1 \
    --patch-swd-weight 300 \
    --steps 100000 --checkpoint-every 100 --sample-every 0 --max-minutes "${1:-60}" \
    --device "${2:-auto}" --quiet
