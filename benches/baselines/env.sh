# Shared by benches/transfer.sh and benches/curve.sh (sourced from the repository root, with
# ROOT set): the datasets root (or "skipped" and exit 0 without it), the output folder $OUT,
# one core for native thread pools, and the baselines' virtualenv $VENV with its requirements.

DATASETS="${MODERATION_DATASETS:-$ROOT/../shared/datasets}"
if [ ! -d "$DATASETS" ]; then
    echo "skipped: no datasets at $DATASETS (set MODERATION_DATASETS to the shared datasets root)" >&2
    exit 0
fi
DATASETS="$(cd "$DATASETS" && pwd)"
export MODERATION_DATASETS="$DATASETS"

OUT="${TRANSFER_DIR:-$ROOT/target/transfer}"
mkdir -p "$OUT"
OUT="$(cd "$OUT" && pwd)"
VENV="$ROOT/target/compare/venv"

# One core: pin native thread pools (the scripts also pin them themselves; fastText runs with thread=1).
export OMP_NUM_THREADS=1 OPENBLAS_NUM_THREADS=1 MKL_NUM_THREADS=1 NUMEXPR_NUM_THREADS=1 \
    VECLIB_MAXIMUM_THREADS=1 BLIS_NUM_THREADS=1

if [ ! -x "$VENV/bin/python" ]; then
    echo "==> creating virtualenv $VENV" >&2
    mkdir -p "$(dirname "$VENV")"
    "${PYTHON:-python3}" -m venv "$VENV"
fi
echo "==> installing benches/baselines/requirements.txt" >&2
"$VENV/bin/python" -m pip install --quiet --disable-pip-version-check -r benches/baselines/requirements.txt
