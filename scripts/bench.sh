#!/usr/bin/env bash
# Standard benchmark: starts a fresh release broker (embedded nameserver, temporary store on
# loopback), runs the standard scenarios with mqbench, and writes bench-results/results.csv,
# bench-results/results.png (throughput and p99 latency per scenario) and tables on stdout.
#   scripts/bench.sh            full run (about 4 minutes after the build)
#   SECONDS_PER_RUN=5 BACKLOG=200000 scripts/bench.sh   a shorter run
#
# Request headers: the c64 scenarios send RocketMQ's JSON header (what the Java client sends
# by default), "async c64 binary" the compact ROCKETMQ binary form; the other scenarios use
# mqbench's default (binary, the Fennec SDK's default). The table names the form per row.
#
# The broker's cost per message, beside the TPS figures:
# * CPU, every scenario run by bench(): the broker's utime and stime (fields 14 and 15 of
#   /proc/<pid>/stat, in ticks of `getconf CLK_TCK`) are read before and after the mqbench
#   process, and the differences divided by the messages mqbench counted. The window is the
#   whole mqbench process, so it also holds the client's start and the echo baseline, during
#   which the broker idles; one tick is 10 ms at CLK_TCK=100, so the figures are good to
#   about 10 ms / messages. "prep µs" is the part of it spent by the fennec-alloc thread,
#   which creates the next commit log file (sparse) and reserves blocks and faults pages in
#   a window ahead of the writer (`commitLogReserveAhead`), so it grows with the bytes
#   appended. Its cost is mostly the kernel's first write to each new page; on a VM whose
#   free memory is handed back to the host (virtio-balloon free page reporting) that first
#   write costs ~15x more than on memory the guest has touched before, so compare it across
#   runs with care.
# * Syscalls by kind, the c64 scenarios: a second, separate mqbench run of the same scenario
#   (SYSCALL_SECONDS, default 5, no echo baseline) is the workload of
#   `perf stat -p <broker pid>`, which counts the syscall tracepoints of every broker thread
#   for exactly the lifetime of that mqbench process; each count is divided by the messages
#   that run counted. Counting slows every syscall a little, so nothing else of that run is
#   reported (TPS and CPU come from the run without perf). The counts include the broker's
#   work besides these sends (serving the client's start, flush and reput threads), small
#   next to the messages. Skipped with a note when perf or its syscall tracepoints are not
#   available (perf needs root, or perf_event_paranoid -1, and tracefs).
#
# Start, first: START_RUNS (default 5) fresh brokers, each on an empty store, timed from exec
# to the `LISTENING` line on its stdout; the store's disk use (`du -sk`) is read once the
# broker has then been idle for a second (it has prepared the next commit log file by then).
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
cd "$root"
secs=${SECONDS_PER_RUN:-10}
syscall_secs=${SYSCALL_SECONDS:-$((secs < 5 ? secs : 5))}
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

clk_tck=$(getconf CLK_TCK)
# Ticks of user and system CPU the broker has used so far, then those (user + system) of its
# fennec-alloc thread, which the first two include.
cpu_ticks() {
  local prep=0 task
  for task in "/proc/$broker_pid/task/"*; do
    [ "$(cat "$task/comm" 2>/dev/null)" = fennec-alloc ] && prep=$(awk '{print $14 + $15}' "$task/stat")
  done
  echo "$(awk '{print $14, $15}' "/proc/$broker_pid/stat") $prep"
}

# The syscall tracepoints counted (those this kernel has), then the total of all syscalls.
perf_events=""
if command -v perf >/dev/null; then
  available=$(perf list 'syscalls:sys_enter_*' 2>/dev/null || true)
  for call in futex epoll_wait epoll_pwait epoll_pwait2 sendto sendmsg writev write recvfrom recvmsg readv read; do
    grep -qw "syscalls:sys_enter_$call" <<<"$available" && perf_events+="syscalls:sys_enter_$call,"
  done
  [ -n "$perf_events" ] && perf_events+="raw_syscalls:sys_enter"
fi

rss_kb() { awk '/^RssAnon:/ {print $2}' "/proc/$broker_pid/status" 2>/dev/null || echo 0; }

# Samples the broker's anonymous RSS (page cache excluded) into $work/rss.max (replaced by
# rename, so that a reader never sees it half written).
start_sampler() {
  echo 0 >"$work/rss.max"
  ( max=0; while true; do r=$(rss_kb); [ "$r" -gt "$max" ] && { max=$r; echo "$max" >"$work/rss.tmp"; mv "$work/rss.tmp" "$work/rss.max"; }; sleep 0.2; done ) &
  sampler=$!
}
stop_sampler() { kill "$sampler" 2>/dev/null || true; wait "$sampler" 2>/dev/null || true; sampler=""; }

