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
  "${sudo[@]}" apt-get update -q
  DEBIAN_FRONTEND=noninteractive "${sudo[@]}" apt-get install -y -q --no-install-recommends "${missing[@]}"
}

# What building and testing the C++ code needs.
TL_BUILD_PACKAGES=(ca-certificates cmake make g++ pkg-config git
  libcpp-httplib-dev librdkafka-dev nlohmann-json3-dev libssl-dev libgtest-dev libgmock-dev)
