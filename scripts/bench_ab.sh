#!/usr/bin/env bash
# A/B benchmark of two builds in one run: for each round, each build starts its own
# `mqbroker --with-namesrv` (temporary store, loopback, async flush) and its own `mqbench`
# drives it, alternating A, B, A, B... so that both see the same machine. Prints every run and
# the median TPS of each build with the ratio B/A.
#
#   scripts/bench_ab.sh A_BIN_DIR B_BIN_DIR [ROUNDS]
#   e.g. git worktree add /tmp/base <commit> && (cd /tmp/base && cargo build --release --bins)
#        scripts/bench_ab.sh /tmp/base/target/release target/release 3
#
# Scenarios (SECONDS per run, default 10): sync sends from 64 workers (1 KiB bodies), then a
# push consumer draining the backlog those sends left. MQBENCH_PRODUCER_ARGS adds producer
# flags (e.g. "--mode async"); A_BROKER_CONF and B_BROKER_CONF add broker.conf lines to one
# side, so one build can be compared with itself under two settings, e.g. metrics off vs on:
#   A_BROKER_CONF="metricsPort=-1" B_BROKER_CONF="metricsPort=0" SCRAPE_EVERY=1 \
#     scripts/bench_ab.sh target/release target/release 5
# SCRAPE_EVERY=N fetches /metrics every N seconds while a side that serves metrics runs
# (what a Prometheus server would do, at a much higher rate than its usual 15 s).
# WARMUP_SECONDS=N first sends to another topic for N seconds (same producer flags), so that
# the measured run finds each broker in its steady state rather than in whatever it prepared
# at start (a broker that fault in its first commit log files before listening, and one that
# does so as messages arrive, do the same work per message only once past those files).
# Each run also prints the broker's CPU per message sent (utime + stime over the measured
# producer run) and the whole machine's busy CPU per message (user, nice, system, irq and
# softirq from /proc/stat: broker, mqbench and kernel threads such as writeback) over the
# producer run and over the consumer run, with medians.
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
a=${1:?A_BIN_DIR}
b=${2:?B_BIN_DIR}
rounds=${3:-3}
secs=${SECONDS_PER_RUN:-10}
work=$(mktemp -d)
. "$root/scripts/bench_lib.sh"
scraper=""
stop_scraper() {
  if [ -n "$scraper" ]; then
    kill "$scraper" 2>/dev/null || true
    scraper=""
  fi
}
cleanup() { stop_scraper; stop_broker; rm -rf "$work"; }
trap cleanup EXIT

# machine_ticks: busy CPU ticks of the whole machine so far.
machine_ticks() { awk '/^cpu /{print $2 + $3 + $4 + $7 + $8}' /proc/stat; }
# per_msg TICKS MESSAGES: microseconds of CPU per message.
per_msg() { python3 -c "print(f'{$1 * 1e6 / $(getconf CLK_TCK) / max($2, 1):.2f}')"; }

# field NAME: one field of mqbench's --json summary on stdin.
field() { python3 -c 'import json,sys; print(round(json.load(sys.stdin)[sys.argv[1]]))' "$1"; }

declare -A results
for round in $(seq 1 "$rounds"); do
  for side in A B; do
    bin=$a
    conf=${A_BROKER_CONF:-}
    [ "$side" = B ] && bin=$b && conf=${B_BROKER_CONF:-}
    run="$side-$round"
    start_broker "$run" "$conf"
    metrics=$(sed -n 's/^METRICS_LISTENING //p' "$work/$run/out")
    if [ -n "$metrics" ] && [ -n "${SCRAPE_EVERY:-}" ]; then
      (while sleep "$SCRAPE_EVERY"; do curl -sf "http://$metrics/metrics" >/dev/null || true; done) &
      scraper=$!
    fi
    wait_idle
    if [ "${WARMUP_SECONDS:-0}" -gt 0 ]; then
      # shellcheck disable=SC2086
      "$bin/mqbench" producer -n "$NS" -t BenchWarmup --duration "$WARMUP_SECONDS" \
        --baseline-seconds 0 ${MQBENCH_PRODUCER_ARGS:-} >/dev/null 2>&1
    fi
    ticks0=$(awk '{print $14 + $15}' "/proc/$broker_pid/stat")
    m0=$(machine_ticks)
    # shellcheck disable=SC2086
    "$bin/mqbench" producer -n "$NS" --duration "$secs" --baseline-seconds 0 --json \
      ${MQBENCH_PRODUCER_ARGS:-} >"$work/$run.producer.json" 2>/dev/null
    ticks1=$(awk '{print $14 + $15}' "/proc/$broker_pid/stat")
    m1=$(machine_ticks)
    p=$(field tps <"$work/$run.producer.json")
    sent=$(field messages <"$work/$run.producer.json")
    cpu=$(per_msg $((ticks1 - ticks0)) "$sent")
    mp=$(per_msg $((m1 - m0)) "$sent")
    # The consumer drains exactly the backlog the producer left, so its rate is its own.
    c=$("$bin/mqbench" consumer -n "$NS" --from first --count "$sent" --json \
      2>/dev/null | field tps)
    mc=$(per_msg $(($(machine_ticks) - m1)) "$sent")
    stop_scraper
    stop_broker
    rm -rf "$work/$run"
    echo "round $round $side: producer $p msg/s (broker $cpu µs/msg, machine $mp), consumer $c msg/s (machine $mc µs/msg) ($sent messages)"
    results[$side-p]+="$p "
    results[$side-c]+="$c "
    results[$side-u]+="$cpu "
    results[$side-mp]+="$mp "
    results[$side-mc]+="$mc "
  done
done

median() { tr ' ' '\n' | grep . | sort -g | awk '{v[NR]=$1} END {print v[int((NR+1)/2)]}'; }
for kind in p c; do
  name=producer
  [ $kind = c ] && name=consumer
  ma=$(echo "${results[A-$kind]}" | median)
  mb=$(echo "${results[B-$kind]}" | median)
  echo "$name median: A $ma msg/s, B $mb msg/s, B/A $(python3 -c "print(f'{$mb/$ma:.2f}')")"
done
for kind in u mp mc; do
  case $kind in
  u) name="broker CPU per message sent" ;;
  mp) name="machine CPU per message, producer run" ;;
  mc) name="machine CPU per message, consumer run" ;;
  esac
  ua=$(echo "${results[A-$kind]}" | median)
  ub=$(echo "${results[B-$kind]}" | median)
  echo "$name, median: A $ua µs, B $ub µs, B/A $(python3 -c "print(f'{$ub/$ua:.2f}')")"
done
