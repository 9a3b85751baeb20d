#!/usr/bin/env bash
# Installs the Debian 12 packages named in "$@" that are missing (as root;
# apt-get update first). Sourced by ops/run and ops/test; safe to repeat.
tl_install_packages() {
  local missing=()
  for pkg in "$@"; do
    dpkg-query -W -f='${Status}' "$pkg" 2>/dev/null | grep -q 'install ok installed' || missing+=("$pkg")
  done
  ((${#missing[@]} == 0)) && return 0
  echo "ops: installing ${missing[*]}" >&2
  local sudo=()
  ((EUID == 0)) || sudo=(sudo)
  local log
  log=$(mktemp "${TMPDIR:-/tmp}/tokenledger-apt.XXXXXX")
  if ! { "${sudo[@]}" apt-get update -q && DEBIAN_FRONTEND=noninteractive "${sudo[@]}" \
           apt-get install -y -q --no-install-recommends "${missing[@]}"; } >"$log" 2>&1; then
    cat "$log" >&2
    echo "ops: apt-get failed (log above)" >&2
    return 1
  fi
  rm -f "$log"
}

# Node.js for the browser tests. Debian 12's nodejs (18) needs its npm
# package; a Node.js that bundles npm (20+) must not get it.
tl_install_node() {
  tl_install_packages nodejs
  command -v npm >/dev/null || tl_install_packages npm
}

# Installs DIR/node_modules from DIR/package-lock.json (npm ci, the locked
# versions only) when it is missing or older than the lock file.
tl_npm_ci() {
  local dir=$1
  if [[ -f $dir/node_modules/.package-lock.json &&
        ! $dir/package-lock.json -nt $dir/node_modules/.package-lock.json ]]; then
    return 0
  fi
  echo "ops: npm ci in $dir" >&2
  (cd "$dir" && npm ci --no-audit --no-fund --loglevel=error)
}

# What building and testing the C++ code needs (python3-jsonschema and
# python3-yaml: the schema tests in schemas/).
TL_BUILD_PACKAGES=(ca-certificates cmake make g++ pkg-config git
  libcpp-httplib-dev libcli11-dev librdkafka-dev nlohmann-json3-dev libssl-dev
  libgtest-dev libgmock-dev prometheus python3 python3-jsonschema python3-yaml)

# What the browser tests of the web console need besides Node.js.
TL_BROWSER_PACKAGES=(chromium fonts-dejavu-core)

# What ops/fuzz (and the fuzz stage of ops/test) needs: clang with libFuzzer
# and the sanitizer runtimes, and Boost.Beast as the reference HTTP parser.
TL_FUZZ_PACKAGES=(clang-14 libclang-rt-14-dev libboost1.81-dev)
