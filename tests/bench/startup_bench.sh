#!/usr/bin/env bash
# Start-up of `tokenledger serve` on a large data dir: seconds until it
# listens (log opened, snapshot loaded, tail replayed), its peak RSS, and how
# long the first /readyz calls take (the first one waits for the start-up
# digest; later ones answer from it).
#
#   tests/bench/startup_bench.sh DATA_DIR [RUNS]
#
# DATA_DIR must hold `log/` (e.g. a copy of what `replay_bench generate`
# writes) and may hold `snapshots/`. The server may write a snapshot into it
# (the first start without one does), so use a copy, not the original.
# BIN=path/to/tokenledger skips the build (to compare two builds).
set -euo pipefail

here=$(cd "$(dirname "$0")" && pwd)
root=$(cd "$here/../.." && pwd)
build=${BUILD_DIR:-$root/build/bench}
data=${1:?usage: startup_bench.sh DATA_DIR [RUNS]}
runs=${2:-1}
[ -d "$data/log" ] || { echo "$data/log does not exist" >&2; exit 1; }

source "$here/bench_lib.sh"
if [ -z "${BIN:-}" ]; then
  build_release tokenledger
  BIN="$build/services/tokenledger"
fi
out=$(mktemp)
trap 'for p in "${pids[@]}"; do kill "$p" 2>/dev/null || true; done; rm -f "$out" "$out.err"' EXIT

for run in $(seq 1 "$runs"); do
  start=$(date +%s.%N)
  "$BIN" serve --data "$data" --listen 127.0.0.1:0 >"$out" 2>"$out.err" &
  pid=$!
  pids=("$pid")
  # A large data dir takes minutes: wait as long as the process lives.
  until addr=$(grep -o -m1 'listening on http://[0-9.:]*' "$out" 2>/dev/null); do
    kill -0 "$pid" 2>/dev/null || { echo "serve exited:" >&2; cat "$out.err" >&2; exit 1; }
    sleep 0.1
  done
  listening=$(date +%s.%N)
  addr=${addr#listening on http://}
  first=$(curl -s -o /dev/null -w '%{time_total}' "http://$addr/readyz")
  second=$(curl -s -o /dev/null -w '%{time_total}' "http://$addr/readyz")
  rss=$(awk '/VmHWM/ { printf "%d", $2 / 1024 }' "/proc/$pid/status")
  kill -INT "$pid"
  wait "$pid" || true
  awk -v s="$start" -v l="$listening" -v f="$first" -v n="$second" -v r="$rss" -v i="$run" \
    -v load="$(cut -d' ' -f1-3 /proc/loadavg)" 'BEGIN {
      printf "run %d: listening after %.1f s, peak RSS %d MiB; /readyz %.3f s then %.4f s (load average %s)\n",
        i, l - s, r, f, n, load
    }'
done
