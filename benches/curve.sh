#!/usr/bin/env bash
# Adaptation learning curve: the shipped model adapted to a source from k of its labelled texts,
# against classical baselines trained in domain on the same k texts, tested on the same held-out
# texts of that source.
#
#   benches/curve.sh
#
# 1. creates a virtualenv at target/compare/venv (if missing; shared with benches/compare.sh and
#    benches/transfer.sh) and installs benches/baselines/requirements.txt into it;
# 2. runs ours (cargo, moderation-service curve): it writes the pooled corpus
#    -> target/transfer/corpus.jsonl, the splits (per source, draw and k: the k training ids and the
#    test ids; three draws, shuffle seeds 1, 2 and 3, since one draw of 50 texts is noisy)
#    -> target/transfer/curve-splits.jsonl and its own figures -> target/transfer/curve.jsonl;
#    if it fails after writing the corpus and the splits, the baselines still run and the table has
#    no "ours" column;
# 3. runs the baselines on the same splits, one core (benches/baselines/curve.py)
#    -> target/transfer/curve-baselines.jsonl (~6 min of CPU for 9 sources x 3 draws x 4 k x 3 models);
# 4. writes target/transfer/curve.md (benches/baselines/curve_table.py) and prints it: F1 / PR-AUC
#    per source and k (the mean of the draws), the macro average per k, and the check
#    "ours >= best baseline - 0.01" for k >= 50.
#
# Environment:
#   MODERATION_DATASETS  datasets root (default: <repo>/../shared/datasets); if it does not exist
#                        the script prints "skipped: ..." and exits 0
#   SKIP_OURS=1          skip step 2 and use the existing corpus.jsonl and curve-splits.jsonl (and
#                        curve.jsonl, if any)
#   TRANSFER_DIR         directory of corpus.jsonl / curve-splits.jsonl / curve.jsonl /
#                        curve-baselines.jsonl / curve.md (default: target/transfer; shared with
#                        benches/transfer.sh, whose corpus.jsonl is the same pooled corpus)
#   CURVE_MODELS         comma-separated baselines for curve.py's --models (default: its default set,
#                        LinearSVC, MultinomialNB, fastText)
#   CURVE_ARGS           further arguments for curve.py, word-split, e.g. "--seed 1"
#   PYTHON               interpreter for the virtualenv (default: python3; CPython 3.11 is pinned for)
set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$ROOT"

# shellcheck source=baselines/env.sh
source benches/baselines/env.sh

if [ "${SKIP_OURS:-0}" = "1" ]; then
    echo "==> SKIP_OURS=1: not running ours; using the existing $OUT/corpus.jsonl and $OUT/curve-splits.jsonl" \
        "$([ -f "$OUT/curve.jsonl" ] && echo "and $OUT/curve.jsonl" || echo "(no curve.jsonl)")" >&2
else
    echo "==> ours (cargo run --release -p moderation-service -- curve)" >&2
    rm -f "$OUT/corpus.jsonl" "$OUT/curve-splits.jsonl" "$OUT/curve.jsonl"
    if ! cargo run --release -p moderation-service -- curve --datasets "$DATASETS" \
        --out "$OUT/curve.jsonl" --splits-out "$OUT/curve-splits.jsonl" --corpus-out "$OUT/corpus.jsonl"; then
        echo "warning: our learning curve failed; the table will have the baselines only" >&2
        rm -f "$OUT/curve.jsonl"
    fi
fi
for f in corpus.jsonl curve-splits.jsonl; do
    if [ ! -s "$OUT/$f" ]; then
        echo "error: no $OUT/$f (written by \`moderation curve\`)" >&2
        exit 1
    fi
done

echo "==> baselines, in domain on the same k texts (splits: $OUT/curve-splits.jsonl)" >&2
CURVE=(benches/baselines/curve.py --corpus "$OUT/corpus.jsonl" --splits "$OUT/curve-splits.jsonl"
    --out "$OUT/curve-baselines.jsonl")
if [ -n "${CURVE_MODELS:-}" ]; then
    CURVE+=(--models "$CURVE_MODELS")
fi
# shellcheck disable=SC2086  # CURVE_ARGS is word-split on purpose
"$VENV/bin/python" "${CURVE[@]}" ${CURVE_ARGS:-}

echo "==> table -> $OUT/curve.md" >&2
"$VENV/bin/python" benches/baselines/curve_table.py \
    --ours "$OUT/curve.jsonl" --baselines "$OUT/curve-baselines.jsonl" --out "$OUT/curve.md"
