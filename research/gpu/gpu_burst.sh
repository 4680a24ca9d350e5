#!/usr/bin/env bash
# One GPU burst of decoder training, on the `device` tool's machine (PyTorch, Pillow,
# safetensors and tqdm are there; the Lite0 encoder weights ship in the package).
# Prepare here first: python research/gpu/pack_gpu_burst.py   (writes .gpu/, about 35 MiB)
#
#   bash research/gpu/gpu_burst.sh MINUTES [VARIANT]
#
# VARIANT (default v3):
#   v3    resumes the v3 run (.gpu/run) with its own recipe;
#   fast  model v4's decoder: v3's skip decoder narrowed (FAST_WIDTHS, default 96,48,24,8;
#         FAST_SKIP, default 16; 0.57 of v3's decoder time on the 2-core CPU,
#         benchmarks/bench_decoder_cost.py) started from v3's most used channels and trained on
#         v3's recipe plus an L1 term toward v3's own outputs, in .gpu/fast (the pack puts
#         training/lite0-v4 there unless runs/gpu-fast holds a newer checkpoint);
#   swd   v4's checkpoint (.gpu/fast, optimiser state included) resumed in .gpu/swd with the
#         sliced Wasserstein style loss added (SWD_WEIGHT, default 10): a
#         CPU ablation moved specificity about 2 % against its control (docs/model-card.md);
#   patch the pixel-patch run (training/lite0-patch300: v4 + 2,290 CPU steps with
#         --patch-swd-weight 300; a collected GPU run's in .gpu/patch, if packed) continued with
#         the same term (PATCH_WEIGHT, default 300; docs/method.md §6, docs/model-card.md);
#   gram  v3's checkpoint (.gpu/gram) plus a Gram-matrix style loss (GRAM_WEIGHT, default 3);
#         a short CPU run of it lowered specificity (docs/model-card.md), so it is not the plan.
# Each trains for at most MINUTES with bfloat16 autocast (crops prepared in worker threads) and
# writes checkpoint.pt, log.csv and decoder.safetensors to $OUT/VARIANT.
# The prepared device call:
#   command "bash research/gpu/gpu_burst.sh 8 fast", carry [".gpu"], timeout_s 600
# then collect here: python research/gpu/pack_gpu_burst.py --collect <files_at>/fast --variant fast
set -euo pipefail
cd "$(dirname "$0")/../.."
export PYTHONPATH=src PYTHONUNBUFFERED=1
minutes="${1:-7.5}"
variant="${2:-v3}"
nvidia-smi --query-gpu=name,memory.total --format=csv,noheader || true
python3 -c "import torch, PIL, safetensors, tqdm; print('torch', torch.__version__)"
common=(--size 256 --batch-size 32 --lr 5e-4 --lr-decay 1e-4 --style-weight 10
        --mix-fraction 0.5 --pixel-weight 10 --mix-style 1 --steps 400000
        --checkpoint-every 500 --sample-every 0 --max-minutes "$minutes" --device cuda --quiet)
v4=(--decoder skip --skip-width "${FAST_SKIP:-16}" --widths "${FAST_WIDTHS:-96,48,24,8}"
    --init-from depthstyle-lite0-v3 --distill-from depthstyle-lite0-v3 --distill-weight 10)
case "$variant" in
    v3)   run=.gpu/run
          extra=(--decoder skip --skip-width 32 --init-from depthstyle-lite0-v1) ;;
    gram) run=.gpu/gram
          extra=(--decoder skip --skip-width 32 --init-from depthstyle-lite0-v1
                 --gram-weight "${GRAM_WEIGHT:-3}") ;;
    fast) run=.gpu/fast
          extra=("${v4[@]}") ;;
    swd)  run=.gpu/swd
          mkdir -p "$run"
          [ -f "$run/checkpoint.pt" ] || cp .gpu/fast/checkpoint.pt "$run/checkpoint.pt"
          extra=("${v4[@]}" --swd-weight "${SWD_WEIGHT:-10}") ;;
    patch) run=.gpu/patch
          mkdir -p "$run"
          extra=("${v4[@]}" --patch-swd-weight "${PATCH_WEIGHT:-300}") ;;
    *)    echo "unknown variant $variant (v3, gram, fast, swd, patch)" >&2; exit 2 ;;
esac
mkdir -p "$run"
python3 -m depthstyle train .gpu/train/content .gpu/train/style -o "$run" "${extra[@]}" \
    "${common[@]}" || echo "train exited with $?"
dest="${OUT:?run this on the device machine}/$variant"
mkdir -p "$dest"
cp "$run/checkpoint.pt" "$run/log.csv" "$dest/"
cp "$run/decoder.safetensors" "$dest/" 2>/dev/null || true
tail -3 "$run/log.csv"
