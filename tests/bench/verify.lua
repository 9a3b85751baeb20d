-- wrk script for POST /v1/verify. The secrets come from the environment so
-- they never appear in a process list:
--   TL_BENCH_BEARER  the management token (ledger:verify) sent as Bearer
--   TL_BENCH_SECRET  the token being verified
wrk.method = "POST"
wrk.headers["Content-Type"] = "application/json"
wrk.headers["Authorization"] = "Bearer " .. (os.getenv("TL_BENCH_BEARER") or "")
wrk.body = '{"token":"' .. (os.getenv("TL_BENCH_SECRET") or "") .. '","cost":1}'

-- One machine-readable line for verify_bench.sh.
function done(summary, latency, requests)
  local seconds = summary.duration / 1e6
  local e = summary.errors
  io.write(string.format("RESULT requests=%d rps=%.1f p50_ms=%.3f p99_ms=%.3f max_ms=%.3f " ..
                         "errors=%d non2xx=%d\n",
                         summary.requests, summary.requests / seconds,
                         latency:percentile(50) / 1000, latency:percentile(99) / 1000,
                         latency.max / 1000, e.connect + e.read + e.write + e.timeout, e.status))
end
