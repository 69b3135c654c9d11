#!/usr/bin/env bash
# Leave-one-source-out (LOSO) transfer evaluation: our classifier and the classical baselines,
# each trained on all sources but one and tested on the held-out one.
#
#   benches/transfer.sh
#
# 1. creates a virtualenv at target/compare/venv (if missing; shared with benches/compare.sh) and
#    installs benches/baselines/requirements.txt into it;
# 2. runs our classifier (cargo, moderation-service transfer): it writes the pooled, deduplicated
#    corpus -> target/transfer/corpus.jsonl, its own LOSO figures -> target/transfer/ours.jsonl and
#    every text's held-out scores -> target/transfer/ours-scores.jsonl;
#    if it fails after writing the corpus, the baselines still run and the table has no "ours" column;
# 3. runs the baselines on the same corpus, one core (benches/baselines/loso.py)
#    -> target/transfer/baselines.jsonl, and every per-text score behind it
#    -> target/transfer/baselines-scores.jsonl;
# 4. writes target/transfer/table.md (benches/baselines/loso_table.py) and prints it: the baselines
#    at their default thresholds, at the same 5% review budget as ours (each baseline's
#    threshold chosen on its own scores of the other sources, from baselines-scores.jsonl), and
#    the best F1 any threshold could reach within that budget on each held-out source.
#
# Environment:
#   MODERATION_DATASETS  datasets root (default: <repo>/../shared/datasets); if it does not exist
#                        the script prints "skipped: ..." and exits 0
#   SKIP_OURS=1          skip step 2 and use the existing corpus.jsonl (and ours.jsonl, if any)
#   TRANSFER_DIR         directory of corpus.jsonl / ours.jsonl / baselines.jsonl /
#                        baselines-scores.jsonl / table.md
#                        (default: target/transfer)
#   SKIP_BASELINES=1     skip step 3 and use the existing baselines.jsonl and baselines-scores.jsonl
#                        (without the latter the table has no 5%-budget part; step 3 takes ~45 min of CPU;
#                        only valid while corpus.jsonl is unchanged: the table warns when a source's
#                        text / positive counts differ between ours.jsonl and baselines.jsonl)
#   LOSO_MODELS          comma-separated baselines for loso.py's --models (default: its default set;
#                        e.g. "LinearSVC,TF-IDF word 1-2 + LR,fastText (unweighted)")
#   LOSO_ARGS            further arguments for loso.py, word-split, e.g. "--jobs 2"
#   PYTHON               interpreter for the virtualenv (default: python3; CPython 3.11 is pinned for)
set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$ROOT"

# shellcheck source=baselines/env.sh
source benches/baselines/env.sh

if [ "${SKIP_OURS:-0}" = "1" ]; then
    echo "==> SKIP_OURS=1: not running our classifier; using the existing $OUT/corpus.jsonl" \
        "$([ -f "$OUT/ours.jsonl" ] && echo "and $OUT/ours.jsonl" || echo "(no ours.jsonl)")" >&2
else
    echo "==> our classifier (cargo run --release -p moderation-service -- transfer)" >&2
    rm -f "$OUT/corpus.jsonl" "$OUT/ours.jsonl" "$OUT/ours-scores.jsonl"
    if ! cargo run --release -p moderation-service -- transfer --datasets "$DATASETS" \
        --corpus-out "$OUT/corpus.jsonl" --out "$OUT/ours.jsonl" --scores-out "$OUT/ours-scores.jsonl"; then
        echo "warning: our classifier's transfer evaluation failed; the table will have the baselines only" >&2
        rm -f "$OUT/ours.jsonl"
    fi
fi
if [ ! -s "$OUT/corpus.jsonl" ]; then
    echo "error: no corpus at $OUT/corpus.jsonl (written by \`moderation transfer --corpus-out\`)" >&2
    exit 1
fi

if [ "${SKIP_BASELINES:-0}" = "1" ]; then
    if [ ! -f "$OUT/baselines.jsonl" ]; then
        echo "error: SKIP_BASELINES=1 but there is no $OUT/baselines.jsonl" >&2
        exit 1
    fi
    echo "==> SKIP_BASELINES=1: using the existing $OUT/baselines.jsonl" >&2
else
    echo "==> baselines, leave one source out (corpus: $OUT/corpus.jsonl)" >&2
    LOSO=(benches/baselines/loso.py --corpus "$OUT/corpus.jsonl" --out "$OUT/baselines.jsonl"
        --scores-out "$OUT/baselines-scores.jsonl")
    if [ -n "${LOSO_MODELS:-}" ]; then
        LOSO+=(--models "$LOSO_MODELS")
    fi
    # shellcheck disable=SC2086  # LOSO_ARGS is word-split on purpose
    "$VENV/bin/python" "${LOSO[@]}" ${LOSO_ARGS:-}
fi

echo "==> table -> $OUT/table.md" >&2
"$VENV/bin/python" benches/baselines/loso_table.py \
    --baselines "$OUT/baselines.jsonl" --scores "$OUT/baselines-scores.jsonl" --ours "$OUT/ours.jsonl" \
    --out "$OUT/table.md"
