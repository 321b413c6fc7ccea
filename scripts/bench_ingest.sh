#!/usr/bin/env bash
# Ingest throughput: posts BATCHES bodies of LINES combined lines each to `tailpulse run
# --ingest` from PARALLEL connections (curl), and reports the lines acknowledged per second
# and the time until the dashboard counts them all.
#
# usage: scripts/bench_ingest.sh [BATCHES=100] [LINES=20000] [PARALLEL=4]
#   needs target/release/tailpulse and bench-data/combined-1000000.log (scripts/bench_analyze.py makes it)
set -euo pipefail
cd "$(dirname "$0")/.."
batches=${1:-100}; lines=${2:-20000}; parallel=${3:-4}
bin=${CARGO_TARGET_DIR:-target}/release/tailpulse
work=$(mktemp -d)
trap 'kill $pid 2>/dev/null || true; rm -rf "$work"' EXIT
head -n "$lines" bench-data/combined-1000000.log > "$work/body"
"$bin" run --ingest --port 0 --data-dir "$work/data" --report-every 5s > "$work/out" 2>/dev/null &
pid=$!
until grep -q 'dashboard on' "$work/out"; do sleep 0.1; done
url=$(grep -o 'http://[^ ]*' "$work/out" | head -1)
start=$(date +%s.%N)
seq "$batches" | xargs -P "$parallel" -I{} curl -s -o /dev/null -w '%{http_code}\n' \
  -H 'content-type: text/plain' --data-binary @"$work/body" "${url}api/ingest" > "$work/codes"
acked=$(date +%s.%N)
want=$((batches * lines))
while true; do
  got=$(curl -s "${url}api/summary" | python3 -c 'import json,sys; print(json.load(sys.stdin)["requests"])')
  [ "$got" -ge "$want" ] && break
  sleep 0.05
done
counted=$(date +%s.%N)
ok=$(grep -c '^200$' "$work/codes" || true)
python3 - "$start" "$acked" "$counted" "$want" "$ok" "$batches" <<'PY'
import sys
start, acked, counted = map(float, sys.argv[1:4]); want, ok, batches = map(int, sys.argv[4:7])
print(f"{want:,} lines in {batches} batches, {ok} answered 200")
print(f"acknowledged: {acked - start:.2f} s ({want / (acked - start):,.0f} lines/s)")
print(f"all counted:  {counted - start:.2f} s ({want / (counted - start):,.0f} lines/s); "
      f"last acknowledged to counted {counted - acked:.2f} s")
PY
