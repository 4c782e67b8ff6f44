#!/usr/bin/env bash
# The README's start command (`npm start`): installs what is missing, builds, starts the mock
# gateway serving the demo, prints the URL to open. Ctrl-C (or SIGTERM) stops everything it started.
# PORT=8787 by default; HOST=127.0.0.1.
set -euo pipefail
cd "$(dirname "$0")/.."
export PATH="$HOME/.cargo/bin:$PATH"

HOST=${HOST:-127.0.0.1}
PORT=${PORT:-8787}

bash scripts/bootstrap.sh
bash scripts/build-demo.sh

gw_pid=""
out=$(mktemp)
cleanup() {
  trap - INT TERM EXIT
  if [ -n "$gw_pid" ] && kill -0 "$gw_pid" 2>/dev/null; then
    kill "$gw_pid" 2>/dev/null || true
    wait "$gw_pid" 2>/dev/null || true
  fi
  rm -f "$out"
}
trap 'cleanup; exit 130' INT
trap 'cleanup; exit 143' TERM
trap cleanup EXIT

# The binary, not `cargo run`: a signal then reaches the server itself.
target/release/h5-mock-gateway --listen "$HOST:$PORT" --serve target/demo >"$out" &
gw_pid=$!

# Wait for its one line "h5-mock-gateway listening on http://HOST:PORT".
url=""
for _ in $(seq 1 100); do
  url=$(sed -n 's/^h5-mock-gateway listening on \(http:\/\/[^ ]*\)$/\1/p' "$out" | head -n1)
  [ -n "$url" ] && break
  if ! kill -0 "$gw_pid" 2>/dev/null; then
    wait "$gw_pid" || true
    echo "start: the mock gateway exited before listening (port $PORT in use? try PORT=8788 npm start)" >&2
    exit 1
  fi
  sleep 0.1
done
if [ -z "$url" ]; then
  echo "start: the mock gateway did not report its address" >&2
  exit 1
fi

cat <<MSG

  Open ${url}/partner/ (partner app)
       ${url}/         (demo index)
  Best at phone width: in Chromium's DevTools, device toolbar, 375 px.
  Ctrl-C stops the mock gateway.

MSG
wait "$gw_pid"
