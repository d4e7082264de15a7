#!/usr/bin/env bash
# The README's test command: installs and starts what the tests need
# (scripts/setup-tests.sh, idempotent), then builds every binary and runs
# every test of the workspace. Extra arguments go to `cargo test`.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup-tests.sh
cargo build --workspace --bins
cargo test --workspace "$@"
