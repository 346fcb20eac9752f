#!/usr/bin/env bash
# Coverage-guided fuzzing of every decoder of peer and file bytes with AFL++ (cargo-afl).
#
#   scripts/fuzz.sh [SECONDS] [TARGET...]
#
# Builds the targets of fuzz/ with AFL instrumentation (into target/afl), then runs each for
# SECONDS (default 10) from its seeds in fuzz/seeds/<target>, one afl-fuzz at a time, and
# prints executions, crashes and hangs per target. Exits non-zero if any target has a crash
# or a hang. An input is at most 64 KiB (-G) and must run within 10 ms (-t; a hang is an
# input that fuzz-replay, built without instrumentation, still times above 10 ms of CPU);
# the stack is limited to 2 MiB, a tokio worker's, so deep recursion crashes.
#
# Output goes to target/fuzz-out/<target>/default (crashes/, hangs/, fuzzer_stats).
#   FUZZ_RESUME=1    continue each target's previous run instead of starting from the seeds:
#                    the long campaign, whose totals add up across runs.
#   FUZZ_INSTALL=1   install cargo-afl and build its AFL++ first if missing (CI).
#   FUZZ_BUILD=0     skip the build; FUZZ_BIN=DIR runs the target binaries in DIR.
#   FUZZ_OUT=DIR     write to DIR instead of target/fuzz-out.
# Replay a finding without AFL: copy it to fuzz/regressions/<target>/ and run
# `cargo test -p fennec-fuzz --test replay`.
set -euo pipefail

# One function, read whole before it runs, so editing this file cannot upset a running campaign.
main() {
    cd "$(dirname "$0")/.."

    seconds=${1:-10}
    shift || true
    mapfile -t all_targets < <(ls fuzz/seeds)
    targets=("${@:-${all_targets[@]}}")
    out=${FUZZ_OUT:-target/fuzz-out}
    bin=${FUZZ_BIN:-target/afl/fuzz}

    if [[ ${FUZZ_INSTALL:-0} == 1 ]]; then
        if ! cargo afl --version >/dev/null 2>&1; then
            cargo install cargo-afl --version '^0.18' --locked
        fi
        # Builds AFL++ for this rustc once; refuses (harmlessly) when it is already built.
        if ! log=$(cargo afl config --build 2>&1) && [[ $log != *"already built"* ]]; then
            echo "$log" >&2
            exit 1
        fi
    fi

    if [[ ${FUZZ_BUILD:-1} == 1 ]]; then
        echo "== building fuzz targets with AFL instrumentation"
        cargo afl build --profile fuzz -p fennec-fuzz --features afl --bins --target-dir target/afl
        echo "== building fuzz-replay without instrumentation (it times inputs)"
        cargo build --profile fuzz -p fennec-fuzz --bin fuzz-replay
    fi

    # Object keys of the typed headers, so AFL can write requests the broker reads.
    mkdir -p "$out"
    grep -oh '"[A-Za-z_]*" =>' protocol/src/header/*.rs | sed 's/ =>//' | sort -u \
        >"$out/typed_header.dict"

    export AFL_SKIP_CPUFREQ=1 AFL_I_DONT_CARE_ABOUT_MISSING_CRASHES=1 AFL_NO_AFFINITY=1
    export AFL_NO_UI=1 AFL_FAST_CAL=1 AFL_HANG_TMOUT=10 AFL_IGNORE_SEED_PROBLEMS=1
    # A panic must abort at once: printing a backtrace can outlast the 10 ms limit and turn a
    # crash into a timeout.
    export RUST_BACKTRACE=0
    # A rebuilt target cannot read the previous run's fast-resume state; resume from the queue.
    export AFL_NO_FASTRESUME=1
    status=0
    rows=()
    for t in "${targets[@]}"; do
        [[ -x $bin/$t ]] || { echo "unknown target $t" >&2; exit 2; }
        input=(-i "fuzz/seeds/$t")
        if [[ ${FUZZ_RESUME:-0} == 1 && -f $out/$t/default/fuzzer_stats ]]; then
            input=(-i -)
        else
            rm -rf "${out:?}/$t"
        fi
        dict=()
        [[ $t == typed_header ]] && dict=(-x "$out/typed_header.dict")
        echo "== $t: ${seconds}s"
        (
            ulimit -s 2048
            cargo afl fuzz "${input[@]}" -o "$out/$t" -V "$seconds" -t 10 -G 65536 "${dict[@]}" \
                -- "$bin/$t"
        ) >"$out/$t.log" 2>&1 || { echo "afl-fuzz failed for $t; see $out/$t.log" >&2; status=1; }
        stats=$out/$t/default/fuzzer_stats
        stat() { sed -n "s/^$1 *: //p" "$stats" 2>/dev/null; }
        crashes=$(stat saved_crashes)
        # AFL saves every input that overran 10 ms twice, by the wall clock and instrumented; on
        # a busy machine that includes quick inputs that were descheduled. fuzz-replay, built
        # without instrumentation, re-times them and the whole queue by the least CPU time of
        # three runs: those still over 10 ms are the hangs.
        replay=$( (ulimit -s 2048; target/fuzz/fuzz-replay "$t" "$out/$t/default/queue" \
            "$out/$t/default/hangs") 2>>"$out/$t.log" || true)
        hangs=$(sed -n 's/.*over_limit \([0-9]*\).*/\1/p' <<<"$replay")
        panics=$(sed -n 's/.*panics \([0-9]*\).*/\1/p' <<<"$replay")
        slowest=$(sed -n 's/.*slowest_us \([0-9]*\).*/\1/p' <<<"$replay")
        rows+=("$(printf '%-14s %14s %8s %6s %13s %11s' "$t" "$(stat execs_done)" \
            "${crashes:-?}" "${hangs:-?}" "$(stat saved_hangs)" "${slowest:-?}")")
        if [[ ${crashes:-1} != 0 || ${hangs:-1} != 0 || ${panics:-1} != 0 ]]; then
            status=1
        fi
    done

    echo
    printf '%-14s %14s %8s %6s %13s %11s\n' target executions crashes hangs afl_timeouts slowest_us
    printf '%s\n' "${rows[@]}"
    if [[ $status != 0 ]]; then
        echo "FAILED: crashes, hangs or afl-fuzz errors; inputs are in $out/<target>/default/{crashes,hangs}"
    fi
    exit $status
}

main "$@"
