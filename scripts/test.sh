#!/usr/bin/env bash
# The README's test command (`npm test`): installs what is missing, then runs every suite.
set -euo pipefail
cd "$(dirname "$0")/.."
export PATH="$HOME/.cargo/bin:$PATH"
step() { printf '\n=== %s ===\n' "$*"; }
# Background processes this script starts (mock gateway, Xvfb), stopped on any exit.
bg_pids=()
cleanup() {
  for p in "${bg_pids[@]}"; do kill "$p" 2>/dev/null || true; done
  rm -f "${gw_log:-}"
}
trap cleanup EXIT

# Runs "$@" with DISPLAY set to a private Xvfb (WebKitGTK's MiniBrowser has no headless mode);
# Xvfb picks a free display number itself (-displayfd). Stopped when "$@" ends.
with_xvfb() {
  local dfile xpid rc=0
  dfile=$(mktemp)
  Xvfb -displayfd 3 -screen 0 1280x1024x24 -nolisten tcp 3>"$dfile" >/dev/null 2>&1 &
  xpid=$!
  bg_pids+=("$xpid")
  for _ in $(seq 300); do [ -s "$dfile" ] && break; sleep 0.1; done
  [ -s "$dfile" ] || { echo "Xvfb did not start" >&2; kill "$xpid" 2>/dev/null; return 1; }
  DISPLAY=":$(head -n 1 "$dfile")" "$@" || rc=$?
  kill "$xpid" 2>/dev/null || true
  wait "$xpid" 2>/dev/null || true
  rm -f "$dfile"
  return "$rc"
}

# One engine's wasm-bindgen-test run: "$@" is the wasm-pack command; its "test result:" line is
# repeated as "wasm-bindgen-test ENGINE: N passed, M failed".
wasm_in() {
  local engine=$1 out rc=0 line
  shift
  out=$(mktemp)
  "$@" 2>&1 | tee "$out" || rc=$?
  line=$(grep -E '^test result: ' "$out" | tail -n 1)
  rm -f "$out"
  if [[ $line =~ ([0-9]+)\ passed\;\ ([0-9]+)\ failed ]]; then
    echo "wasm-bindgen-test $engine: ${BASH_REMATCH[1]} passed, ${BASH_REMATCH[2]} failed"
    [ "${BASH_REMATCH[1]}" -gt 0 ] || rc=1
  else
    echo "wasm-bindgen-test $engine: no test result line" >&2
    rc=1
  fi
  return "$rc"
}

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

step "bench/wasm-client's own Cargo.lock agrees with the crate (npm run bench builds it --locked)"
cargo metadata --locked --format-version 1 --filter-platform wasm32-unknown-unknown \
  --manifest-path bench/wasm-client/Cargo.toml > /dev/null
echo "bench/wasm-client/Cargo.lock: up to date"

step "native tests (protocol core, gateway, mock gateway over loopback HTTP)"
cargo test --workspace --all-features

step "SDK release build (wasm-pack --target web, npm wasm-opt, esbuild) into pkg/"
bash scripts/build-sdk.sh

step "SDK size budget (.wasm + JS glue, gzip -9)"
node scripts/size-check.mjs 64000

step "TypeScript: tsc --noEmit on the usage file"
node_modules/.bin/tsc --noEmit -p tests/ts
echo "tsc: ok"

# One test file, two environments: Node.js by default, the browser when the runner sees
# WASM_BINDGEN_USE_BROWSER (tests/sdk_wasm.rs).
step "SDK wasm core in Node.js (wasm-bindgen-test)"
wasm-pack test --node --mode no-install -- --test sdk_wasm

step "SDK wasm core in headless Chromium (wasm-bindgen-test, wasm-pack test --headless --chrome)"
WASM_BINDGEN_USE_BROWSER=1 wasm_in chromium wasm-pack test --headless --chrome --mode no-install -- --test sdk_wasm

step "SDK wasm core in headless Firefox ESR (wasm-bindgen-test, wasm-pack test --headless --firefox, geckodriver)"
WASM_BINDGEN_USE_BROWSER=1 wasm_in firefox wasm-pack test --headless --firefox --mode no-install -- --test sdk_wasm

# wasm-pack's --safari runner starts `safaridriver --port=N`; on Linux that is WebKitGTK's
# WebDriver server (its MiniBrowser), through this shim on PATH, under a private Xvfb.
step "SDK wasm core in WebKitGTK (wasm-bindgen-test, wasm-pack test --headless --safari, safaridriver shim)"
shim_dir=$PWD/target/webdriver-shim
mkdir -p "$shim_dir"
printf '%s\n' '#!/bin/sh' \
  '# Written by scripts/test.sh: wasm-pack test --safari runs `safaridriver --port=N`; this is WebKitGTK'"'"'s.' \
  'exec WebKitWebDriver "$@"' > "$shim_dir/safaridriver"
chmod +x "$shim_dir/safaridriver"
PATH="$shim_dir:$PATH" WASM_BINDGEN_USE_BROWSER=1 with_xvfb wasm_in webkit wasm-pack test --headless --safari --mode no-install -- --test sdk_wasm

step "SDK JavaScript half in Node.js against pkg/ (node --test, scripted fetch)"
node --test tests/js/*.test.mjs

# The mock gateway (tests/mock-gateway) for the browser suites and the packaging test.
step "start the mock gateway"
gw_log=$(mktemp)
cargo build -q -p h5-mock-gateway
target/debug/h5-mock-gateway --listen 127.0.0.1:0 --seed test --test-hooks > "$gw_log" 2>&1 &
bg_pids+=($!)
for _ in $(seq 100); do grep -q '^h5-mock-gateway listening on ' "$gw_log" && break; sleep 0.2; done
H5_TEST_GATEWAY=$(sed -n 's/^h5-mock-gateway listening on //p' "$gw_log")
[ -n "$H5_TEST_GATEWAY" ] || { cat "$gw_log"; echo "mock gateway did not start" >&2; exit 1; }
export H5_TEST_GATEWAY
echo "mock gateway at $H5_TEST_GATEWAY"

# Every browser suite below runs in Chromium, Firefox ESR and WebKitGTK (tests/browser/engines.mjs,
# selenium-webdriver; each starts its own drivers and, for WebKit, its own Xvfb).
step "SDK browser suite: pkg/ in Chromium, Firefox ESR, WebKitGTK against the mock gateway (WebDriver)"
node tests/browser/run.mjs "$H5_TEST_GATEWAY"

step "packaging test: npm pack → plain ESM page and Vite app, exchange in Chromium, Firefox ESR, WebKitGTK"
bash scripts/package-test.sh "$H5_TEST_GATEWAY"

step "demo build (release mock gateway, target/demo from www/ and the pkg/ built above)"
bash scripts/build-demo.sh --no-sdk

step "end-to-end test in Chromium, Firefox ESR, WebKitGTK at 375×812 (tests/e2e, screenshots in target/e2e/ENGINE/)"
node tests/e2e/demo.e2e.mjs

printf '\nall suites passed\n'
