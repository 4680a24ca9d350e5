# Sourced by training/<run>/resume.sh: resume_run NAME TRAIN_OPTIONS...
# Copies training/NAME/checkpoint.pt and log.csv into runs/NAME/ (unless a run is already there)
# and continues it with `depthstyle train` on ../shared/train, writing to runs/NAME.
resume_run() {
    local name="$1"
    shift
    cd "$(dirname "${BASH_SOURCE[0]}")/.."
    mkdir -p "runs/$name"
    if [ ! -f "runs/$name/checkpoint.pt" ]; then
        cp "training/$name/checkpoint.pt" "runs/$name/checkpoint.pt"
        cp "training/$name/log.csv" "runs/$name/log.csv"
    fi
    exec depthstyle train ../shared/train/content ../shared/train/style -o "runs/$name" "$@"
}
