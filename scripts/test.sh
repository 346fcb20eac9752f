#!/usr/bin/env bash
# Builds every binary, then runs every test. `cargo test` alone does not build the server
# binaries that the process tests in tests/ start (only packages with integration tests get
# their bins built), so this is the test command for local runs and CI.
# Extra arguments go to `cargo test`, e.g. scripts/test.sh -p fennec-tests -- --nocapture
set -euo pipefail
cd "$(dirname "$0")/.."
cargo build --workspace --bins
cargo test --workspace "$@"
