#!/usr/bin/env bash
# Dashboard API under load: 50 concurrent clients (wrk) on /api/summary and /api/timeseries
# while `tailpulse generate` appends ~50,000 lines/s to the followed log.
#
# usage: scripts/bench_web.sh [seconds]   (needs Debian's wrk: apt-get install wrk)
set -euo pipefail
cd "$(dirname "$0")/.."
secs=${1:-15}
cargo build --release --quiet
bin=target/release/tailpulse
dir=$(mktemp -d)
trap 'kill $gen $run 2>/dev/null || true; wait 2>/dev/null || true; rm -rf "$dir"' EXIT
"$bin" generate --out "$dir/access.log" --rate 50000 --interval 200ms --incidents-every off --seed 1 \
  --logs "$dir/logs" >/dev/null &
gen=$!
"$bin" run "$dir/access.log" --port 5099 --no-state --out-dir "$dir" --logs "$dir/logs" >"$dir/run.out" &
run=$!
for _ in $(seq 50); do curl -sf http://127.0.0.1:5099/healthz >/dev/null && break; sleep 0.2; done
sleep 3
before=$(curl -s http://127.0.0.1:5099/healthz | python3 -c 'import json,sys; print(json.load(sys.stdin)["requests"])')
for path in /api/summary "/api/timeseries?range=1h"; do
  echo "== $path"
  wrk -t2 -c50 -d"${secs}s" --latency "http://127.0.0.1:5099$path" | grep -E "Latency|50%|99%|Requests/sec"
done
after=$(curl -s http://127.0.0.1:5099/healthz | python3 -c 'import json,sys; print(json.load(sys.stdin)["requests"])')
echo "ingested during the load: $(( (after - before) / (2 * secs) )) lines/s"
