#!/usr/bin/env bash
# `npm run bench` (issue 6; not part of `npm test`): shipped size, client speed against hpke-js,
# gateway throughput against its crypto limit. Raw results go to target/bench/*.json, and
# docs/BENCHMARKS.md's generated section (between the bench:start / bench:end markers) is
# rewritten from them by bench/report.mjs.
#
# Pinning (2 cores): the gateway (criterion and the HTTP server) runs on CPU 1 with taskset, the
# load client on CPU 0. Env: BENCH_REQUESTS (20000), BENCH_CONCURRENCY (32), BENCH_COLD (15),
# BENCH_ROUNDS (40) × BENCH_PER_ROUND (50) browser iterations per side.
set -euo pipefail
cd "$(dirname "$0")/.."
export PATH="$HOME/.cargo/bin:$PATH"
step() { printf '\n=== %s ===\n' "$*"; }
OUT=target/bench
WWW=$OUT/www
mkdir -p "$OUT" "$WWW"
pin() { if command -v taskset >/dev/null; then taskset -c "$1" "${@:2}"; else "${@:2}"; fi; }

step "bootstrap"
bash scripts/bootstrap.sh
if [ ! -d bench/reference/node_modules ] || [ bench/reference/package-lock.json -nt bench/reference/node_modules/.package-lock.json ]; then
  npm ci --prefix bench/reference --no-audit --no-fund --loglevel=error
fi
{
  echo "{"
  echo "  \"started\": \"$(date -u +%Y-%m-%dT%H:%M:%SZ)\","
  echo "  \"cpu_model\": \"$(lscpu | sed -n 's/^Model name: *//p' | head -n 1)\","
  echo "  \"cores\": $(nproc),"
  echo "  \"kernel\": \"$(uname -r)\","
  echo "  \"loadavg_start\": \"$(cut -d' ' -f1-3 /proc/loadavg)\","
  echo "  \"rustc\": \"$(rustc -V)\","
  echo "  \"node\": \"$(node -v)\","
  echo "  \"wasm_bindgen\": \"$(wasm-bindgen --version)\","
  echo "  \"wasm_opt\": \"$(node_modules/.bin/wasm-opt --version)\""
  echo "}"
} > "$OUT/machine.json"

step "build: SDK package, wasm client core, native gateway + load client"
# The wasm client core is built as the SDK is: the profile wasm-release (defined once, in the root
# .cargo/config.toml, which cargo reads from this directory for both workspaces, with the sha2
# compact backend), h5-access without `std`, and the same wasm-opt flags as scripts/build-sdk.sh
# (checked below).
# ...and the same crate versions: every package of its lockfile at a version of the root's.
lock_versions() { awk '/^name = /{n=$3} /^version = /{print n, $3}' "$1" | tr -d '"' | sort -u; }
stray=$(comm -13 <(lock_versions Cargo.lock) <(lock_versions bench/wasm-client/Cargo.lock) | grep -v '^h5-bench-wasm-client ' || true)
[ -z "$stray" ] || { printf 'bench: bench/wasm-client/Cargo.lock has versions Cargo.lock lacks:\n%s\n' "$stray" >&2; exit 1; }
WASM_OPT_FLAGS="--flatten --rereloop -Oz --gufa -Oz --converge --strip-debug --strip-producers"
grep -qF -- "$WASM_OPT_FLAGS" <(tr -d '\\\n' < scripts/build-sdk.sh | tr -s ' ') || {
  echo "bench: scripts/build-sdk.sh no longer runs wasm-opt $WASM_OPT_FLAGS" >&2
  exit 1
}
bash scripts/build-sdk.sh
rm -rf "$WWW/sdk" && cp -r pkg "$WWW/sdk"
CARGO_TARGET_DIR=target/bench-wasm cargo build --locked --profile wasm-release \
  --target wasm32-unknown-unknown --manifest-path bench/wasm-client/Cargo.toml
wasm-bindgen --target web --out-dir "$WWW/wasm-client" \
  target/bench-wasm/wasm32-unknown-unknown/wasm-release/h5_bench_wasm_client.wasm
# shellcheck disable=SC2086
node_modules/.bin/wasm-opt $WASM_OPT_FLAGS \
  "$WWW/wasm-client/h5_bench_wasm_client_bg.wasm" -o "$WWW/wasm-client/h5_bench_wasm_client_bg.wasm"
cargo build --release -p h5-mock-gateway -p h5-bench-load
cargo bench --features gateway --bench gateway_exchange --no-run
cargo bench --profile wasm-release --features gateway --bench gateway_exchange --no-run

