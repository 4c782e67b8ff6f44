#!/usr/bin/env bash
# Builds the npm package's contents into pkg/: the release wasm (wasm-pack, --target web, the
# profile wasm-release), optimised by npm binaryen's wasm-opt -Oz; the package entry pkg/index.js, which is js/index.js
# bundled with the wasm-bindgen glue (internal, no types) and minified by esbuild; and the
# hand-written types js/index.d.ts. H5_SOURCEMAP=1 also writes pkg/index.js.map (not packaged).
set -euo pipefail
cd "$(dirname "$0")/.."
export PATH="$HOME/.cargo/bin:$PATH"

rm -rf pkg
# The profile `wasm-release` (size first) is defined in .cargo/config.toml. Panic locations name
# their source files: the crates' paths are shortened to `name-version/…` (no machine paths in
# the shipped wasm, and ~3 KB fewer raw bytes). This variable replaces the wasm32 rustflags of
# .cargo/config.toml, so the sha2 backend flag is repeated here.
flags='--cfg sha2_backend_soft="compact"'
for dir in "${CARGO_HOME:-$HOME/.cargo}"/registry/src/*/; do flags="$flags --remap-path-prefix=$dir="; done
export CARGO_TARGET_WASM32_UNKNOWN_UNKNOWN_RUSTFLAGS="$flags --remap-path-prefix=$PWD/="
wasm-pack build --profile wasm-release --target web --out-dir pkg --mode no-install --no-pack --no-typescript
# wasm-pack writes a `*` .gitignore that npm pack would honour inside `files`.
rm -f pkg/.gitignore
# Never Debian's wasm-opt 108 (its output fails in Chromium): npm's binaryen only.
# Flags measured in docs/BENCHMARKS.md (flatten + rereloop + gufa: about 250 B gzip below -Oz).
node_modules/.bin/wasm-opt --flatten --rereloop -Oz --gufa -Oz --converge \
  --strip-debug --strip-producers pkg/h5_access_bg.wasm -o pkg/h5_access_bg.wasm
# Short import/export names in the wasm and its glue (binaryen's mapping applied to the glue).
node scripts/minify-names.mjs node_modules/.bin/wasm-opt pkg/h5_access_bg.wasm pkg/h5_access.js

[ ! -e pkg/snippets ] || { echo "build-sdk: unexpected JS snippets in pkg/" >&2; exit 1; }
# One minified ES module (exports keep their names; the syntax floor is README "Browser support").
cp js/index.js pkg/index.js
node_modules/.bin/esbuild pkg/index.js --bundle --minify --format=esm \
  --target=chrome96,safari15,firefox90 --legal-comments=none --log-level=warning \
  ${H5_SOURCEMAP:+--sourcemap=external --sources-content=true} \
  --allow-overwrite --outfile=pkg/index.js
rm pkg/h5_access.js
cp js/index.d.ts pkg/index.d.ts
echo "build-sdk: pkg/ ready ($(wc -c < pkg/h5_access_bg.wasm) bytes of wasm)"
