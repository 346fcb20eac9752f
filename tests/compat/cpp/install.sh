#!/usr/bin/env bash
# Installs the C++ RocketMQ client (rocketmq-client-cpp) for tests/compat into a virtualenv.
#
#   tests/compat/cpp/install.sh VENV_DIR
#
# Two pieces, both from the Apache `rocketmq-client-python` project on PyPI:
#   - 2.0.0, the ctypes wrapper (an sdist with no native library in it);
#   - librocketmq.so and its bundled .libs/, taken out of that project's 0.5.0rc2
#     manylinux1 x86_64 wheel, the last release that ships the native client.
# A stamp in VENV_DIR records what was installed; a matching, importable install is reused.
#
# Exit status: 0 ready; 75 PyPI could not be reached at all (the caller reports a SKIP);
# anything else is a failure.
set -euo pipefail
venv=${1:?usage: install.sh VENV_DIR}
wrapper='rocketmq-client-python==2.0.0'
native='rocketmq-client-python==0.5.0rc2'
stamp="$wrapper + librocketmq.so of $native (manylinux1_x86_64)"

mkdir -p "$(dirname "$venv")"
exec 9>"$venv.lock"
flock 9 # two suites sharing one cache install one at a time

ready() {
  [ -f "$venv/.fennec-compat" ] && [ "$(cat "$venv/.fennec-compat")" = "$stamp" ] &&
    "$venv/bin/python" -c 'import rocketmq.client' >/dev/null 2>&1
}
if ready; then
  echo "cpp client: ready ($venv)"
  exit 0
fi

if [ "$(uname -m)" != x86_64 ]; then
  echo "cpp client: the only published librocketmq.so is for x86_64, this is $(uname -m)" >&2
  exit 1
fi

has_venv() { python3 -c 'import venv, ensurepip' >/dev/null 2>&1; }
if ! has_venv && command -v apt-get >/dev/null && [ "$(id -u)" = 0 ]; then
  minor=$(python3 -c 'import sys; print(sys.version_info[1])')
  echo "cpp client: python3 has no venv module; installing it with apt-get"
  apt-get update -qq >/dev/null
  apt-get install -y -qq python3-venv >/dev/null || apt-get install -y -qq "python3.$minor-venv" >/dev/null
fi
if ! has_venv; then
  echo "cpp client: 'python3 -m venv' is not available (Debian: apt-get install python3-venv)" >&2
  exit 1
fi

work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
rm -rf "$venv"
python3 -m venv "$venv"
pip=("$venv/bin/pip" --disable-pip-version-check --quiet)

pypi_down() {
  # Asked only after a pip step failed: is the index unreachable, or is it something else?
  ! timeout 120 "${pip[@]}" download --no-deps -d "$work/probe" pip >/dev/null 2>&1
}
if ! timeout 600 "${pip[@]}" install "$wrapper" ||
  ! timeout 600 "${pip[@]}" download --no-deps --only-binary :all: --platform manylinux1_x86_64 \
    --python-version 3.8 -d "$work/wheel" "$native"; then
  if pypi_down; then
    echo "cpp client: PyPI is unreachable" >&2
    exit 75
  fi
  echo "cpp client: pip failed although PyPI answers" >&2
  exit 1
fi

# Copy the native library (and the libraries auditwheel bundled for it) next to the wrapper.
"$venv/bin/python" - "$work"/wheel/*.whl <<'PY'
import pathlib
import sys
import sysconfig
import zipfile

package = pathlib.Path(sysconfig.get_paths()["purelib"]) / "rocketmq"
with zipfile.ZipFile(sys.argv[1]) as wheel:
    wanted = [n for n in wheel.namelist()
              if n == "rocketmq/librocketmq.so" or n.startswith("rocketmq/.libs/")]
    if "rocketmq/librocketmq.so" not in wanted:
        sys.exit(f"no rocketmq/librocketmq.so in {sys.argv[1]}")
    for name in wanted:
        target = package / name[len("rocketmq/"):]
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_bytes(wheel.read(name))
        print(f"cpp client: {name} -> {target}")
PY

"$venv/bin/python" -c 'import rocketmq.client'
echo "$stamp" >"$venv/.fennec-compat"
echo "cpp client: installed ($venv)"
