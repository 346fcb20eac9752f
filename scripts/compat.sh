#!/usr/bin/env bash
# Starts `mqbroker --with-namesrv` on free loopback ports with a temporary store and runs the
# third-party RocketMQ clients of ../shared/compat against it. Arguments go to run.sh
# (e.g. --skip-tx --skip-ordered). Exits with run.sh's status.
# The broker checks transactions back quickly (transactionCheckInterval=2000,
# transactionTimeOut=1000), so that the transaction phase resolves its UNKNOWN message in
# seconds; COMPAT_BROKER_CONF names a broker.conf to use instead.
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
compat="${COMPAT_RUN:-$root/../shared/compat/run.sh}"
if [ ! -x "$compat" ]; then
  echo "compat: $compat not found (set COMPAT_RUN to the shared compat/run.sh)" >&2
  exit 1
fi
cd "$root"
cargo build --bin mqbroker
store=$(mktemp -d)
out=$(mktemp)
conf="${COMPAT_BROKER_CONF:-$store/broker.conf}"
if [ -z "${COMPAT_BROKER_CONF:-}" ]; then
  printf 'transactionCheckInterval=2000\ntransactionTimeOut=1000\n' >"$conf"
fi
target/debug/mqbroker --with-namesrv --namesrv-port 0 --listen-port 0 --store-dir "$store" -c "$conf" >"$out" 2>"$store/broker.log" &
pid=$!
cleanup() {
  kill "$pid" 2>/dev/null || true
  wait "$pid" 2>/dev/null || true
  rm -rf "$store" "$out"
}
trap cleanup EXIT
for _ in $(seq 1 200); do
  grep -q '^LISTENING ' "$out" && break
  if ! kill -0 "$pid" 2>/dev/null; then cat "$store/broker.log" >&2; exit 1; fi
  sleep 0.1
done
namesrv=$(sed -n 's/^NAMESRV_LISTENING //p' "$out")
if [ -z "$namesrv" ]; then
  echo "compat: broker did not start" >&2
  cat "$store/broker.log" >&2
  exit 1
fi
echo "compat: mqbroker --with-namesrv up, nameserver at $namesrv"
status=0
NAMESRV_ADDR="$namesrv" "$compat" "$@" || status=$?
if [ $status -ne 0 ]; then
  echo "---- broker log (last 50 lines) ----" >&2
  tail -n 50 "$store/broker.log" >&2
fi
exit $status
