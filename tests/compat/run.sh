#!/usr/bin/env bash
# Fennec's own third-party client suite: the C++ RocketMQ client (rocketmq-client-cpp, through
# the Python ctypes wrapper rocketmq-client-python) and the JavaScript client ali-ons, against a
# running node. scripts/compat.sh starts a node and calls this; to use a node of your own:
#
#   NAMESRV_ADDR=127.0.0.1:9876 tests/compat/run.sh [--skip-tx] [--skip-ordered] [--only GLOB]...
#
#   --skip-tx       leave out the transaction scenario
#   --skip-ordered  leave out the ordered scenarios (of both clients)
#   --only GLOB     run only the scenarios whose label matches, e.g. --only 'cpp/*' or
#                   --only js/ordered (may be given more than once)
#
# The broker must auto-create topics for the cpp scenarios, and check transactions back quickly
# for cpp/tx (transactionCheckInterval=2000, transactionTimeOut=1000). The js scenarios create
# their topics with mqadmin (MQADMIN, else target/{release,debug}/mqadmin of this checkout, else
# PATH) on the cluster COMPAT_CLUSTER (default DefaultCluster).
# The clients are installed on first use under FENNEC_COMPAT_HOME (default
# ~/.cache/fennec-compat): needs python3 with venv, node and npm, and PyPI and the npm registry.
#
# Every scenario runs in a process of its own under a hard timeout and ends in one verdict line,
# `PASS label: ...` or `FAIL label: ...`; a scenario that exits 0 without its PASS line fails.
# The last line counts them: `compat: N passed, N failed, N skipped`. A client whose package
# registry cannot be reached at all is skipped with a SKIP line that says so; any other install
# failure fails that client's scenarios. Exit status 0 only if nothing failed and something
# passed.
set -uo pipefail
here=$(cd "$(dirname "$0")" && pwd)

skip_tx=0
skip_ordered=0
only=()
while [ $# -gt 0 ]; do
  case "$1" in
    --skip-tx) skip_tx=1 ;;
    --skip-ordered) skip_ordered=1 ;;
    --only)
      [ $# -ge 2 ] || { echo "tests/compat/run.sh: --only needs a pattern" >&2; exit 2; }
      only+=("$2")
      shift
      ;;
    *) echo "tests/compat/run.sh: unknown argument '$1'" >&2; exit 2 ;;
  esac
  shift
done
if [ -z "${NAMESRV_ADDR:-}" ]; then
  echo "tests/compat/run.sh: set NAMESRV_ADDR=host:port of a running nameserver" >&2
  exit 2
fi
export NAMESRV_ADDR
export COMPAT_RUN_ID=${COMPAT_RUN_ID:-$(date +%s)x$$}
cache=${FENNEC_COMPAT_HOME:-$HOME/.cache/fennec-compat}
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT

# scenario -> hard limit in seconds (the scenarios' own waits are far shorter)
declare -A limit=([send]=120 [tags]=150 [props]=120 [tx]=180 [ordered]=150 [delivery]=120)
passed=0
failed=0
skipped=0

