#!/usr/bin/env bash
# Lints schemas/openapi.yaml, and the event schemas it refers to, with Redocly
# CLI (the version locked in package-lock.json) and the rules of
# schemas/redocly.yaml; exits non-zero on any problem it reports.
# ./ops/test installs the CLI first (npm ci); run alone, this installs it when
# node_modules is missing or older than package-lock.json.
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
repo=$(cd "$here/../.." && pwd)
source "$repo/ops/deps.sh"

command -v node >/dev/null || {
  echo "openapi lint: node is missing: ./ops/test installs it (ops/deps.sh tl_install_node)" >&2
  exit 1
}
# Redocly CLI 1.34 runs on Node.js 18.17+ (Debian 12 ships 18.19).
node -e 'const [a, b] = process.versions.node.split(".").map(Number);
         process.exit(a > 18 || (a === 18 && b >= 17) ? 0 : 1)' || {
  echo "openapi lint: Redocly CLI needs Node.js 18.17+, this is $(node --version)" >&2
  exit 1
}
tl_npm_ci "$here"

cd "$repo/schemas"
REDOCLY_TELEMETRY=off REDOCLY_SUPPRESS_UPDATE_NOTICE=true \
  "$here/node_modules/.bin/redocly" lint --config redocly.yaml --format stylish openapi.yaml
