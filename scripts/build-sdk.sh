#!/usr/bin/env bash
# Builds the npm package's contents into pkg/: the release wasm (wasm-pack, --target web),
# optimised by npm binaryen's wasm-opt -Oz, plus the package entry (js/index.js, js/index.d.ts).
set -euo pipefail
cd "$(dirname "$0")/.."
export PATH="$HOME/.cargo/bin:$PATH"

rm -rf pkg
wasm-pack build --release --target web --out-dir pkg --mode no-install --no-pack
# wasm-pack writes a `*` .gitignore that npm pack would honour inside `files`.
rm -f pkg/.gitignore pkg/h5_access_bg.wasm.d.ts
# Never Debian's wasm-opt 108 (its output fails in Chromium): npm's binaryen only.
node_modules/.bin/wasm-opt -Oz --strip-debug --strip-producers \
  pkg/h5_access_bg.wasm -o pkg/h5_access_bg.wasm

runtime=$(cd pkg && find snippets -path '*/js/runtime.js' | head -n 1)
[ -n "$runtime" ] || { echo "build-sdk: runtime snippet not found" >&2; exit 1; }
sed "s#\"__RUNTIME__\"#\"./$runtime\"#" js/index.js > pkg/index.js
cp js/index.d.ts pkg/index.d.ts
echo "build-sdk: pkg/ ready ($(wc -c < pkg/h5_access_bg.wasm) bytes of wasm)"
