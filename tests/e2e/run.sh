#!/usr/bin/env bash
# Browser tests of the web console against a real `tokenledger serve` with a
# fresh data directory on a free loopback port, in Debian's headless Chromium.
#
#   TOKENLEDGER_BIN=build/x/services/tokenledger tests/e2e/run.sh
#
# Env: TOKENLEDGER_BIN (default: the newest build/*/services/tokenledger),
#      E2E_OUT (screenshots and server log; default build/e2e),
#      E2E_SERVER=mock to run against tests/e2e/dev/mock-server.mjs instead
#      (console development only; the real test is against the binary).
# Needs: chromium, nodejs, npm (Debian); playwright-core comes from the npm
# registry through package-lock.json (npm ci), no browser is downloaded.
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
repo=$(cd "$here/../.." && pwd)

[[ -x ${CHROMIUM_BIN:-/usr/bin/chromium} ]] || { echo "e2e: /usr/bin/chromium is missing (apt-get install chromium)" >&2; exit 1; }
command -v node >/dev/null || { echo "e2e: node is missing (apt-get install nodejs npm)" >&2; exit 1; }

if ! (cd "$here" && node -e "require.resolve('playwright-core')" 2>/dev/null) \
    || [[ $here/package-lock.json -nt $here/node_modules/.package-lock.json ]]; then
  (cd "$here" && npm ci --no-audit --no-fund --loglevel=error)
fi

out=${E2E_OUT:-$repo/build/e2e}
mkdir -p "$out"
out=$(cd "$out" && pwd)

port=$(node -e "const s=require('net').createServer().listen(0,'127.0.0.1',()=>{console.log(s.address().port);s.close()})")
admin="tl_e2e_$(node -e "console.log(require('crypto').randomBytes(30).toString('hex'))")"
data=$(mktemp -d "${TMPDIR:-/tmp}/tl-e2e-data.XXXXXX")

if [[ ${E2E_SERVER:-} == mock ]]; then
  TOKENLEDGER_BOOTSTRAP_TOKEN=$admin node "$here/dev/mock-server.mjs" "$port" >"$out/server.log" 2>&1 &
else
  bin=${TOKENLEDGER_BIN:-$(ls -t "$repo"/build/*/services/tokenledger 2>/dev/null | head -n1 || true)}
  [[ -n $bin && -x $bin ]] || { echo "e2e: no tokenledger binary (set TOKENLEDGER_BIN)" >&2; exit 1; }
  echo "e2e: $bin serve on 127.0.0.1:$port"
  TOKENLEDGER_BOOTSTRAP_TOKEN=$admin "$bin" serve --data "$data" --listen "127.0.0.1:$port" >"$out/server.log" 2>&1 &
fi
server=$!
cleanup() {
  kill "$server" 2>/dev/null || true
  wait "$server" 2>/dev/null || true
  rm -rf "$data"
}
trap cleanup EXIT

# Wait up to 30 s for /healthz; stop early if the server died.
for _ in $(seq 300); do
  kill -0 "$server" 2>/dev/null || { echo "e2e: the server exited; its log:" >&2; cat "$out/server.log" >&2; exit 1; }
  if node -e "fetch('http://127.0.0.1:$port/healthz').then(r=>process.exit(r.ok?0:1),()=>process.exit(1))"; then
    break
  fi
  sleep 0.1
done

cd "$here"
E2E_BASE_URL="http://127.0.0.1:$port" E2E_ADMIN_TOKEN=$admin E2E_OUT=$out \
  node --test --test-reporter=spec console.spec.mjs
