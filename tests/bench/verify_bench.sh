#!/usr/bin/env bash
# Benchmark of the hot path (issue 3): POST /v1/verify of a VALID token with
# credits (every call appends a durable token.used event) against a bare
# cpp-httplib handler with the same server settings, in the same run.
#
#   tests/bench/verify_bench.sh            (DURATION=10s CONNECTIONS=16 THREADS=2)
#
# Builds Release in build/bench, runs wrk on loopback only, prints requests/s,
# p99 and the ratio verify/bare. Target: ratio >= 0.80, verify p99 <= 5 ms.
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
  >"$work/serve.out" 2>"$work/serve.out.err" &
pids+=($!)
serve_addr=$(wait_listening "$work/serve.out")

export TOKENLEDGER_ADDR="http://$serve_addr" TOKENLEDGER_TOKEN="$admin"
secret=$("$bin" token create --name bench --credits 1000000000000000 | awk '$1 == "secret:" { print $2 }')
[ -n "$secret" ] || { echo "could not create the bench token" >&2; exit 1; }
export TL_BENCH_BEARER="$admin" TL_BENCH_SECRET="$secret"

"$bare" --listen 127.0.0.1:0 >"$work/bare.out" 2>"$work/bare.out.err" &
pids+=($!)
bare_addr=$(wait_listening "$work/bare.out")

run_wrk() {  # run_wrk ADDR DURATION -> RESULT line
  wrk -t"$threads" -c"$connections" -d"$2" --latency -s "$here/verify.lua" "http://$1/v1/verify" \
    >"$work/wrk.txt"
  grep '^RESULT' "$work/wrk.txt"
}

# Warm up both (page cache, thread pools, the log's first segment).
run_wrk "$serve_addr" 2s >/dev/null
run_wrk "$bare_addr" 2s >/dev/null

# The server's counters that the run is judged by, read before and after it.
counters() {
  local m
  for m in 'tokenledger_verifications_total{code="VALID"}' tokenledger_log_fsyncs_total \
    tokenledger_log_events_appended_total tokenledger_log_fsync_duration_seconds_sum \
    tokenledger_log_fsync_duration_seconds_count; do
    printf '%s ' "$(metric "$serve_addr" "$m")"
  done
}
read -r valid_before fsyncs_before events_before fsync_sum_before fsync_count_before <<<"$(counters)"
verify=$(run_wrk "$serve_addr" "$duration")
cp "$work/wrk.txt" "$work/wrk-verify.txt"
read -r valid_after fsyncs_after events_after fsync_sum_after fsync_count_after <<<"$(counters)"
bare_result=$(run_wrk "$bare_addr" "$duration")

field() { echo "$1" | tr ' ' '\n' | awk -F= -v k="$2" '$1 == k { print $2 }'; }
v_rps=$(field "$verify" rps); v_p99=$(field "$verify" p99_ms); v_n=$(field "$verify" requests)
b_rps=$(field "$bare_result" rps); b_p99=$(field "$bare_result" p99_ms)
secs=${duration%s}

echo "wrk -t$threads -c$connections -d$duration --latency, loopback, $(nproc) cores," \
  "load average $(cut -d' ' -f1-3 /proc/loadavg), data in $work"
printf 'verify (durable):  %10.1f req/s  p50 %s ms  p99 %s ms  errors %s non-2xx %s\n' \
  "$v_rps" "$(field "$verify" p50_ms)" "$v_p99" "$(field "$verify" errors)" "$(field "$verify" non2xx)"
printf 'bare handler:      %10.1f req/s  p50 %s ms  p99 %s ms  errors %s non-2xx %s\n' \
  "$b_rps" "$(field "$bare_result" p50_ms)" "$b_p99" "$(field "$bare_result" errors)" \
  "$(field "$bare_result" non2xx)"
awk -v v="$v_rps" -v b="$b_rps" 'BEGIN { printf "ratio verify/bare: %.2f (target >= 0.80)\n", v / b }'
echo "VALID answers counted by the server: $((valid_after - valid_before)) of $v_n requests"
# The durable-wait bound: a connection has one request in flight, so one
# flush round serves at most $connections events. Rounds/s x connections is
# what the measured rounds would carry if every connection made every round;
# connections / mean fdatasync is the ceiling with free CPU.
awk -v f="$((fsyncs_after - fsyncs_before))" -v e="$((events_after - events_before))" -v s="$secs" \
  -v fs="$fsync_sum_before" -v fs1="$fsync_sum_after" -v fc="$fsync_count_before" \
  -v fc1="$fsync_count_after" -v c="$connections" -v b="$b_rps" 'BEGIN {
    printf "log: %.0f fsyncs/s, %.1f events per fsync (at most %d)\n", f / s, (f > 0 ? e / f : 0), c
    if (fc1 > fc && f > 0) {
      m = (fs1 - fs) / (fc1 - fc)
      printf "fdatasync during the run: mean %.3f ms over %d; a flush round %.3f ms\n", m * 1000, fc1 - fc, s * 1000 / f
      printf "bound: %d per round x %.0f rounds/s = %.0f req/s (%.2f of bare); %d / mean fdatasync = %.0f req/s (%.2f of bare)\n", c, f / s, c * f / s, c * f / s / b, c, c / m, c / m / b
    }
  }'
