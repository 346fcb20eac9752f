#!/usr/bin/env bash
# What ACL and TLS cost: `mqbench producer` with 64 concurrent senders (1 KiB messages)
# against a fresh release `mqbroker --with-namesrv` four ways — plain; signed (mqbench signs
# every request, the broker has ACL off and ignores the signature); ACL on (mqbench signs, the
# broker checks); TLS enforcing (broker and embedded nameserver) — ROUNDS times in turn, and
# prints each run's throughput as a share of the plain run of its own round.
#
# Client and broker share this machine's cores, so an ACL run also pays for the client's
# signing. Two figures come out: ACL against plain (signing and checking, end to end) and ACL
# against signed (the broker's checking alone: the client's work is the same in both runs).
# Certificates are made with openssl's command line, as the README shows.
#   scripts/bench_security.sh                          3 rounds of 20 s runs
#   ROUNDS=1 SECONDS_PER_RUN=5 scripts/bench_security.sh
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
cd "$root"
secs=${SECONDS_PER_RUN:-20}
rounds=${ROUNDS:-3}
cargo build --release --bin mqbroker --bin mqbench
bin="$root/target/release"
work=$(mktemp -d)
. "$root/scripts/bench_lib.sh"
cleanup() { stop_broker; rm -rf "$work"; }
trap cleanup EXIT

certs="$work/certs"
mkdir -p "$certs"
(
  cd "$certs"
  openssl req -x509 -newkey rsa:2048 -nodes -days 30 -subj "/CN=Fennec bench CA" \
    -keyout ca-key.pem -out ca.pem
  openssl req -newkey rsa:2048 -nodes -subj "/CN=bench" -keyout server-key.pem -out server.csr
  printf 'subjectAltName=IP:127.0.0.1\nextendedKeyUsage=serverAuth\n' >server.ext
  openssl x509 -req -in server.csr -CA ca.pem -CAkey ca-key.pem -CAcreateserial -days 30 \
    -extfile server.ext -out server.pem
) 2>/dev/null
acl_yml='accounts:
  - accessKey: bench
    secretKey: bench-secret-1
    defaultTopicPerm: DENY
    defaultGroupPerm: DENY
    topicPerms: [SecBench=PUB|SUB]'
tls_conf="tls.server.mode=enforcing
tls.server.certPath=$certs/server.pem
tls.server.keyPath=$certs/server-key.pem
tls.enable=true
tls.client.trustCertPath=$certs/ca.pem"

results="$work/results.jsonl"
: >"$results"
for round in $(seq 1 "$rounds"); do
  for mode in plain signed acl tls; do
    run="$mode-$round"
    case $mode in
      plain) conf="" flags=() ;;
      signed) conf="" flags=(--access-key bench --secret-key bench-secret-1) ;;
      acl)
        mkdir -p "$work/$run"
        printf '%s\n' "$acl_yml" >"$work/$run/plain_acl.yml"
        conf="aclEnable=true" flags=(--access-key bench --secret-key bench-secret-1) ;;
      tls) conf=$tls_conf flags=(--tls --tls-ca "$certs/ca.pem") ;;
    esac
    start_broker "$run" "$conf"
    wait_idle
    echo "== round $round, $mode: mqbench producer -t SecBench -s 1024 -w 64 --duration $secs --baseline-seconds 0 ${flags[*]}" >&2
    ticks0=$(awk '{print $14 + $15}' "/proc/$broker_pid/stat")
    # `time` reports mqbench's own CPU (user and sys seconds) into $run.time.
    { TIMEFORMAT='%U %S'; time "$bin/mqbench" producer -t SecBench -s 1024 -w 64 \
      --duration "$secs" --baseline-seconds 0 --json "${flags[@]}" \
      >"$work/$run.json" 2>/dev/null; } 2>"$work/$run.time"
    ticks1=$(awk '{print $14 + $15}' "/proc/$broker_pid/stat")
    python3 - "$mode" "$round" "$((ticks1 - ticks0))" "$(getconf CLK_TCK)" \
      "$work/$run.json" "$work/$run.time" <<'PY' | tee -a "$results" >&2
import json, sys
mode, rnd, ticks, hz, out, times = sys.argv[1:]
d = json.load(open(out))
n = max(d["messages"], 1)
d.update(mode=mode, round=int(rnd),
         broker_us=int(ticks) * 1e6 / int(hz) / n,
         client_us=sum(map(float, open(times).read().split())) * 1e6 / n)
print(json.dumps(d))
PY
    stop_broker
    rm -rf "$work/$run/store"
  done
done

python3 - "$results" <<'PY'
import json, sys
runs = [json.loads(l) for l in open(sys.argv[1])]
tps = {(r["mode"], r["round"]): r["tps"] for r in runs}
print(f"{'round':>5} {'mode':<6} {'msg/s':>8} {'p99 ms':>7} {'of plain':>8} {'of signed':>9} "
      f"{'broker µs':>9} {'client µs':>9}")
for r in runs:
    of = lambda base: r["tps"] / tps[(base, r["round"])] * 100
    print(f"{r['round']:>5} {r['mode']:<6} {r['tps']:>8.0f} {r['p99_ms']:>7.3f} "
          f"{of('plain'):>7.1f}% {of('signed'):>8.1f}% {r['broker_us']:>9.2f} "
          f"{r['client_us']:>9.2f}")
for mode, base, what in (("acl", "plain", "signing + checking"),
                         ("acl", "signed", "the broker's checking"),
                         ("signed", "plain", "the client's signing"),
                         ("tls", "plain", "TLS")):
    shares = sorted(tps[(mode, n)] / tps[(base, n)] * 100
                    for (m, n) in tps if m == mode)
    mid = shares[len(shares) // 2]
    print(f"{mode} of {base}: {mid:.1f}% (median of {len(shares)} rounds): "
          f"{what} costs {100 - mid:.1f}%")
# By CPU, which the machine's noise moves less than throughput: the median CPU per message of
# broker and client in each mode, and what the broker's check adds to the CPU a signed send
# costs both processes (on a CPU-bound machine, the throughput it takes).
def median(xs):
    xs = sorted(xs)
    return xs[len(xs) // 2]
cpu = {m: (median(r["broker_us"] for r in runs if r["mode"] == m),
           median(r["client_us"] for r in runs if r["mode"] == m))
       for m in ("plain", "signed", "acl", "tls")}
for m, (b, c) in cpu.items():
    print(f"{m}: broker {b:.2f} µs + client {c:.2f} µs per message (medians)")
check = cpu["acl"][0] - cpu["signed"][0]
print(f"the broker's check: +{check:.2f} µs of broker CPU per message, "
      f"{100 * check / sum(cpu['signed']):.1f}% of a signed send's CPU (broker + client)")
PY
