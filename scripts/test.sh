#!/usr/bin/env bash
# The README's test command (`npm test`): installs what is missing, then runs every suite.
set -euo pipefail
cd "$(dirname "$0")/.."
export PATH="$HOME/.cargo/bin:$PATH"
step() { printf '\n=== %s ===\n' "$*"; }

step "bootstrap"
bash scripts/bootstrap.sh

step "cargo fmt --check"
cargo fmt --all -- --check

step "cargo clippy (all targets, all features, -D warnings)"
cargo clippy --workspace --all-targets --all-features -- -D warnings

step "native tests (protocol core, gateway, mock gateway over loopback HTTP)"
cargo test --workspace --all-features

step "demo build (release SDK, release mock gateway, target/demo)"
bash scripts/build-demo.sh

step "end-to-end test in Chromium (tests/e2e, screenshots in target/e2e)"
node tests/e2e/demo.e2e.mjs

printf '\nall suites passed\n'
