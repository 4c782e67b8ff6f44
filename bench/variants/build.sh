#!/usr/bin/env bash
# Profile variants of the SDK (docs/BENCHMARKS.md, notes: curve25519-dalek's opt-level). For
# each variant NAME=OVERRIDES (`pkg:level,pkg:level`, or `-` for none), .cargo/config.toml (where
# the profile wasm-release is defined, for both workspaces) gets exactly these
# `[profile.wasm-release.package.<pkg>] opt-level` sections instead of its own, for the build
# only (restored afterwards); then the shipped
# package is built with scripts/build-sdk.sh and measured with scripts/size-check.mjs
# (target/variants/NAME.size.txt), and bench/wasm-client is built as scripts/bench.sh builds it
# into target/variants/www/NAME/. `node bench/variants/run.mjs NAME...` then times them.
# Leaves pkg/ built from the last variant.
#
# Usage: bash bench/variants/build.sh z=- d1=curve25519-dalek:1 d3=curve25519-dalek:3 ...
set -euo pipefail
cd "$(dirname "$0")/../.."
export PATH="$HOME/.cargo/bin:$PATH"
OUT=target/variants
mkdir -p "$OUT/www"
MANIFESTS=(.cargo/config.toml)
for m in "${MANIFESTS[@]}"; do cp "$m" "$OUT/${m//\//_}.orig"; done
restore() { for m in "${MANIFESTS[@]}"; do cp "$OUT/${m//\//_}.orig" "$m"; done; }
trap restore EXIT
WASM_OPT_FLAGS="--flatten --rereloop -Oz --gufa -Oz --converge --strip-debug --strip-producers"
if [ ! -d "$OUT/www/ref" ]; then
  [ -d bench/reference/node_modules ] || npm ci --prefix bench/reference --no-audit --no-fund --loglevel=error
  node bench/reference/ref-size.mjs "$OUT/www/ref" > /dev/null
fi
for spec in "$@"; do
  name=${spec%%=*} overrides=${spec#*=}
  sections=""
  if [ "$overrides" != - ]; then
    IFS=, read -ra pairs <<< "$overrides"
    for p in "${pairs[@]}"; do
      pkg=${p%%:*} level=${p#*:}
      [[ $level =~ ^[0-9]$ ]] || level="\"$level\""
      sections+=$(printf '\n[profile.wasm-release.package.%s]\nopt-level = %s\n' "$pkg" "$level")$'\n'
    done
  fi
  for m in "${MANIFESTS[@]}"; do
    awk '/^\[/{skip = ($0 ~ /^\[profile\.wasm-release\.package\./)} !skip' "$OUT/${m//\//_}.orig" > "$m"
    printf '%s' "$sections" >> "$m"
  done
  echo "=== $name: ${overrides}" >&2
  bash scripts/build-sdk.sh >&2
  node scripts/size-check.mjs 1000000 > "$OUT/$name.size.txt"
  tail -n 2 "$OUT/$name.size.txt" | head -n 1 >&2
  CARGO_TARGET_DIR=target/bench-wasm cargo build --quiet --locked --profile wasm-release \
    --target wasm32-unknown-unknown --manifest-path bench/wasm-client/Cargo.toml
  rm -rf "$OUT/www/$name"
  wasm-bindgen --target web --out-dir "$OUT/www/$name" \
    target/bench-wasm/wasm32-unknown-unknown/wasm-release/h5_bench_wasm_client.wasm
  # shellcheck disable=SC2086
  node_modules/.bin/wasm-opt $WASM_OPT_FLAGS "$OUT/www/$name/h5_bench_wasm_client_bg.wasm" \
    -o "$OUT/www/$name/h5_bench_wasm_client_bg.wasm"
done
