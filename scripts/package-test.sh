#!/usr/bin/env bash
# Packaging test: `npm pack`, install the tarball into a throwaway plain-ESM page and a throwaway
# Vite app, serve each (with the README's CSP) and run an exchange and a call through each in every
# engine (Chromium, Firefox ESR, WebKitGTK: tests/package/run.mjs, one WebDriver session per engine).
# Usage: scripts/package-test.sh GATEWAY_URL   (pkg/ must be built: scripts/build-sdk.sh)
set -euo pipefail
cd "$(dirname "$0")/.."
GW=$1
VITE_VERSION=8.3.8
work=$PWD/target/package-test
rm -rf "$work" && mkdir -p "$work"
tarball=$(npm pack --silent --pack-destination "$work" | tail -n 1)
echo "package-test: packed $tarball ($(wc -c < "$work/$tarball") bytes): $(tar tzf "$work/$tarball" | tr '\n' ' ')"

# What `npm publish` would upload is exactly the allow-list (nothing from the repository leaks in).
allowed="CHANGELOG.md LICENSE-APACHE LICENSE-MIT README.md package.json pkg/h5_access_bg.wasm pkg/index.d.ts pkg/index.js"
published=$(npm publish --dry-run --json 2>/dev/null \
  | node -e 'const j = JSON.parse(require("fs").readFileSync(0, "utf8")); const r = j["h5-access"] ?? j;
    console.log(r.files.map((f) => f.path).sort().join(" "))')
[ "$published" = "$allowed" ] || { echo "package-test: npm publish --dry-run lists '$published', allow-list '$allowed'" >&2; exit 1; }
echo "package-test: npm publish --dry-run files = the allow-list ($allowed)"

pids=()
cleanup() { for p in "${pids[@]}"; do kill "$p" 2>/dev/null || true; done; }
trap cleanup EXIT
serve() { # DIR → sets $url (not in a subshell, so the server's pid is recorded for cleanup)
  node tests/package/serve.mjs "$1" "$GW" > "$1.serve.log" 2>&1 &
  pids+=($!)
  for _ in $(seq 50); do grep -q '^serving ' "$1.serve.log" && break; sleep 0.1; done
  url=$(sed -n 's/^serving //p' "$1.serve.log")
}

# 1. Plain <script type="module">, no bundler.
mkdir -p "$work/plain"
cp tests/package/plain/* tests/package/app.js "$work/plain/"
(cd "$work/plain" && npm init -y >/dev/null && npm install --no-audit --no-fund --loglevel=error "../$tarball")
serve "$work/plain"
plain_url=$url

# 2. Vite app (vite build, served as built).
mkdir -p "$work/vite"
cp tests/package/vite/* tests/package/app.js "$work/vite/"
(cd "$work/vite" && npm init -y >/dev/null && npm pkg set type=module >/dev/null \
  && npm install --no-audit --no-fund --loglevel=error "../$tarball" "vite@$VITE_VERSION" \
  && npx vite build --logLevel warn)
serve "$work/vite/dist"
vite_url=$url

node tests/package/run.mjs "$GW" "plain page=$plain_url/" \
  "plain page, instantiateStreaming broken=$plain_url/?broken-streaming" "vite app=$vite_url/"
