# Sourced by the benchmark scripts: a fresh release broker with its embedded nameserver on
# free loopback ports and a temporary store. The caller sets $bin (release binaries) and
# $work (a temporary directory), and removes $work when done.
broker_pid=""

# Starts `mqbroker --with-namesrv` with broker.conf text $2 in $work/$1 (files already put in
# that directory, such as plain_acl.yml, sit beside broker.conf); exports NAMESRV_ADDR.
start_broker() { # $1 = run name, $2 = broker.conf text
  local dir="$work/$1"
  mkdir -p "$dir"
  printf '%s\n' "$2" >"$dir/broker.conf"
  "$bin/mqbroker" --with-namesrv --namesrv-port 0 --listen-port 0 --store-dir "$dir/store" \
    --metrics-port 0 -c "$dir/broker.conf" >"$dir/out" 2>"$dir/log" &
  broker_pid=$!
  for _ in $(seq 1 300); do
    grep -q '^LISTENING ' "$dir/out" && break
    kill -0 "$broker_pid" 2>/dev/null || { cat "$dir/log" >&2; exit 1; }
    sleep 0.1
  done
  NS=$(sed -n 's/^NAMESRV_LISTENING //p' "$dir/out")
  export NAMESRV_ADDR=$NS
}

stop_broker() {
  if [ -n "$broker_pid" ]; then
    kill "$broker_pid" 2>/dev/null || true
    wait "$broker_pid" 2>/dev/null || true
    broker_pid=""
  fi
}

# Waits until the broker has been idle for a second (it warms the next commit log file in the
# background after start), so that scenarios do not compete with it.
wait_idle() {
  local last=-1 now
  for _ in $(seq 1 30); do
    now=$(awk '{print $14 + $15}' "/proc/$broker_pid/stat")
    [ "$now" = "$last" ] && return
    last=$now
    sleep 1
  done
}
