#!/usr/bin/env bash
# Starts one Fennec node (`mqbroker --with-namesrv` on free loopback ports, temporary store) and
# runs third-party RocketMQ clients against it:
#   - tests/compat/run.sh, the project's own suite (the C++ client and ali-ons), always (its
#     ali-ons scenarios create their topics with this checkout's mqadmin);
#   - ../shared/compat/run.sh, the team's shared suite, as an extra check where it exists:
#     COMPAT_SHARED=auto (default) runs it when present, 1 requires it, 0 leaves it out;
#     COMPAT_SHARED_RUN names another copy of it.
# Arguments go to both suites (--skip-tx, --skip-ordered). Exits non-zero if a suite failed.
# The broker checks transactions back quickly (transactionCheckInterval=2000,
# transactionTimeOut=1000), so that the transaction scenarios resolve their UNKNOWN message in
# seconds; COMPAT_BROKER_CONF names a broker.conf to use instead. COMPAT_RUN names a command
# to run against the node (with NAMESRV_ADDR set and the arguments) instead of the suites
# (scripts/compat_acl.sh uses both).
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
shared_run="${COMPAT_SHARED_RUN:-$root/../shared/compat/run.sh}"
case "${COMPAT_SHARED:-auto}" in
  0) run_shared=0 ;;
  1)
    if [ ! -x "$shared_run" ]; then
      echo "compat: COMPAT_SHARED=1 but $shared_run is missing" >&2
      exit 1
    fi
    run_shared=1
    ;;
  auto) if [ -x "$shared_run" ]; then run_shared=1; else run_shared=0; fi ;;
  *)
    echo "compat: COMPAT_SHARED must be auto, 0 or 1" >&2
    exit 2
    ;;
esac
cd "$root"
cargo build --bin mqbroker --bin mqadmin
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
for _ in $(seq 1 600); do # up to a minute: a loaded machine can take a while to set the store up
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
export NAMESRV_ADDR="$namesrv"
export MQADMIN="$root/target/debug/mqadmin" # the ali-ons scenarios create their topics with it

failed=()
if [ -n "${COMPAT_RUN:-}" ]; then
  run_shared=0
  echo "== $COMPAT_RUN $*"
  "$COMPAT_RUN" "$@" || failed+=("$COMPAT_RUN")
elif [ $run_shared = 0 ]; then
  echo "compat: the shared suite is not run ($shared_run: not here, or COMPAT_SHARED=0)"
fi
if [ -z "${COMPAT_RUN:-}" ]; then
  echo "== the project's suite: tests/compat/run.sh $*"
  tests/compat/run.sh "$@" || failed+=("tests/compat/run.sh")
fi
if [ $run_shared = 1 ]; then
  echo "== the shared suite: $shared_run $*"
  "$shared_run" "$@" || failed+=("$shared_run")
fi
if ! kill -0 "$pid" 2>/dev/null; then
  echo "compat: the broker is no longer running" >&2
  failed+=("mqbroker")
fi
if [ ${#failed[@]} -gt 0 ]; then
  echo "compat: failed: ${failed[*]}" >&2
  echo "---- broker log (last 50 lines) ----" >&2
  tail -n 50 "$store/broker.log" >&2
  exit 1
fi
