# Sourced by the recipes: run NAME OUT_FILE [finalize options] -- TRAIN_OPTIONS...
# Trains into runs/NAME (resuming a stopped run there) and writes OUT_FILE from its checkpoint.
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."
CONTENT="${CONTENT:-../shared/train/content}"
STYLE="${STYLE:-../shared/train/style}"
export DEPTHSTYLE_WEIGHTS_DIR="${DEPTHSTYLE_WEIGHTS_DIR:-$PWD/weights}"  # the earlier releases
run() {
    local name="$1" out="$2"
    shift 2
    local finalize=()
    while [ "$#" -gt 0 ] && [ "$1" != "--" ]; do finalize+=("$1"); shift; done
    shift
    depthstyle train "$CONTENT" "$STYLE" -o "runs/$name" --checkpoint-every 100 "$@"
    python tools/finalize_decoder.py "runs/$name/checkpoint.pt" -o "$out" "${finalize[@]}"
}
