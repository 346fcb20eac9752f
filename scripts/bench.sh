#!/usr/bin/env bash
# Standard benchmark: starts a fresh release broker (embedded nameserver, temporary store on
# loopback), runs the standard scenarios with mqbench, and writes bench-results/results.csv,
# bench-results/results.png (throughput and p99 latency per scenario) and a table on stdout.
#   scripts/bench.sh            full run (about 3 minutes after the build)
#   SECONDS_PER_RUN=5 BACKLOG=200000 scripts/bench.sh   a shorter run
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
cd "$root"
secs=${SECONDS_PER_RUN:-10}
backlog=${BACKLOG:-1000000}
out="$root/bench-results"
mkdir -p "$out"
results="$out/results.jsonl"
: >"$results"

cargo build --release --bins
bin="$root/target/release"
work=$(mktemp -d)

# start_broker, stop_broker, wait_idle.
. "$root/scripts/bench_lib.sh"

cleanup() {
  stop_broker
  [ -n "${sampler:-}" ] && kill "$sampler" 2>/dev/null || true
  rm -rf "$work"
}
trap cleanup EXIT

rss_kb() { awk '/^RssAnon:/ {print $2}' "/proc/$broker_pid/status" 2>/dev/null || echo 0; }

# Samples the broker's anonymous RSS (page cache excluded) into $work/rss.max.
start_sampler() {
  echo 0 >"$work/rss.max"
  ( max=0; while true; do r=$(rss_kb); [ "$r" -gt "$max" ] && { max=$r; echo "$max" >"$work/rss.max"; }; sleep 0.2; done ) &
  sampler=$!
}
stop_sampler() { kill "$sampler" 2>/dev/null || true; wait "$sampler" 2>/dev/null || true; sampler=""; }

# Runs mqbench with --json; tags the summary with the scenario name and peak broker RSS.
bench() { # $1 = scenario, rest = mqbench args
  local name=$1; shift
  echo "== $name: mqbench $*" >&2
  start_sampler
  local json
  json=$("$bin/mqbench" "$@" --json)
  stop_sampler
  python3 -c 'import json,sys; d=json.loads(sys.argv[1]); d["scenario"]=sys.argv[2]; d["rss_mb"]=int(sys.argv[3])/1024; print(json.dumps(d))' \
    "$json" "$name" "$(cat "$work/rss.max")" | tee -a "$results" >&2
}

start_broker ASYNC_FLUSH "flushDiskType=ASYNC_FLUSH"
wait_idle
idle_rss=$(rss_kb)
bench "async c1" producer -s 1024 -w 1 --duration "$secs"
bench "async c16" producer -s 1024 -w 16 --duration "$secs"
bench "async c64" producer -s 1024 -w 64 --duration "$secs"
max_tps=$(python3 -c 'import json; print(int([json.loads(l) for l in open("'"$results"'")][-1]["tps"]))')
bench "half load c16" producer -s 1024 -w 16 --rate $((max_tps / 2)) --duration "$secs"
bench "batch 32" producer -s 1024 -w 16 --batch 32 --duration "$secs"
bench "fill backlog" producer -t Backlog -s 1024 -w 16 --batch 32 --count "$backlog" --baseline-seconds 0
bench "backlog consume" consumer -t Backlog -g BacklogGroup --from first --count "$backlog"
"$bin/mqadmin" updateTopic -c DefaultCluster -t E2E -r 4 -w 4 >/dev/null
"$bin/mqbench" consumer -t E2E -g E2EGroup --from last --duration $((secs + 4)) --json >"$work/e2e.json" 2>/dev/null &
consumer=$!
sleep 2
bench "10k/s send" producer -t E2E -s 1024 -w 16 --rate 10000 --duration "$secs" --baseline-seconds 0
wait "$consumer" || true
python3 -c 'import json,sys; d=json.load(open(sys.argv[1])); d["scenario"]="10k/s e2e"; d["rss_mb"]=0; print(json.dumps(d))' "$work/e2e.json" | tee -a "$results" >&2
stop_broker

start_broker SYNC_FLUSH "flushDiskType=SYNC_FLUSH"
wait_idle
bench "sync-flush c64" producer -s 1024 -w 64 --duration "$secs"
stop_broker

python3 "$root/scripts/bench_report.py" "$results" "$out" "$idle_rss"
