#!/usr/bin/env bash
# Load test of the score endpoint on loopback with wrk (Debian package
# `wrk`): starts `moderation serve` on a scratch SQLite file, creates a forum
# key, runs wrk for DURATION (default 20s) with CONNECTIONS (default 64)
# connections on 2 threads, prints requests/s and latency percentiles.
#
#   benches/load.sh
set -euo pipefail
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$ROOT"
command -v wrk >/dev/null || { echo "wrk is required (apt-get install wrk)" >&2; exit 1; }
cargo build --release -q -p moderation-service
BIN="$ROOT/target/release/moderation"
DIR="$(mktemp -d)"
trap 'kill "$PID" 2>/dev/null || true; rm -rf "$DIR"' EXIT
DB="sqlite://$DIR/load.db"
KEY=$("$BIN" keys create --role forum --forum load --database "$DB" | sed -E 's/.*"token":"([^"]+)".*/\1/')
ADDR="127.0.0.1:${PORT:-18181}"
RUST_LOG=warn "$BIN" serve --listen "$ADDR" --database "$DB" &
PID=$!
for _ in $(seq 1 50); do curl -sf "http://$ADDR/healthz" >/dev/null && break; sleep 0.1; done
echo "score endpoint, ${CONNECTIONS:-64} connections, ${DURATION:-20s}:"
KEY="$KEY" wrk -t2 -c"${CONNECTIONS:-64}" -d"${DURATION:-20s}" --latency -s benches/load/score.lua "http://$ADDR/v1/score" | tail -1
