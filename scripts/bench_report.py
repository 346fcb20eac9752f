#!/usr/bin/env python3
"""Turns bench.sh's JSON lines into bench-results/results.csv, tables on stdout (throughput
and latency with the issue's goals checked; the broker's CPU and syscalls per message), and
bench-results/results.png (matplotlib, installed into a cached virtualenv on first use; the
chart is skipped with a warning if that fails). bench.sh's header says how the CPU and
syscall figures are measured."""
import csv
import re
import json
import os
import subprocess
import sys

results, out, idle_rss_kb = sys.argv[1], sys.argv[2], int(sys.argv[3] or 0)
rows = [json.loads(line) for line in open(results) if line.strip()]
# The backlog consumer's "latency" is the age of messages produced before it started, and
# the end-to-end consumer runs longer than its producer: blank what is not a measurement.
for r in rows:
    if r["scenario"] == "backlog consume":
        for k in ("avg_ms", "p50_ms", "p99_ms", "p999_ms", "max_ms"):
            r[k] = None
    if r["scenario"] == "10k/s e2e":
        r["tps"] = None
    # The broker also serves the end-to-end consumer while these messages are sent.
    if r["scenario"] == "10k/s send":
        r["cpu_user_us"] = r["cpu_sys_us"] = r["cpu_prep_us"] = None

# Syscall kinds per message: the syscalls bench.sh counts, by kind; "other" is the rest of
# all syscalls (msync, madvise, ...).
KINDS = {
    "futex": ["futex"],
    "epoll": ["epoll_wait", "epoll_pwait", "epoll_pwait2"],
    "send": ["sendto", "sendmsg"],
    "recv": ["recvfrom", "recvmsg"],
    "write": ["write", "writev"],
    "read": ["read", "readv"],
}
for r in rows:
    per_msg = r.get("syscalls_per_msg")
    if per_msg:
        for kind, calls in KINDS.items():
            r[f"sys_{kind}"] = sum(per_msg.get(c, 0) for c in calls)
        if "all" in per_msg:
            r["sys_other"] = per_msg["all"] - sum(r[f"sys_{k}"] for k in KINDS)
            r["sys_all"] = per_msg["all"]
by = {r["scenario"]: r for r in rows}
syscall_fields = [f"sys_{k}" for k in [*KINDS, "other", "all"]]
fields = ["scenario", "header", "tps", "avg_ms", "p50_ms", "p99_ms", "max_ms", "baseline_tps", "ratio", "rss_mb", "messages", "failures",
          "cpu_user_us", "cpu_sys_us", "cpu_prep_us", *syscall_fields, "syscall_messages"]
with open(os.path.join(out, "results.csv"), "w", newline="") as f:
    w = csv.DictWriter(f, fieldnames=fields, extrasaction="ignore")
    w.writeheader()
    for r in rows:
        w.writerow(r)

def fmt(v, spec):
    width = re.match(r">(\d+)", spec).group(1)
    return format("-", ">" + width) if v is None else format(v, spec)

print(f"{'scenario':<18} {'header':>6} {'msg/s':>9} {'avg ms':>8} {'p50 ms':>8} {'p99 ms':>8} {'max ms':>8} {'echo msg/s':>10} {'ratio':>7} {'RSS MB':>7}")
for r in rows:
    ratio = r.get("ratio")
    print(f"{r['scenario']:<18} {r.get('header') or '-':>6} {fmt(r['tps'], '>9.0f')} {fmt(r['avg_ms'], '>8.3f')} {fmt(r['p50_ms'], '>8.3f')} "
          f"{fmt(r['p99_ms'], '>8.3f')} {fmt(r['max_ms'], '>8.3f')} {fmt(r.get('baseline_tps'), '>10.0f')} "
          f"{fmt(None if ratio is None else ratio * 100, '>6.1f')}% {r.get('rss_mb', 0):>7.1f}")
print(f"broker RSS idle (anonymous, page cache excluded): {idle_rss_kb / 1024:.1f} MB")

print()
print("broker per message: CPU µs (same run as above; prep = the part spent preparing commit log")
print("pages ahead of the writer), syscalls (separate run under perf stat)")
print(f"{'scenario':<18} {'header':>6} {'msg/s':>9} {'user µs':>8} {'sys µs':>8} {'prep µs':>8} "
      + " ".join(f"{k.removeprefix('sys_'):>7}" for k in syscall_fields))
