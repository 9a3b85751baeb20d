#!/usr/bin/env bash
# A/B of the data plane: one `serve` per variant (own data dir, own token)
# and the bare handler, measured round after round in alternation, so that a
# noisy machine moves every variant alike. Prints req/s, its ratio to the
# bare handler of the same round, and wrk's p99.
#
#   VARIANTS="--verify-gather-us 300;--verify-gather-us 0" ROUNDS=5 D=5s \
#     tests/bench/verify_ab.sh
#
# A variant is serve flags, optionally led by bin=PATH (another build of
# tokenledger, e.g. of the previous commit): VARIANTS="bin=/tmp/old/tokenledger;
# --verify-gather-us 300" compares it with this build at the default setting.
set -euo pipefail

here=$(cd "$(dirname "$0")" && pwd)
root=$(cd "$here/../.." && pwd)
build=${BUILD_DIR:-$root/build/bench}
source "$here/bench_lib.sh"
build_release tokenledger bare_http_server
bare="$build/tests/bare_http_server"
bench_workdir verify-ab

IFS=';' read -ra variants <<<"${VARIANTS:---verify-gather-us 300;--verify-gather-us 0}"
addrs=() secrets=() bearers=()
for i in "${!variants[@]}"; do
  flags=${variants[$i]} bin="$build/services/tokenledger"
  if [[ $flags == bin=* ]]; then
    bin=${flags%% *} bin=${bin#bin=}
    [[ $flags == *" "* ]] && flags=${flags#* } || flags=""
  fi
  admin="bench-admin-$(head -c 24 /dev/urandom | od -An -tx1 | tr -d ' \n')"
  # shellcheck disable=SC2086 # flags are words
  TOKENLEDGER_BOOTSTRAP_TOKEN="$admin" "$bin" serve --data "$work/data$i" --listen 127.0.0.1:0 \
    --verify-listen 127.0.0.1:0 $flags >"$work/serve$i.out" 2>"$work/serve$i.out.err" &
  pids+=($!)
  serve_addr=$(wait_listening "$work/serve$i.out")
  plane=$(wait_for "$work/serve$i.out" 'verify listener (POST /v1/verify) on http://[0-9.:]*')
  secret=$(TOKENLEDGER_ADDR="http://$serve_addr" TOKENLEDGER_TOKEN="$admin" \
    "$bin" token create --name bench --credits 1000000000000000 | awk '$1 == "secret:" { print $2 }')
  [ -n "$secret" ] || { echo "could not create the bench token of variant $i" >&2; exit 1; }
  addrs+=("${plane##*http://}") secrets+=("$secret") bearers+=("$admin")
done
"$bare" --listen 127.0.0.1:0 >"$work/bare.out" 2>"$work/bare.out.err" &
pids+=($!)
bare_addr=$(wait_listening "$work/bare.out")

# run ADDR BEARER SECRET DURATION -> "rps p99_ms" (once every server is idle)
run() {
  wait_idle "${pids[@]}"
  TL_BENCH_BEARER="$2" TL_BENCH_SECRET="$3" wrk -t2 -c16 -d"$4" --latency -s "$here/verify.lua" \
    "http://$1/v1/verify" | sed -n 's/^RESULT.* rps=\([0-9.]*\) .*p99_ms=\([0-9.]*\) .*/\1 \2/p'
}
for i in "${!variants[@]}"; do run "${addrs[$i]}" "${bearers[$i]}" "${secrets[$i]}" 2s >/dev/null; done
run "$bare_addr" - - 2s >/dev/null

duration=${D:-5s}
echo "wrk -t2 -c16 -d$duration, $(nproc) cores, load average $(cut -d' ' -f1-3 /proc/loadavg)"
for round in $(seq 1 "${ROUNDS:-4}"); do
  read -r bare_rps bare_p99 <<<"$(run "$bare_addr" - - "$duration")"
  line="round $round: bare $bare_rps req/s (p99 $bare_p99 ms)"
  for i in "${!variants[@]}"; do
    read -r rps p99 <<<"$(run "${addrs[$i]}" "${bearers[$i]}" "${secrets[$i]}" "$duration")"
    line+=$(awk -v v="${variants[$i]}" -v r="$rps" -v b="$bare_rps" -v p="$p99" \
      'BEGIN { printf " | [%s] %.0f req/s, %.2f of bare, p99 %s ms", v, r, r / b, p }')
  done
  echo "$line"
done
