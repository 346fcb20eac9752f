#!/usr/bin/env bash
# What ACL and TLS cost: `mqbench producer` with 64 concurrent senders (1 KiB messages)
# against a fresh release `mqbroker --with-namesrv` three ways — plain, ACL on (every request
# signed by mqbench and checked by the broker), TLS enforcing (broker and embedded nameserver)
# — ROUNDS times in turn, and prints each run's throughput as a share of the plain run of its
# own round. Certificates are made with openssl's command line, as the README shows.
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
  for mode in plain acl tls; do
    run="$mode-$round"
    case $mode in
      plain) conf="" flags=() ;;
      acl)
        mkdir -p "$work/$run"
        printf '%s\n' "$acl_yml" >"$work/$run/plain_acl.yml"
        conf="aclEnable=true" flags=(--access-key bench --secret-key bench-secret-1) ;;
      tls) conf=$tls_conf flags=(--tls --tls-ca "$certs/ca.pem") ;;
    esac
    start_broker "$run" "$conf"
    wait_idle
    echo "== round $round, $mode: mqbench producer -t SecBench -s 1024 -w 64 --duration $secs --baseline-seconds 0 ${flags[*]}" >&2
    "$bin/mqbench" producer -t SecBench -s 1024 -w 64 --duration "$secs" --baseline-seconds 0 \
      --json "${flags[@]}" 2>/dev/null |
      python3 -c 'import json,sys; d=json.loads(sys.stdin.read()); d["mode"]=sys.argv[1]; d["round"]=int(sys.argv[2]); print(json.dumps(d))' "$mode" "$round" |
      tee -a "$results" >&2
    stop_broker
    rm -rf "$work/$run/store"
  done
done

python3 - "$results" <<'PY'
import json, sys
runs = [json.loads(l) for l in open(sys.argv[1])]
plain = {r["round"]: r["tps"] for r in runs if r["mode"] == "plain"}
print(f"{'round':>5} {'mode':<6} {'msg/s':>8} {'p99 ms':>7} {'of plain':>8}")
for r in runs:
    share = r["tps"] / plain[r["round"]] * 100
    print(f"{r['round']:>5} {r['mode']:<6} {r['tps']:>8.0f} {r['p99_ms']:>7.3f} {share:>7.1f}%")
for mode in ("acl", "tls"):
    shares = sorted(r["tps"] / plain[r["round"]] * 100 for r in runs if r["mode"] == mode)
    print(f"{mode}: {shares[len(shares) // 2]:.1f}% of plain (median of {len(shares)} rounds; "
          f"cost {100 - shares[len(shares) // 2]:.1f}%)")
PY
