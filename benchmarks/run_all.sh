#!/usr/bin/env bash
# Rerun every benchmark of benchmarks/RESULTS.md (CPU; about 20 minutes on 2 cores).
# Needs ../shared beside the repository for the encoder comparison.
set -euo pipefail
cd "$(dirname "$0")/.."
mkdir -p benchmarks/results
python benchmarks/bench_stylize.py --sizes 256 512 1024 2048 --reps 5 --no-cache \
    --depth-arch --contiguous --batches 1 4 --out benchmarks/results/stylize_cpu.json
python benchmarks/bench_stylize.py --model vgg19-arch --sizes 256 512 --reps 3 \
    --out benchmarks/results/stylize_cpu_vgg_arch.json
python benchmarks/bench_tiled.py --out benchmarks/results/tiled_cpu.json
python research/encoder_comparison.py --part cost --out research/research/results/encoder_cost.json
python research/encoder_comparison.py --part quality --size 160 --steps 40 \
    --contents golden_gate --styles la_muse woman_with_hat_matisse \
    --out research/research/results/encoder_comparison.json \
    --images-out docs/figures/encoder_comparison.png
python benchmarks/bench_video.py --out benchmarks/results/video_cpu.json
python benchmarks/bench_web.py --out benchmarks/results/web_cpu.json
python benchmarks/bench_backends.py --out benchmarks/results/backends_cpu.json
python benchmarks/bench_optimize.py --steps 50 --out benchmarks/results/optimize_cpu.json
# model v2 vs v1: speed with and without the detail residual, edge bands,
# response to strength
python benchmarks/bench_stylize.py --model depthstyle-lite0-v2 --sizes 256 512 --reps 5 \
    --no-detail --out benchmarks/results/stylize_cpu_v2.json
python benchmarks/bench_stylize.py --model depthstyle-lite0-v1 --sizes 256 512 --reps 5 \
    --no-detail --out benchmarks/results/stylize_cpu_v1_engine.json
for m in v1 v2; do
    python research/border_bands.py --model depthstyle-lite0-$m --contents ../shared/train/content \
        --split benchmarks/validation-split.json -o benchmarks/results/border_bands_$m.json
done
python research/strength_sweep.py --model depthstyle-lite0-v2
# dataset runs: local engine vs Ray with 1 and 2 actors
python benchmarks/bench_ray.py --photos ../shared/train/content --styles ../shared/images/style \
    --out benchmarks/results/ray_cpu.json
