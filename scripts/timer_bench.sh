#!/usr/bin/env bash
# Timer benchmark: starts a fresh release broker (embedded nameserver, temporary store on
# loopback) and measures with mqbench
#   1. plain sends, 64 senders (the baseline for 2),
#   2. timers scheduled per second: TIMERS timer messages due in an hour, 64 senders,
#   3. the broker's CPU over IDLE_SECONDS while those timers are pending and none is due,
#   4. lateness: RATE timers/s for LATE_COUNT timers, each due 5-15 s after it is sent, with
#      a consumer reporting receipt minus due time (TIMER_OUT_MS).
#   scripts/timer_bench.sh                                      full run (about 3 minutes)
#   TIMERS=200000 LATE_COUNT=100000 scripts/timer_bench.sh      shorter
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
cd "$root"
timers=${TIMERS:-1000000}
idle=${IDLE_SECONDS:-30}
rate=${RATE:-10000}
late_count=${LATE_COUNT:-300000}

cargo build --release --bins
bin="$root/target/release"
work=$(mktemp -d)
"$bin/mqbroker" --with-namesrv --namesrv-port 0 --listen-port 0 --store-dir "$work/store" \
  >"$work/out" 2>"$work/log" &
broker=$!
consumer=""
cleanup() {
  [ -n "$consumer" ] && kill "$consumer" 2>/dev/null || true
  kill "$broker" 2>/dev/null || true
  wait "$broker" 2>/dev/null || true
  rm -rf "$work"
}
trap cleanup EXIT
for _ in $(seq 1 300); do
  grep -q '^LISTENING ' "$work/out" && break
  kill -0 "$broker" 2>/dev/null || { cat "$work/log" >&2; exit 1; }
  sleep 0.1
done
export NAMESRV_ADDR=$(sed -n 's/^NAMESRV_LISTENING //p' "$work/out")
cpu_ticks() { awk '{print $14 + $15}' "/proc/$broker/stat"; }
summary() { grep -o '"tps":[0-9.]*\|"p50_ms":[0-9.]*\|"p99_ms":[0-9.]*\|"p999_ms":[0-9.]*\|"max_ms":[0-9.]*\|"messages":[0-9]*' | tr '\n' ' '; echo; }
for t in PlainBench TimerBench LateBench; do
  "$bin/mqadmin" updateTopic -c DefaultCluster -t "$t" -r 8 -w 8 >/dev/null
done

echo "== plain sends: mqbench producer -t PlainBench -w 64 -s 1024 --count $timers"
"$bin/mqbench" producer -t PlainBench -w 64 -s 1024 --count "$timers" --baseline-seconds 0 --json 2>/dev/null | summary

echo "== timers scheduled: mqbench producer -t TimerBench -w 64 -s 1024 --count $timers --timer-delay-ms 3600000"
"$bin/mqbench" producer -t TimerBench -w 64 -s 1024 --count "$timers" --timer-delay-ms 3600000 \
  --baseline-seconds 0 --json 2>/dev/null | summary

sleep 2 # let the wheel link the last timers
before=$(cpu_ticks)
sleep "$idle"
after=$(cpu_ticks)
hz=$(getconf CLK_TCK)
echo "== broker CPU with $timers timers pending, none due, over ${idle}s: $(( (after - before) * 1000 / hz )) ms"

echo "== lateness: mqbench consumer -t LateBench --lateness --count $late_count; mqbench producer -t LateBench -w 16 --rate $rate --count $late_count --timer-delay-ms 5000 --timer-spread-ms 10000"
"$bin/mqbench" consumer -t LateBench -g LateBenchGroup --lateness --count "$late_count" --json \
  >"$work/late.json" 2>/dev/null &
consumer=$!
sleep 3
"$bin/mqbench" producer -t LateBench -w 16 -s 1024 --rate "$rate" --count "$late_count" \
  --timer-delay-ms 5000 --timer-spread-ms 10000 --baseline-seconds 0 --json 2>/dev/null | summary
wait "$consumer"
consumer=""
echo "lateness (ms):"
summary <"$work/late.json"
