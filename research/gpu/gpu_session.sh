#!/usr/bin/env bash
# One prepared device call (the `device` tool), in order of value per minute:
#   1. the CUDA tests (tests/test_cuda.py, and tests/test_pipeline.py with device "auto" = cuda);
#   2. benchmarks/bench_gpu.py (fp32/fp16, batch 1/8/32 at 512², ground-truth and Depth
#      Anything-shaped depth);
#   3. a training burst (research/gpu/gpu_burst.sh ... VARIANT; default fast = model v4's decoder;
#      swd = v4 resumed with the sliced Wasserstein term; patch = v4 resumed with the
#      pixel-patch one) in the time left before BUDGET seconds, so that one call fits the
#      device's 10-minute limit.
# Prepare here: python research/gpu/pack_gpu_burst.py (writes .gpu/). Device call:
#   command "bash research/gpu/gpu_session.sh 540 [VARIANT]", carry [".gpu/train"], timeout_s 590
# (.gpu/fast is not carried, to keep under the 64 MiB limit: the burst starts from
# training/lite0-v4, model v4's checkpoint, unless .gpu/fast was packed from a newer run).
# Results come back under $OUT/bench and $OUT/VARIANT.
set -uo pipefail
cd "$(dirname "$0")/../.."
export PYTHONPATH=src PYTHONUNBUFFERED=1
budget="${1:-540}"
variant="${2:-fast}"
mkdir -p "${OUT:?run this on the device machine}/bench" .gpu/fast
nvidia-smi --query-gpu=name,memory.total,driver_version --format=csv,noheader || true
timeout 150 python3 -m pytest -q -p no:cacheprovider tests/test_cuda.py tests/test_pipeline.py \
    >"$OUT/bench/cuda_tests.txt" 2>&1
echo "tests rc=$? after ${SECONDS}s"; tail -4 "$OUT/bench/cuda_tests.txt"
timeout 180 python3 benchmarks/bench_gpu.py --depth-arch --out "$OUT/bench/gpu.json" \
    >"$OUT/bench/gpu.log" 2>&1
echo "bench rc=$? after ${SECONDS}s"; cut -c1-160 "$OUT/bench/gpu.log" | tail -14
minutes=$(python3 -c "print(max(1.0, ($budget - $SECONDS - 60) / 60))")
echo "training variant $variant for $minutes min"
bash research/gpu/gpu_burst.sh "$minutes" "$variant"
echo "done after ${SECONDS}s"
