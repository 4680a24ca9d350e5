#!/usr/bin/env bash
# Evaluate a training run's current checkpoint on the small validation split (the
# quick check, docs/model-card.md): snapshots runs/RUN/checkpoint.pt as ckpt_TAG.pt (once),
# turns it into a decoder file with tools/finalize_decoder.py and runs `depthstyle eval
# --quality` into eval/small-RUN-TAG; prints the medians on one line.
#   research/gpu/eval_checkpoint.sh RUN TAG          (THREADS=N: threads for the evaluation, default 1)
set -euo pipefail
cd "$(dirname "$0")/../.."
run=$1
tag=$2
[ -f "runs/$run/ckpt_$tag.pt" ] || cp "runs/$run/checkpoint.pt" "runs/$run/ckpt_$tag.pt"
python tools/finalize_decoder.py "runs/$run/ckpt_$tag.pt" \
    -o "runs/$run/decoder_$tag.safetensors" >/dev/null
OMP_NUM_THREADS=${THREADS:-1} depthstyle eval --quality ../shared/train/content \
    -s ../shared/train/style --split benchmarks/validation-split-small.json \
    --specificity-contents 8 --model "runs/$run/decoder_$tag.safetensors" -q \
    -o "eval/small-$run-$tag" >/dev/null
python - "$run" "$tag" <<'PY'
import json
import sys

q = json.load(open(f"eval/small-{sys.argv[1]}-{sys.argv[2]}/quality.json"))
keys = ["median_psnr", "median_ssim", "median_specificity_gradient", "median_specificity_gram",
        "median_style_meanstd", "median_style_gram", "max_border_ratio"]
print(sys.argv[1], sys.argv[2], " ".join(f"{k.removeprefix('median_')}={q[k]:.4g}" for k in keys))
PY
