#!/usr/bin/env bash
# Starts `mqbroker --with-namesrv` with ACL on (a plain_acl.yml beside its broker.conf) on
# free loopback ports and runs the C++ RocketMQ client with credentials against it
# (scripts/compat_acl.py): signed sends and consumption succeed, a wrong secret is refused.
# Installs the C++ client with ../shared/compat/cpp/install.sh when needed.
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
install="${COMPAT_CPP_INSTALL:-$root/../shared/compat/cpp/install.sh}"
COMPAT_HOME=${COMPAT_HOME:-$HOME/.cache/fennec-compat}
export COMPAT_HOME
cd "$root"
bash "$install" >/dev/null
cargo build --bin mqbroker --bin mqadmin
dir=$(mktemp -d)
out=$(mktemp)
cat >"$dir/broker.conf" <<CONF
aclEnable=true
aclAccessKey=admin1
aclSecretKey=admin-secret-1
CONF
cat >"$dir/plain_acl.yml" <<YAML
accounts:
  - accessKey: cppuser
    secretKey: cpp-secret-1
    defaultTopicPerm: DENY
    defaultGroupPerm: DENY
    topicPerms: [CppAclTopic=PUB|SUB]
    groupPerms: [CppAclGroup=SUB]
  - accessKey: admin1
    secretKey: admin-secret-1
    admin: true
YAML
target/debug/mqbroker --with-namesrv --namesrv-port 0 --listen-port 0 --store-dir "$dir/store" -c "$dir/broker.conf" >"$out" 2>"$dir/broker.log" &
pid=$!
cleanup() {
  kill "$pid" 2>/dev/null || true
  wait "$pid" 2>/dev/null || true
  rm -rf "$dir" "$out"
}
trap cleanup EXIT
for _ in $(seq 1 200); do
  grep -q '^LISTENING ' "$out" && break
  if ! kill -0 "$pid" 2>/dev/null; then cat "$dir/broker.log" >&2; exit 1; fi
  sleep 0.1
done
namesrv=$(sed -n 's/^NAMESRV_LISTENING //p' "$out")
broker=$(sed -n 's/^LISTENING //p' "$out")
ROCKETMQ_ACCESS_KEY=admin1 ROCKETMQ_SECRET_KEY=admin-secret-1 \
  target/debug/mqadmin -n "$namesrv" updateTopic -b "$broker" -t CppAclTopic -r 4 -w 4 >/dev/null
status=0
NAMESRV_ADDR="$namesrv" timeout -k 5 120 "$COMPAT_HOME/cpp-venv/bin/python" scripts/compat_acl.py || status=$?
if [ $status -ne 0 ]; then
  echo "---- broker log (last 50 lines) ----" >&2
  tail -n 50 "$dir/broker.log" >&2
fi
exit $status