step "1. size: SDK package vs hpke-js (seal + export), esbuild --minify"
# What scripts/size-check.mjs counts: every .wasm and .js of pkg/.
node bench/size.mjs h5_access_bg.wasm=pkg/h5_access_bg.wasm index.js=pkg/index.js > "$OUT/sdk-size.json"
[ "$(find pkg -name '*.js' -o -name '*.wasm' | wc -l)" = 2 ] || { echo "bench: pkg/ has other .js/.wasm files" >&2; exit 1; }
node bench/reference/ref-size.mjs "$WWW/ref" > "$OUT/ref-size.json"

step "3a. gateway crypto limit: criterion, one exchange's server work, CPU 1 (release profile)"
CRITERION_HOME=$OUT/criterion-native pin 1 \
  cargo bench --features gateway --bench gateway_exchange
step "3b. gateway HTTP load: h5-mock-gateway on CPU 1, load client on CPU 0, 127.0.0.1"
pin 0 target/release/h5-bench-load --gateway-bin target/release/h5-mock-gateway \
  --requests "${BENCH_REQUESTS:-20000}" --concurrency "${BENCH_CONCURRENCY:-32}" --time-cap 60 \
  --server-cpu 1 --server-log "$OUT/gateway-load.log" > "$OUT/load.json"
cat "$OUT/load.json"
step "3d. the same HTTP load with the state in Redis (redis-server on loopback, CPU 0)"
redis_port=$(node -e 'const s = require("net").createServer().listen(0, "127.0.0.1", () => { console.log(s.address().port); s.close(); })')
# Started directly (not through the `pin` function, whose background subshell would be the pid):
# taskset execs redis-server, so $! is the server itself and the kill below stops it.
redis_args=(redis-server --port "$redis_port" --bind 127.0.0.1 --save '' --appendonly no)
if command -v taskset >/dev/null; then
  taskset -c 0 "${redis_args[@]}" > "$OUT/redis.log" 2>&1 &
else
  "${redis_args[@]}" > "$OUT/redis.log" 2>&1 &
fi
redis_pid=$!
trap 'kill "$redis_pid" 2>/dev/null || true' EXIT
for _ in $(seq 100); do redis-cli -p "$redis_port" ping 2>/dev/null | grep -q PONG && break; sleep 0.1; done
pin 0 target/release/h5-bench-load --gateway-bin target/release/h5-mock-gateway \
  --requests "${BENCH_REQUESTS:-20000}" --concurrency "${BENCH_CONCURRENCY:-32}" --time-cap 60 \
  --server-cpu 1 --server-log "$OUT/gateway-load-redis.log" \
  --redis "redis://127.0.0.1:$redis_port" > "$OUT/load-redis.json"
kill "$redis_pid" 2>/dev/null || true
wait "$redis_pid" 2>/dev/null || true
trap - EXIT
cat "$OUT/load-redis.json"
step "3c. the same criterion bench built with the wasm's size profile (wasm-release), CPU 1"
CRITERION_HOME=$OUT/criterion-wasm-release pin 1 \
  cargo bench --profile wasm-release --features gateway --bench gateway_exchange

step "2. client speed in headless Chromium: cold init; SDK core vs hpke-js per exchange"
node bench/browser/run.mjs --www "$WWW" --sdk-glue /sdk/index.js --sdk-fn init \
  --cold "${BENCH_COLD:-15}" --rounds "${BENCH_ROUNDS:-40}" --per-round "${BENCH_PER_ROUND:-50}" \
  --warmup 200 > "$OUT/browser.json"
cat "$OUT/browser.json"

step "5. the access cycle: tap in the partner app → title on the H5 page, Chromium 375 px, 150 ms, 1.6/0.75 Mbps, cold"
# The demo as served by the release mock gateway, next to its lower bound (bench/cycle/run.mjs).
bash scripts/build-demo.sh --no-sdk
node bench/cycle/run.mjs --gateway-bin target/release/h5-mock-gateway --demo target/demo \
  --runs "${BENCH_CYCLE_RUNS:-7}" --out "$OUT/cycle-www" > "$OUT/cycle.json"
node -e 'const c = JSON.parse(require("fs").readFileSync(process.argv[1], "utf8")); console.log(JSON.stringify({ demo: c.demo_summary, bound: c.bound_summary, ratio: c.ratio }))' "$OUT/cycle.json"

step "4. docs/BENCHMARKS.md"
echo "$(cut -d' ' -f1-3 /proc/loadavg)" > "$OUT/loadavg_end.txt"
node bench/report.mjs "$OUT" docs/BENCHMARKS.md
echo "bench: docs/BENCHMARKS.md rewritten from $OUT/*.json"
