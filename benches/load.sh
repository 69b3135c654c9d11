#!/usr/bin/env bash
# Load tests of the HTTP service on loopback with wrk (Debian package `wrk`).
#
#   benches/load.sh score            # POST /v1/score, the 1 KB typical post
#   benches/load.sh submit           # POST /v1/posts, a new post per request (1 in 10 queued)
#   benches/load.sh queue            # GET /v1/queue?limit=50 over 1,000,000 stored items
#
# DATABASE=postgres runs against the local PostgreSQL (a scratch database
# `moderation_load` at postgres://postgres@127.0.0.1:5432, needs `psql`);
# the default is a scratch SQLite file (seeding needs `sqlite3`).
# CONNECTIONS (default 64) and DURATION (default 20s) tune wrk; wrk uses 2
# threads on the same machine as the server, so its share of the CPU is
# included in the figures. The queue scenario prints the database's plan.
set -euo pipefail
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$ROOT"
SCENARIO="${1:-score}"
command -v wrk >/dev/null || { echo "wrk is required (apt-get install wrk)" >&2; exit 1; }
cargo build --release -q -p moderation-service
BIN="$ROOT/target/release/moderation"
DIR="$(mktemp -d)"
PID=""
trap '[ -n "$PID" ] && kill "$PID" 2>/dev/null; rm -rf "$DIR"' EXIT

if [ "${DATABASE:-sqlite}" = postgres ]; then
  PG=postgres://postgres@127.0.0.1:5432
  psql -q "$PG/postgres" -c "DROP DATABASE IF EXISTS moderation_load WITH (FORCE)" -c "CREATE DATABASE moderation_load"
  DB="$PG/moderation_load"
  sql() { psql -q "$DB" "$@"; }
else
  DB="sqlite://$DIR/load.db"
  sql() { sqlite3 "$DIR/load.db" "$@"; }
fi

key() { "$BIN" keys create --role "$1" ${2:+--forum "$2"} --database "$DB" | sed -E 's/.*"token":"([^"]+)".*/\1/'; }

case "$SCENARIO" in
  score) KEY=$(key forum load); URL=/v1/score; SCRIPT=score.lua ;;
  submit) KEY=$(key forum load); URL=/v1/posts; SCRIPT=submit.lua ;;
  queue)
    KEY=$(key moderator)
    echo "seeding 1,000,000 items…"
    if [ "${DATABASE:-sqlite}" = postgres ]; then
      sql -f benches/load/seed.sql && sql -c "VACUUM ANALYZE items"
    else
      sql < benches/load/seed.sql && sql "ANALYZE"
    fi
    URL="/v1/queue"; SCRIPT=queue.lua ;;
  *) echo "unknown scenario $SCENARIO (score, submit, queue)" >&2; exit 2 ;;
esac

ADDR="127.0.0.1:${PORT:-18181}"
RUST_LOG=warn "$BIN" serve --listen "$ADDR" --database "$DB" &
PID=$!
for _ in $(seq 1 100); do curl -sf "http://$ADDR/healthz" >/dev/null && break; sleep 0.1; done

run() {
  echo "$SCENARIO ${DATABASE:-sqlite} $1, ${CONNECTIONS:-64} connections, ${DURATION:-20s}:"
  KEY="$KEY" QUERY="${2:-}" wrk -t2 -c"${CONNECTIONS:-64}" -d"${DURATION:-20s}" --latency -s "benches/load/$SCRIPT" "http://$ADDR$URL" | tail -1
}

if [ "$SCENARIO" = queue ]; then
  for filter in "" "&forum=jp-main" "&category=scam" "&min_score=0.9"; do
    run "top 50${filter:+ $filter}" "$filter"
  done
  echo "plan of the unfiltered listing:"
  Q="SELECT id FROM items WHERE status = 'pending' AND score >= 0 AND (queue_rank, created_at, id) > (-9999999, 0, 0) ORDER BY queue_rank, created_at, id LIMIT 50"
  if [ "${DATABASE:-sqlite}" = postgres ]; then sql -c "EXPLAIN ANALYZE $Q"; else sql "EXPLAIN QUERY PLAN $Q"; fi
else
  run ""
  if [ "$SCENARIO" = submit ]; then
    echo "stored: $(sql -t -c 'SELECT COUNT(*) FROM items' 2>/dev/null || sql 'SELECT COUNT(*) FROM items') items"
  fi
fi