for r in rows:
    if r.get("cpu_user_us") is None and r.get("sys_all") is None:
        continue
    print(f"{r['scenario']:<18} {r.get('header') or '-':>6} {fmt(r['tps'], '>9.0f')} {fmt(r.get('cpu_user_us'), '>8.2f')} "
          f"{fmt(r.get('cpu_sys_us'), '>8.2f')} {fmt(r.get('cpu_prep_us'), '>8.2f')} " + " ".join(fmt(r.get(k), ">7.3f") for k in syscall_fields))

def check(name, ok, detail):
    print(f"  [{'ok' if ok else 'MISSED'}] {name}: {detail}")

print("goals:")
c64 = by.get("async c64")
if c64 and c64.get("ratio") is not None:
    check("async c64 >= 70% of echo", c64["ratio"] >= 0.70, f"{c64['ratio'] * 100:.1f}%")
if c64 and c64.get("cpu_user_us") is not None:
    cpu = c64["cpu_user_us"] + c64["cpu_sys_us"]
    check("broker CPU <= 9 µs per message at c64, JSON headers", cpu <= 9.0,
          f"{cpu:.2f} µs ({c64.get('cpu_prep_us') or 0:.2f} of it preparing commit log pages ahead of the writer)")
if c64 and c64.get("sys_futex") is not None:
    check("futex <= 0.2 per message at c64", c64["sys_futex"] <= 0.2, f"{c64['sys_futex']:.3f}")
half = by.get("half load c16")
if half:
    check("p99 < 1 ms at half of max throughput", half["p99_ms"] < 1.0,
          f"{half['p99_ms']:.3f} ms at {half['tps']:.0f} msg/s (echo at the same rate: p99 {half.get('baseline_p99_ms', float('nan')):.3f} ms)")
sync = by.get("sync-flush c64")
if sync and c64:
    check("sync flush >= 50% of async", sync["tps"] >= 0.5 * c64["tps"], f"{sync['tps'] / c64['tps'] * 100:.1f}%")
back = by.get("backlog consume")
if back and c64:
    check("backlog consume >= 2x producer", back["tps"] >= 2 * c64["tps"], f"{back['tps'] / c64['tps']:.2f}x")
e2e = by.get("10k/s e2e")
if e2e:
    check("e2e p99 < 5 ms at 10k/s", e2e["p99_ms"] < 5.0, f"{e2e['p99_ms']:.3f} ms")
start_json = os.path.join(out, "start.json")
if os.path.exists(start_json):
    st = json.load(open(start_json))
    check("empty store LISTENING < 200 ms", st["listening_ms"] < 200,
          f"{st['listening_ms']:.0f} ms (median of {st['runs']}, {st['listening_ms_min']:.0f}-{st['listening_ms_max']:.0f})")
    check("store < 100 MB on disk after start", st["store_mb_max"] < 100,
          f"{st['store_mb']:.1f} MB (median; at most {st['store_mb_max']:.1f})")
peak = max((r.get("rss_mb", 0) for r in rows), default=0)
check("RSS < 50 MB idle", idle_rss_kb / 1024 < 50, f"{idle_rss_kb / 1024:.1f} MB")
check("RSS < 300 MB under load", peak < 300, f"{peak:.1f} MB peak")

venv = os.path.expanduser("~/.cache/fennec-bench/venv")
py = os.path.join(venv, "bin", "python")
try:
    if not os.path.exists(py):
        subprocess.run([sys.executable, "-m", "venv", venv], check=True)
        subprocess.run([py, "-m", "pip", "install", "-q", "matplotlib"], check=True)
    script = r'''
import csv, sys
import matplotlib
matplotlib.use("Agg")
import matplotlib.pyplot as plt
rows = list(csv.DictReader(open(sys.argv[1])))
names = [r["scenario"] for r in rows]
tps = [float(r["tps"] or "nan") for r in rows]
p99 = [float(r["p99_ms"] or "nan") for r in rows]
fig, (a, b) = plt.subplots(2, 1, figsize=(11, 7), sharex=True)
a.bar(names, tps, color="#d9822b"); a.set_ylabel("messages/s"); a.set_title("Fennec mqbench: throughput and p99 latency")
b.bar(names, p99, color="#3b6ea5"); b.set_ylabel("p99 ms"); b.set_yscale("log")
plt.xticks(rotation=30, ha="right"); fig.tight_layout(); fig.savefig(sys.argv[2], dpi=110)
'''
    subprocess.run([py, "-c", script, os.path.join(out, "results.csv"), os.path.join(out, "results.png")], check=True)
    print(f"chart: {os.path.join(out, 'results.png')}")
except Exception as e:  # noqa: BLE001
    print(f"warning: no chart ({e})", file=sys.stderr)
print(f"csv: {os.path.join(out, 'results.csv')}")
