#!/usr/bin/env bash
# Benchmark of the hot path: POST /v1/verify of a VALID token with
# credits (every call appends a durable token.used event) against a bare
# cpp-httplib handler with the same server settings, in the same run. The
# verify is measured on both listeners of one `serve`, both on the event loop
# of services/http/http_server.h: the main one (every route) and the verify-only
# data plane (--verify-listen).
#
#   tests/bench/verify_bench.sh            (DURATION=10s CONNECTIONS=16 THREADS=2)
#
# Builds Release in build/bench, runs wrk on loopback only, prints requests/s,
# p99 and the ratios verify/bare. Target: ratio >= 0.80, verify p99 <= 5 ms.
# The three runs go in the order data plane, main, bare; ROUNDS=N repeats them.
# SERVE_ARGS adds flags to `serve` (e.g. SERVE_ARGS="--verify-gather-us 0").
set -euo pipefail

here=$(cd "$(dirname "$0")" && pwd)
root=$(cd "$here/../.." && pwd)
build=${BUILD_DIR:-$root/build/bench}
duration=${DURATION:-10s}
connections=${CONNECTIONS:-16}
threads=${THREADS:-2}

if ! command -v wrk >/dev/null; then
  echo "installing wrk" >&2
  if [ "$(id -u)" = 0 ]; then apt-get install -y wrk >&2; else sudo apt-get install -y wrk >&2; fi
fi

source "$here/bench_lib.sh"
build_release tokenledger bare_http_server
bin="$build/services/tokenledger"
bare="$build/tests/bare_http_server"

# The data dir is on the build disk (not tmpfs), so fsync costs what it costs.
# DATA_PARENT=/dev/shm measures the same without the disk (fsync is free).
bench_workdir verify-bench

admin="bench-admin-$(head -c 24 /dev/urandom | od -An -tx1 | tr -d ' \n')"
TOKENLEDGER_BOOTSTRAP_TOKEN="$admin" "$bin" serve --data "$work/data" --listen 127.0.0.1:0 \
  --verify-listen 127.0.0.1:0 ${SERVE_ARGS:-} >"$work/serve.out" 2>"$work/serve.out.err" &
pids+=($!)
serve_addr=$(wait_listening "$work/serve.out")
plane_line=$(wait_for "$work/serve.out" 'verify listener (POST /v1/verify) on http://[0-9.:]*')
plane_addr=${plane_line##*http://}

export TOKENLEDGER_ADDR="http://$serve_addr" TOKENLEDGER_TOKEN="$admin"
secret=$("$bin" token create --name bench --credits 1000000000000000 | awk '$1 == "secret:" { print $2 }')
[ -n "$secret" ] || { echo "could not create the bench token" >&2; exit 1; }
export TL_BENCH_BEARER="$admin" TL_BENCH_SECRET="$secret"

"$bare" --listen 127.0.0.1:0 >"$work/bare.out" 2>"$work/bare.out.err" &
pids+=($!)
bare_addr=$(wait_listening "$work/bare.out")

run_wrk() {  # run_wrk ADDR DURATION -> RESULT line (once every server is idle)
  wait_idle "${pids[@]}"
  wrk -t"$threads" -c"$connections" -d"$2" --latency -s "$here/verify.lua" "http://$1/v1/verify" \
    >"$work/wrk.txt"
  grep '^RESULT' "$work/wrk.txt"
}

# Warm up (page cache, thread pools, the log's first segment).
run_wrk "$plane_addr" 2s >/dev/null
run_wrk "$serve_addr" 2s >/dev/null
run_wrk "$bare_addr" 2s >/dev/null

# The server's counters that a run is judged by, read before and after it.
counters() {
  local m
  for m in 'tokenledger_verifications_total{code="VALID"}' tokenledger_log_fsyncs_total \
    tokenledger_log_events_appended_total tokenledger_log_fsync_duration_seconds_sum \
    tokenledger_log_fsync_duration_seconds_count; do
    printf '%s ' "$(metric "$serve_addr" "$m")"
  done
}
field() { echo "$1" | tr ' ' '\n' | awk -F= -v k="$2" '$1 == k { print $2 }'; }
secs=${duration%s}

# measure_verify NAME ADDR: one wrk run of verify on ADDR, its figures and the log's.
measure_verify() {
  local before after result
  before=$(counters)
  result=$(run_wrk "$2" "$duration")
  after=$(counters)
  read -r vb fb eb fsb fcb <<<"$before"
  read -r va fa ea fsa fca <<<"$after"
  printf '%-28s %10.1f req/s  p50 %s ms  p99 %s ms  errors %s non-2xx %s  VALID counted %s of %s\n' \
    "$1" "$(field "$result" rps)" "$(field "$result" p50_ms)" "$(field "$result" p99_ms)" \
    "$(field "$result" errors)" "$(field "$result" non2xx)" "$((va - vb))" "$(field "$result" requests)"
  awk -v f="$((fa - fb))" -v e="$((ea - eb))" -v s="$secs" -v fs="$fsb" -v fs1="$fsa" -v fc="$fcb" \
    -v fc1="$fca" 'BEGIN {
      m = (fc1 > fc) ? (fs1 - fs) / (fc1 - fc) : 0
      printf "%-28s %.0f fsyncs/s, %.1f events per fsync, mean fdatasync %.3f ms\n", "", f / s, (f > 0 ? e / f : 0), m * 1000
    }'
  last_rps=$(field "$result" rps)
}

echo "wrk -t$threads -c$connections -d$duration --latency, loopback, $(nproc) cores," \
  "load average $(cut -d' ' -f1-3 /proc/loadavg), data in $work"
for round in $(seq 1 "${ROUNDS:-1}"); do
  measure_verify "verify, data plane (durable)" "$plane_addr"
  plane_rps=$last_rps
  measure_verify "verify, main port (durable)" "$serve_addr"
  main_rps=$last_rps
  bare_result=$(run_wrk "$bare_addr" "$duration")
  printf '%-28s %10.1f req/s  p50 %s ms  p99 %s ms  errors %s non-2xx %s\n' "bare handler" \
    "$(field "$bare_result" rps)" "$(field "$bare_result" p50_ms)" "$(field "$bare_result" p99_ms)" \
    "$(field "$bare_result" errors)" "$(field "$bare_result" non2xx)"
  awk -v p="$plane_rps" -v m="$main_rps" -v b="$(field "$bare_result" rps)" -v r="$round" 'BEGIN {
    printf "round %d: ratio data plane/bare %.2f, main port/bare %.2f (target >= 0.80)\n", r, p / b, m / b
  }'
done
