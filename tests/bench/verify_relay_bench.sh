#!/usr/bin/env bash
# The verify benchmark (POST /v1/verify of a valid token: every call appends a
# durable token.used event) with the Kafka relay off and on, in one run.
# The relay streams to a `tokenledger dev-kafka` mock cluster
# (3 brokers, in memory, loopback). Same wrk load and script as
# verify_bench.sh; the two servers take turns, ROUNDS times each, and the
# best round of each is compared.
#
#   tests/bench/verify_relay_bench.sh   (DURATION=10s CONNECTIONS=16 THREADS=2 ROUNDS=2)
#
# Prints requests/s and p99 per round, the ratio relay-on/relay-off
# (target >= 0.90), and checks that the relay acknowledged every event.
set -euo pipefail

here=$(cd "$(dirname "$0")" && pwd)
root=$(cd "$here/../.." && pwd)
build=${BUILD_DIR:-$root/build/bench}
duration=${DURATION:-10s}
connections=${CONNECTIONS:-16}
threads=${THREADS:-2}
rounds=${ROUNDS:-2}

command -v wrk >/dev/null || { echo "wrk is required (apt-get install wrk)" >&2; exit 1; }

source "$here/bench_lib.sh"
build_release tokenledger
bin="$build/services/tokenledger"

# Data dirs on the build disk (not tmpfs): fsync costs what it costs.
DATA_PARENT=$build bench_workdir verify-relay-bench

"$bin" dev-kafka --brokers 3 >"$work/kafka.out" 2>"$work/kafka.out.err" &
pids+=($!)
brokers=$(wait_for "$work/kafka.out" 'bootstrap: .*')
brokers=${brokers#bootstrap: }

admin="bench-admin-$(head -c 24 /dev/urandom | od -An -tx1 | tr -d ' \n')"
# start NAME [serve flags...]: starts a server, creates its bench token,
# sets ${NAME}_addr and ${NAME}_secret.
start() {
  local name=$1
  shift
  TOKENLEDGER_BOOTSTRAP_TOKEN="$admin" "$bin" serve --data "$work/$name" --listen 127.0.0.1:0 "$@" \
    >"$work/$name.out" 2>"$work/$name.out.err" &
  pids+=($!)
  local addr
  addr=$(wait_listening "$work/$name.out")
  local secret
  secret=$(TOKENLEDGER_ADDR="http://$addr" TOKENLEDGER_TOKEN="$admin" \
    "$bin" token create --name bench --credits 1000000000000000 | awk '$1 == "secret:" { print $2 }')
  [ -n "$secret" ] || { echo "could not create the bench token on $name" >&2; exit 1; }
  printf -v "${name}_addr" '%s' "$addr"
  printf -v "${name}_secret" '%s' "$secret"
}
start off
start on --kafka-brokers "$brokers"

run_wrk() {  # run_wrk NAME DURATION -> RESULT line
  local addr_var="${1}_addr" secret_var="${1}_secret"
  TL_BENCH_BEARER="$admin" TL_BENCH_SECRET="${!secret_var}" \
    wrk -t"$threads" -c"$connections" -d"$2" --latency -s "$here/verify.lua" \
    "http://${!addr_var}/v1/verify" >"$work/wrk.txt"
  grep '^RESULT' "$work/wrk.txt"
}
field() { echo "$1" | tr ' ' '\n' | awk -F= -v k="$2" '$1 == k { print $2 }'; }

# Warm up both (page cache, thread pools, first segment, producer connections).
run_wrk off 2s >/dev/null
run_wrk on 2s >/dev/null

echo "wrk -t$threads -c$connections -d$duration --latency, loopback, $(nproc) cores; relay to dev-kafka (3 brokers)"
best_off=0
best_on=0
for r in $(seq 1 "$rounds"); do
  for name in off on; do
    res=$(run_wrk "$name" "$duration")
    rps=$(field "$res" rps)
    printf 'round %d relay %-3s %10.1f req/s  p50 %s ms  p99 %s ms  errors %s non-2xx %s\n' "$r" "$name" \
      "$rps" "$(field "$res" p50_ms)" "$(field "$res" p99_ms)" "$(field "$res" errors)" \
      "$(field "$res" non2xx)"
    if [ "$name" = off ]; then
      best_off=$(awk -v a="$best_off" -v b="$rps" 'BEGIN { print (b > a ? b : a) }')
    else
      best_on=$(awk -v a="$best_on" -v b="$rps" 'BEGIN { print (b > a ? b : a) }')
    fi
  done
done
awk -v on="$best_on" -v off="$best_off" \
  'BEGIN { printf "best: relay off %.1f req/s, relay on %.1f req/s, ratio on/off %.2f (target >= 0.90)\n", off, on, on / off }'

# The relay kept up: every event of the relay-on server reached Kafka.
for _ in $(seq 1 100); do
  [ "$(metric "$on_addr" tokenledger_relay_lag_positions)" = 0 ] && break
  sleep 0.1
done
echo "relay: acked position $(metric "$on_addr" tokenledger_relay_acked_position) of log position" \
  "$(metric "$on_addr" tokenledger_log_last_position), errors $(metric "$on_addr" tokenledger_relay_errors_total)," \
  "degraded $(metric "$on_addr" tokenledger_relay_degraded)"