# Runs mqbench with --json; tags the summary with the scenario name, peak broker RSS and the
# broker's user and system CPU per message.
bench() { # $1 = scenario, rest = mqbench args
  local name=$1; shift
  echo "== $name: mqbench $*" >&2
  start_sampler
  local json before after
  before=$(cpu_ticks)
  json=$("$bin/mqbench" "$@" --json)
  after=$(cpu_ticks)
  stop_sampler
  python3 - "$json" "$name" "$(cat "$work/rss.max")" "$before" "$after" "$clk_tck" <<'PY' | tee -a "$results" >&2
import json, sys
d = json.loads(sys.argv[1])
d["scenario"], d["rss_mb"] = sys.argv[2], int(sys.argv[3]) / 1024
(u0, s0, p0), (u1, s1, p1) = (map(int, t.split()) for t in sys.argv[4:6])
per_msg = 1e6 / int(sys.argv[6]) / d["messages"] if d["messages"] else None
d["cpu_user_us"] = per_msg and (u1 - u0) * per_msg
d["cpu_sys_us"] = per_msg and (s1 - s0) * per_msg
d["cpu_prep_us"] = per_msg and (p1 - p0) * per_msg
print(json.dumps(d))
PY
}

# Counts the broker's syscalls during a separate run of mqbench "$@" under perf stat and adds
# them, per message of that run, to the results row of scenario $1.
syscalls() { # $1 = scenario, rest = mqbench args
  local name=$1; shift
  if [ -z "$perf_events" ]; then
    echo "== $name: no syscall counts (perf or its syscall tracepoints are not available)" >&2
    return
  fi
  echo "== $name, syscalls: perf stat -p $broker_pid -- mqbench $*" >&2
  local json
  if ! json=$(perf stat -x, -o "$work/perf.csv" -e "$perf_events" -p "$broker_pid" -- "$bin/mqbench" "$@" --json); then
    echo "== $name: perf stat failed, no syscall counts" >&2
    return
  fi
  python3 - "$results" "$name" "$json" "$work/perf.csv" <<'PY'
import csv, json, sys
results, name, summary, perf = sys.argv[1:5]
s = json.loads(summary)
counts = {}
for row in csv.reader(line for line in open(perf) if line.strip() and not line.startswith("#")):
    if len(row) > 2 and row[0].isdigit():
        counts[row[2].removeprefix("syscalls:sys_enter_").replace("raw_syscalls:sys_enter", "all")] = int(row[0])
rows = [json.loads(line) for line in open(results) if line.strip()]
for r in rows:
    if r["scenario"] == name and s["messages"]:
        r["syscall_messages"] = s["messages"]
        r["syscalls_per_msg"] = {k: v / s["messages"] for k, v in counts.items()}
        print(json.dumps({"scenario": name, **r["syscalls_per_msg"]}), file=sys.stderr)
with open(results, "w") as f:
    f.writelines(json.dumps(r) + "\n" for r in rows)
PY
}

# The c64 scenario $1 (extra mqbench producer args after it): TPS, latency and CPU, then the
# syscalls of a separate run.
c64() {
  local name=$1; shift
  bench "$name" producer -s 1024 -w 64 "$@" --duration "$secs"
  syscalls "$name" producer -s 1024 -w 64 "$@" --duration "$syscall_secs" --baseline-seconds 0
}

# Start: exec to LISTENING on an empty store, then the store's disk use once idle; medians
# and ranges into $out/start.json.
python3 - "$bin/mqbroker" "$work/start" "${START_RUNS:-5}" "$out/start.json" <<'PY'
import json, os, shutil, signal, statistics, subprocess, sys, time
broker, base, runs, out = sys.argv[1], sys.argv[2], int(sys.argv[3]), sys.argv[4]
ms, mb = [], []
for i in range(runs):
    store = os.path.join(base, str(i), "store")
    t0 = time.monotonic()
    p = subprocess.Popen([broker, "--with-namesrv", "--namesrv-port", "0", "--listen-port", "0",
                          "--metrics-port", "-1", "--store-dir", store],
                         stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True)
    if not any(line.startswith("LISTENING ") for line in p.stdout):
        sys.exit(f"mqbroker exited with {p.wait()} before LISTENING")
    ms.append((time.monotonic() - t0) * 1000)
    ticks = lambda: sum(map(int, open(f"/proc/{p.pid}/stat").read().rsplit(")", 1)[1].split()[11:13]))
    last, now = -1, ticks()
    for _ in range(30):
        if now == last:
            break
        time.sleep(1)
        last, now = now, ticks()
    mb.append(int(subprocess.check_output(["du", "-sk", store]).split()[0]) / 1024)
    p.send_signal(signal.SIGTERM)
    p.wait()
    shutil.rmtree(os.path.dirname(store))
r = {"runs": runs, "listening_ms": statistics.median(ms), "listening_ms_min": min(ms),
     "listening_ms_max": max(ms), "store_mb": statistics.median(mb), "store_mb_max": max(mb)}
json.dump(r, open(out, "w"))
print(json.dumps({"scenario": "start", **r}), file=sys.stderr)
PY

start_broker ASYNC_FLUSH "flushDiskType=ASYNC_FLUSH"
wait_idle
idle_rss=$(rss_kb)
bench "async c1" producer -s 1024 -w 1 --duration "$secs"
bench "async c16" producer -s 1024 -w 16 --duration "$secs"
c64 "async c64" --header json
c64 "async c64 binary" --header binary
max_tps=$(python3 -c 'import json,sys; print(int(next(r["tps"] for r in map(json.loads, open(sys.argv[1])) if r["scenario"] == "async c64")))' "$results")
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
c64 "sync-flush c64" --header json
stop_broker

python3 "$root/scripts/bench_report.py" "$results" "$out" "$idle_rss"
