#!/usr/bin/env bash
# The C++ RocketMQ client with credentials against an ACL-enabled Fennec: writes a broker.conf
# with aclEnable=true and a plain_acl.yml beside it, and has scripts/compat.sh start
# `mqbroker --with-namesrv` with them and call this script back with --probe, which creates
# the topic as an admin (mqadmin) and runs tests/compat/cpp/acl.py: signed sends and
# consumption succeed, a wrong secret is refused. Installs the C++ client with
# tests/compat/cpp/install.sh when needed (under FENNEC_COMPAT_HOME, shared with tests/compat).
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
cd "$root"
cache=${FENNEC_COMPAT_HOME:-$HOME/.cache/fennec-compat}
if [ "${1:-}" = "--probe" ]; then
  : "${NAMESRV_ADDR:?compat.sh sets NAMESRV_ADDR}"
  ROCKETMQ_ACCESS_KEY=admin1 ROCKETMQ_SECRET_KEY=admin-secret-1 \
    target/debug/mqadmin updateTopic -c DefaultCluster -t CppAclTopic -r 4 -w 4 >/dev/null
  exec timeout -k 5 120 "$cache/cpp-client/bin/python" tests/compat/cpp/acl.py
fi
bash tests/compat/cpp/install.sh "$cache/cpp-client" >/dev/null
cargo build --bin mqadmin
dir=$(mktemp -d)
trap 'rm -rf "$dir"' EXIT
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
COMPAT_BROKER_CONF="$dir/broker.conf" COMPAT_RUN="$root/scripts/compat_acl.sh" \
  scripts/compat.sh --probe
