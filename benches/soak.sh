#!/usr/bin/env bash
# Soak test of the HTTP service: bounded mixed load for a long time, sampling
# the server's memory, open files, CPU, database connections, database size
# and latency, to show that nothing grows without bound.
#
#   benches/soak.sh                          # 30 minutes at 200 requests/s on a scratch SQLite file
#   DURATION=5m benches/soak.sh              # shorter (s, m or h)
#   DATABASE=postgres benches/soak.sh        # scratch database `moderation_soak` on the local PostgreSQL
#   RATE=100 SAMPLE=60 RULES_EVERY=60 benches/soak.sh
#
# The mix (benches/soak.py): 50% score, 25% submit (1 in 4 queued), 10% queue
# listing, 7% claim-next then decide, 5% reports, 3% item reads, and a rule
# layer PUT every RULES_EVERY seconds. Every SAMPLE seconds (default 30) it
# prints a Markdown table row; the CSV (p50 and p99 per kind, every status)
# and the server's log go to target/soak/. Needs python3 (standard library
# only); psql for PostgreSQL. Exits non-zero on any 5xx or connection error.
set -euo pipefail
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$ROOT"
command -v python3 >/dev/null || { echo "python3 is required" >&2; exit 1; }
cargo build --release -q -p moderation-service
BIN="$ROOT/target/release/moderation"
DIR="$(mktemp -d)"
OUT="$ROOT/target/soak"
mkdir -p "$OUT"
STAMP="$(date -u +%Y%m%dT%H%M%SZ)"
KIND="${DATABASE:-sqlite}"
PID=""
PG=postgres://postgres@127.0.0.1:5432
cleanup() {
  if [ -n "$PID" ]; then kill "$PID" 2>/dev/null || true; wait "$PID" 2>/dev/null || true; fi
  if [ "$KIND" = postgres ]; then psql -q "$PG/postgres" -c "DROP DATABASE IF EXISTS moderation_soak WITH (FORCE)" || true; fi
  rm -rf "$DIR"
}
trap cleanup EXIT

if [ "$KIND" = postgres ]; then
  psql -q "$PG/postgres" -c "DROP DATABASE IF EXISTS moderation_soak WITH (FORCE)" -c "CREATE DATABASE moderation_soak"
  DB="$PG/moderation_soak"
  DB_FILE=""
else
  DB_FILE="$DIR/soak.db"
  DB="sqlite://$DB_FILE"
fi

key() { "$BIN" keys create --role "$1" ${2:+--forum "$2"} --label soak --database "$DB" | sed -E 's/.*"token":"([^"]+)".*/\1/'; }
FORUM=soak
FORUM_KEY=$(key forum "$FORUM")
MOD_KEY=$(key moderator)
ADMIN_KEY=$(key admin)
METRICS_TOKEN="soak-$(od -An -N16 -tx1 /dev/urandom | tr -d ' \n')"

ADDR="127.0.0.1:${PORT:-18182}"
LOG="$OUT/soak-$KIND-$STAMP.log"
MODERATION_METRICS_TOKEN="$METRICS_TOKEN" RUST_LOG="${RUST_LOG:-warn}" \
  "$BIN" serve --listen "$ADDR" --database "$DB" 2>"$LOG" &
PID=$!
for _ in $(seq 1 100); do curl -sf "http://$ADDR/healthz" >/dev/null && break; sleep 0.1; done
curl -sf "http://$ADDR/healthz" >/dev/null || { echo "the server did not start; see $LOG" >&2; exit 1; }

echo "soak: $KIND, ${DURATION:-30m} at ${RATE:-200} requests/s, a sample every ${SAMPLE:-30} s; server pid $PID, log $LOG"
status=0
ADDR="$ADDR" FORUM="$FORUM" FORUM_KEY="$FORUM_KEY" MOD_KEY="$MOD_KEY" ADMIN_KEY="$ADMIN_KEY" \
  METRICS_TOKEN="$METRICS_TOKEN" SERVER_PID="$PID" DB_KIND="$KIND" DB_FILE="$DB_FILE" \
  PG_ADMIN_URL="$PG/postgres" PG_DB=moderation_soak CSV="$OUT/soak-$KIND-$STAMP.csv" \
  python3 benches/soak.py || status=$?
if grep -qE 'ERROR|WARN' "$LOG"; then
  echo "server warnings and errors ($(grep -cE 'ERROR|WARN' "$LOG") lines; first 5):"
  grep -E 'ERROR|WARN' "$LOG" | head -5
fi
exit "$status"
