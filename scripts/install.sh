#!/usr/bin/env bash
# Installs Fennec under DESTDIR (default /): the binaries into usr/local/bin, example
# configuration into etc/fennec (never overwriting an existing file), and the systemd units
# into etc/systemd/system. The Dockerfile runs exactly this; CI runs it with PROFILE=debug.
#   scripts/install.sh                 build release binaries and install into /
#   scripts/install.sh /tmp/root       install into a staging root
#   PROFILE=debug scripts/install.sh R  use the debug build (already built)
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
dest=${1:-/}
profile=${PROFILE:-release}
cd "$root"
if [ "$profile" = release ]; then
  cargo build --release --locked --bins
fi
bins="mqnamesrv mqbroker mqadmin mqbench mqdashboard"
install -d "$dest/usr/local/bin" "$dest/etc/fennec" "$dest/etc/systemd/system"
for b in $bins; do
  install -m 0755 "target/$profile/$b" "$dest/usr/local/bin/$b"
done
for f in packaging/etc/*.conf; do
  target="$dest/etc/fennec/$(basename "$f")"
  [ -e "$target" ] || install -m 0644 "$f" "$target"
done
install -m 0644 packaging/systemd/*.service "$dest/etc/systemd/system/"
echo "installed $bins into $dest/usr/local/bin, configuration into $dest/etc/fennec"
