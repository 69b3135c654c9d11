#!/usr/bin/env bash
# Honest classifier comparison on the canonical train/test splits.
#
#   benches/compare.sh
#
# 1. creates a virtualenv at target/compare/venv (if missing) and installs
#    benches/baselines/requirements.txt into it;
# 2. runs the classical baselines (benches/baselines/baselines.py) on one core
#    -> target/compare/baselines.jsonl;
# 3. runs our classifier on the same splits (cargo, moderation-service eval-splits)
#    -> target/compare/ours.jsonl; if that fails the baseline table is still made;
# 4. writes target/compare/table.md (benches/baselines/table.py) and prints it.
#
# Environment:
#   MODERATION_DATASETS  datasets root (default: <repo>/../shared/datasets)
#   SKIP_OURS=1          skip step 3 (an existing target/compare/ours.jsonl is still used)
#   PYTHON               interpreter for the virtualenv (default: python3; CPython 3.11 is pinned for)
set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$ROOT"

DATASETS="${MODERATION_DATASETS:-$ROOT/../shared/datasets}"
if [ ! -d "$DATASETS" ] || [ ! -f "$DATASETS/splits/README.md" ]; then
    echo "error: datasets directory not found: $DATASETS" >&2
    echo "       (expected the shared datasets with splits/README.md; set MODERATION_DATASETS to its path)" >&2
    exit 1
fi
DATASETS="$(cd "$DATASETS" && pwd)"
export MODERATION_DATASETS="$DATASETS"

OUT="$ROOT/target/compare"
VENV="$OUT/venv"
mkdir -p "$OUT"

if [ ! -x "$VENV/bin/python" ]; then
    echo "==> creating virtualenv $VENV" >&2
    "${PYTHON:-python3}" -m venv "$VENV"
fi
echo "==> installing benches/baselines/requirements.txt" >&2
"$VENV/bin/python" -m pip install --quiet --disable-pip-version-check -r benches/baselines/requirements.txt

# One core for the baselines: pin native thread pools (baselines.py also pins them itself).
export OMP_NUM_THREADS=1 OPENBLAS_NUM_THREADS=1 MKL_NUM_THREADS=1 NUMEXPR_NUM_THREADS=1

echo "==> baselines (datasets: $DATASETS)" >&2
"$VENV/bin/python" benches/baselines/baselines.py --datasets "$DATASETS" --out "$OUT/baselines.jsonl"

if [ "${SKIP_OURS:-0}" = "1" ]; then
    if [ -f "$OUT/ours.jsonl" ]; then
        echo "==> SKIP_OURS=1: not running our classifier; using the existing $OUT/ours.jsonl" >&2
    else
        echo "==> SKIP_OURS=1: not running our classifier" >&2
    fi
else
    echo "==> our classifier (cargo run --release -p moderation-service -- eval-splits)" >&2
    rm -f "$OUT/ours.jsonl"
    if ! cargo run --release -p moderation-service -- eval-splits --datasets "$DATASETS" --out target/compare/ours.jsonl; then
        echo "warning: our classifier's evaluation failed; the table below has the baselines only" >&2
        rm -f "$OUT/ours.jsonl"
    fi
fi

echo "==> table -> $OUT/table.md" >&2
"$VENV/bin/python" benches/baselines/table.py \
    --baselines "$OUT/baselines.jsonl" --ours "$OUT/ours.jsonl" \
    --datasets "$DATASETS" --out "$OUT/table.md"
