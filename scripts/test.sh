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

step "module imports: no loops among the files under src/ (CONTRIBUTING.md)"
node scripts/check-imports.mjs

step "cargo clippy (all targets, all features, -D warnings)"
cargo clippy --workspace --all-targets --all-features -- -D warnings

step "cargo clippy (wasm32: SDK library and its test suites, -D warnings)"
cargo clippy --target wasm32-unknown-unknown --lib --test sdk_wasm -- -D warnings
cargo clippy --target wasm32-unknown-unknown --lib --no-default-features -- -D warnings # as shipped

step "native tests (protocol core, gateway, mock gateway over loopback HTTP)"
cargo test --workspace --all-features

step "SDK release build (wasm-pack --target web, npm wasm-opt, esbuild) into pkg/"
bash scripts/build-sdk.sh

step "SDK size budget (.wasm + JS glue, gzip -9)"
node scripts/size-check.mjs 60000

step "TypeScript: tsc --noEmit on the usage file"
node_modules/.bin/tsc --noEmit -p tests/ts
echo "tsc: ok"

# One test file, two environments: Node.js by default, the browser when the runner sees
# WASM_BINDGEN_USE_BROWSER (tests/sdk_wasm.rs).
step "SDK wasm core in Node.js (wasm-bindgen-test)"
wasm-pack test --node --mode no-install -- --test sdk_wasm

step "SDK wasm core in headless Chromium (wasm-bindgen-test, wasm-pack test --headless --chrome)"
WASM_BINDGEN_USE_BROWSER=1 wasm-pack test --headless --chrome --mode no-install -- --test sdk_wasm

step "SDK JavaScript half in Node.js against pkg/ (node --test, scripted fetch)"
node --test tests/js/*.test.mjs

# The mock gateway (tests/mock-gateway) for the browser suites and the packaging test.
step "start the mock gateway"
gw_log=$(mktemp)
cargo build -q -p h5-mock-gateway
target/debug/h5-mock-gateway --listen 127.0.0.1:0 --seed test --test-hooks > "$gw_log" 2>&1 &
gw_pid=$!
trap 'kill "$gw_pid" 2>/dev/null || true; rm -f "$gw_log"' EXIT
for _ in $(seq 100); do grep -q '^h5-mock-gateway listening on ' "$gw_log" && break; sleep 0.2; done
H5_TEST_GATEWAY=$(sed -n 's/^h5-mock-gateway listening on //p' "$gw_log")
[ -n "$H5_TEST_GATEWAY" ] || { cat "$gw_log"; echo "mock gateway did not start" >&2; exit 1; }
export H5_TEST_GATEWAY
echo "mock gateway at $H5_TEST_GATEWAY"

step "SDK browser suite: pkg/ in headless Chromium against the mock gateway (Playwright)"
node tests/browser/run.mjs "$H5_TEST_GATEWAY"

step "packaging test: npm pack → plain ESM page and Vite app, exchange in Chromium"
bash scripts/package-test.sh "$H5_TEST_GATEWAY"

step "demo build (release mock gateway, target/demo from www/ and the pkg/ built above)"
bash scripts/build-demo.sh --no-sdk

step "end-to-end test in Chromium (tests/e2e, screenshots in target/e2e)"
node tests/e2e/demo.e2e.mjs

printf '\nall suites passed\n'
