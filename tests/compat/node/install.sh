#!/usr/bin/env bash
# Installs the JavaScript RocketMQ client ali-ons for tests/compat, exactly as pinned by
# package-lock.json beside this script (`npm ci`), into DIR/node_modules.
#
#   tests/compat/node/install.sh DIR
#
# A stamp (hash of package.json + package-lock.json) marks a finished install, which is reused.
# Exit status: 0 ready; 75 the npm registry could not be reached at all (the caller reports a
# SKIP); anything else is a failure.
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
dir=${1:?usage: install.sh DIR}

for tool in node npm; do
  if ! command -v "$tool" >/dev/null; then
    echo "js client: '$tool' not found (Node.js 18 or later with npm is needed)" >&2
    exit 1
  fi
done

mkdir -p "$dir"
exec 9>"$dir.lock"
flock 9 # two suites sharing one cache install one at a time

want=$(cat "$here/package.json" "$here/package-lock.json" | sha256sum | cut -d' ' -f1)
if [ -f "$dir/.fennec-compat" ] && [ "$(cat "$dir/.fennec-compat")" = "$want" ] &&
  [ -f "$dir/node_modules/ali-ons/package.json" ]; then
  echo "js client: ready ($dir)"
  exit 0
fi

rm -f "$dir/.fennec-compat"
cp "$here/package.json" "$here/package-lock.json" "$dir/"
if ! (cd "$dir" && timeout 600 npm ci --no-audit --no-fund --loglevel=error); then
  if ! timeout 60 npm ping >/dev/null 2>&1; then
    echo "js client: the npm registry is unreachable" >&2
    exit 75
  fi
  echo "js client: npm ci failed although the npm registry answers" >&2
  exit 1
fi
version=$(cd "$dir" && node -p 'require("ali-ons/package.json").version')
echo "$want" >"$dir/.fennec-compat"
echo "js client: installed ali-ons $version ($dir)"