# wanted LABEL: is the scenario to run? Prints a SKIP line for those left out by a flag.
wanted() {
  local label=$1 pattern
  if [ ${#only[@]} -gt 0 ]; then
    for pattern in "${only[@]}"; do
      # shellcheck disable=SC2053 # a glob on purpose
      [[ $label == $pattern ]] && break
      pattern=
    done
    [ -n "$pattern" ] || return 1
  fi
  if [ $skip_tx = 1 ] && [[ $label == */tx ]]; then
    echo "SKIP $label: --skip-tx"
    skipped=$((skipped + 1))
    return 1
  fi
  if [ $skip_ordered = 1 ] && [[ $label == */ordered ]]; then
    echo "SKIP $label: --skip-ordered"
    skipped=$((skipped + 1))
    return 1
  fi
}

# install_client CLIENT DIR LABEL...: runs CLIENT/install.sh DIR; 0 if the scenarios can run.
install_client() {
  local client=$1 dir=$2 rc label
  shift 2
  bash "$here/$client/install.sh" "$dir" >"$work/install.log" 2>&1
  rc=$?
  sed 's/^/  /' "$work/install.log"
  if [ $rc -eq 0 ]; then
    return 0
  fi
  if [ $rc -eq 75 ]; then
    local why
    why=$(tail -n 1 "$work/install.log" | sed 's/^[^:]*: //')
    echo "################################################################################"
    for label in "$@"; do echo "SKIP $label: NOT TESTED, $why"; done
    echo "################################################################################"
    skipped=$((skipped + $#))
  else
    for label in "$@"; do echo "FAIL $label: the client could not be installed (exit $rc)"; done
    failed=$((failed + $#))
  fi
  return 1
}

# run_scenario LABEL COMMAND...: one scenario under its hard limit; counts its verdict.
run_scenario() {
  local label=$1 seconds=${limit[${1#*/}]} rc
  shift
  local out="$work/${label//\//-}.out"
  local began=$SECONDS
  timeout -k 5 "$seconds" "$@" 2>&1 | tee "$out"
  rc=${PIPESTATUS[0]}
  if [ "$rc" -eq 0 ] && grep -q "^PASS $label: " "$out"; then
    passed=$((passed + 1))
    echo "  ($label took $((SECONDS - began))s)"
    return 0
  fi
  failed=$((failed + 1))
  if [ "$rc" -eq 124 ] || [ "$rc" -eq 137 ]; then
    echo "FAIL $label: killed at the hard limit of ${seconds}s"
  elif ! grep -q "^FAIL $label: " "$out"; then
    echo "FAIL $label: exited $rc without a PASS line"
  fi
  return 1
}

echo "== C++ client (rocketmq-client-cpp via rocketmq-client-python), run $COMPAT_RUN_ID"
labels=()
for s in send tags props tx ordered delivery; do wanted "cpp/$s" && labels+=("cpp/$s"); done
if [ ${#labels[@]} -gt 0 ] && install_client cpp "$cache/cpp-client" "${labels[@]}"; then
  for label in "${labels[@]}"; do
    # The native client logs under $HOME/logs/rocketmq-cpp: keep that in the scratch folder.
    home="$work/home-${label#*/}"
    mkdir -p "$home"
    if ! run_scenario "$label" env HOME="$home" "$cache/cpp-client/bin/python" "$here/cpp/scenarios.py" "${label#*/}"; then
      newest=$(find "$home/logs" -type f -name '*.log*' -printf '%T@ %p\n' 2>/dev/null | sort -n | tail -n 1 | cut -d' ' -f2-)
      if [ -n "$newest" ]; then
        echo "  ---- last lines of the C++ client's log ----"
        tail -n 15 "$newest" | sed 's/^/  /'
      fi
    fi
  done
fi

echo "== JavaScript client (ali-ons), run $COMPAT_RUN_ID"
# ali-ons cannot send to a topic the nameserver does not know yet, so its scenarios create their
# topics first with mqadmin: MQADMIN, else this checkout's build, else the one on PATH.
if [ -z "${MQADMIN:-}" ]; then
  root=$(cd "$here/../.." && pwd)
  for candidate in "$root/target/release/mqadmin" "$root/target/debug/mqadmin" "$(command -v mqadmin)"; do
    if [ -n "$candidate" ] && [ -x "$candidate" ]; then MQADMIN=$candidate; break; fi
  done
fi
export MQADMIN=${MQADMIN:-}
export COMPAT_CLUSTER=${COMPAT_CLUSTER:-DefaultCluster}
labels=()
for s in send tags props ordered; do wanted "js/$s" && labels+=("js/$s"); done
if [ ${#labels[@]} -gt 0 ] && install_client node "$cache/js-client" "${labels[@]}"; then
  for label in "${labels[@]}"; do
    run_scenario "$label" env NODE_PATH="$cache/js-client/node_modules" \
      node --max-old-space-size=512 "$here/node/scenarios.js" "${label#*/}"
  done
fi

echo "compat: $passed passed, $failed failed, $skipped skipped"
if [ $failed -gt 0 ]; then
  exit 1
fi
if [ $passed -eq 0 ]; then
  echo "tests/compat/run.sh: no scenario passed; that is not a pass" >&2
  exit 1
fi
exit 0
