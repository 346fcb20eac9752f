#!/usr/bin/env bash
# Runs every test: unit tests, store crash and property tests, and the integration tests in
# tests/ that start the real mqnamesrv and mqbroker binaries (built first).
# Extra arguments go to `cargo test`.
set -euo pipefail
cd "$(dirname "$0")/.."
cargo build --workspace --bins
cargo test --workspace "$@"
