#!/usr/bin/env bash
# Builds everything the demo and the end-to-end test run: the SDK (release), the mock gateway
# (release) and target/demo (www + the package files). Used by scripts/start.sh and scripts/test.sh.
# Usage: scripts/build-demo.sh [--no-sdk]
set -euo pipefail
cd "$(dirname "$0")/.."
export PATH="$HOME/.cargo/bin:$PATH"
say() { printf '[build-demo] %s\n' "$*"; }

# --no-sdk: pkg/ was just built (scripts/test.sh builds it for the SDK suites).
if [ "${1:-}" != "--no-sdk" ]; then
  say "SDK (release)"
  bash scripts/build-sdk.sh
fi

say "mock gateway (release)"
cargo build --release --quiet -p h5-mock-gateway

say "assembling target/demo"
node scripts/assemble-demo.mjs
