#!/usr/bin/env bash
# Installs everything the build and the tests need, skipping what is already there.
# Idempotent; run as root on Debian/Ubuntu. Nothing is downloaded from GitHub or Google:
# Rust tools (geckodriver too) come from crates.io, the browsers and their drivers from Debian,
# wasm-opt and the WebDriver client from npm.
set -euo pipefail
cd "$(dirname "$0")/.."

say() { printf '[bootstrap] %s\n' "$*"; }
export PATH="$HOME/.cargo/bin:$PATH"

# 1. The wasm32 target.
if ! rustup target list --installed | grep -qx wasm32-unknown-unknown; then
  say "adding rustup target wasm32-unknown-unknown"
  rustup target add wasm32-unknown-unknown
fi

# 2. wasm-pack, pinned.
WASM_PACK_VERSION=0.15.1
if ! wasm-pack --version 2>/dev/null | grep -q "$WASM_PACK_VERSION"; then
  say "installing wasm-pack $WASM_PACK_VERSION (cargo install, ~2 min)"
  cargo install wasm-pack --version "$WASM_PACK_VERSION" --locked
fi

# 3. wasm-bindgen-cli at exactly the wasm-bindgen version in Cargo.lock. Without --locked: its
#    own lockfile pins a webpki-roots version the registry here lacks.
if [ -f Cargo.lock ] && grep -q '^name = "wasm-bindgen"$' Cargo.lock; then
  WB_VERSION=$(awk '/^name = "wasm-bindgen"$/{getline; gsub(/version = |"/,""); print; exit}' Cargo.lock)
  if ! wasm-bindgen --version 2>/dev/null | grep -q " $WB_VERSION\$"; then
    say "installing wasm-bindgen-cli $WB_VERSION (cargo install, ~2 min)"
    cargo install wasm-bindgen-cli --version "$WB_VERSION" --force
  fi
fi

# 4. The three browser engines H5 pages run in, and their WebDriver servers, from Debian (one
#    apt-get for whatever is missing): Chromium + chromedriver (Android WebView's engine), Firefox
#    ESR (geckodriver: step 5), WebKitGTK's MiniBrowser + WebKitWebDriver (iOS WKWebView's engine;
#    it has no headless mode, so Xvfb too).
MINIBROWSER=/usr/lib/x86_64-linux-gnu/webkit2gtk-4.1/MiniBrowser
chromium_missing=() apt_missing=()
command -v chromium >/dev/null || chromium_missing+=(chromium)
command -v chromedriver >/dev/null || chromium_missing+=(chromium-driver)
command -v firefox-esr >/dev/null || apt_missing+=(firefox-esr)
{ command -v WebKitWebDriver >/dev/null && [ -x "$MINIBROWSER" ]; } || apt_missing+=(webkit2gtk-driver)
command -v Xvfb >/dev/null || apt_missing+=(xvfb)
if [ ${#chromium_missing[@]} -gt 0 ] || [ ${#apt_missing[@]} -gt 0 ]; then
  say "installing ${chromium_missing[*]} ${apt_missing[*]} (apt)"
  export DEBIAN_FRONTEND=noninteractive
  apt-get update -qq
  if [ ${#chromium_missing[@]} -gt 0 ]; then apt-get install -y -qq "${chromium_missing[@]}" >/dev/null; fi
  if [ ${#apt_missing[@]} -gt 0 ]; then apt-get install -y -qq --no-install-recommends "${apt_missing[@]}" >/dev/null; fi
fi

# 5. geckodriver (Firefox's WebDriver server), pinned, from crates.io (~5 min cold).
GECKODRIVER_VERSION=0.37.1
if ! geckodriver --version 2>/dev/null | head -n 1 | grep -q "^geckodriver $GECKODRIVER_VERSION\b"; then
  say "installing geckodriver $GECKODRIVER_VERSION (cargo install, ~5 min)"
  cargo install geckodriver --version "$GECKODRIVER_VERSION" --locked
fi

# Debian's binaryen (wasm-opt 108) produces modules that fail in Chromium: refuse it on PATH.
if command -v wasm-opt >/dev/null && [ "$(command -v wasm-opt)" != "$PWD/node_modules/.bin/wasm-opt" ]; then
  case "$(wasm-opt --version 2>/dev/null)" in
    *"version 108"*) say "WARNING: $(command -v wasm-opt) is Debian's binaryen 108; npm's is used instead" ;;
  esac
fi

# 6. redis-server and redis-cli from Debian: the fleet suites (tests/mock-gateway/tests/fleet.rs)
#    start their own servers (single and a 3-master cluster) on free loopback ports.
if ! command -v redis-server >/dev/null || ! command -v redis-cli >/dev/null; then
  say "installing redis-server (apt)"
  export DEBIAN_FRONTEND=noninteractive
  apt-get update -qq
  apt-get install -y -qq redis-server >/dev/null
fi

# 7. npm dev dependencies (binaryen for wasm-opt, selenium-webdriver for the browser suites,
#    playwright-core for the benchmarks, typescript, esbuild).
#    `npm ls` also catches a node_modules older than package.json whose files are not newer
#    (a git worktree checked out after it was installed, e.g. without esbuild).
if [ ! -d node_modules ] || [ package-lock.json -nt node_modules/.package-lock.json ] \
  || ! npm ls --silent >/dev/null 2>&1; then
  say "npm ci"
  npm ci --no-audit --no-fund --loglevel=error
fi
say "ready"
