# Shared by the HTTP benchmark scripts (source it; needs $root and $build).
# Builds Release, starts servers on free loopback ports and reads /metrics.

# build_release TARGET...: a Release build of the targets in $build.
build_release() {
  cmake -S "$root" -B "$build" -DCMAKE_BUILD_TYPE=Release -DBUILD_TESTING=OFF >/dev/null
  if ! cmake --build "$build" -j"$(nproc)" --target "$@" >"$build/bench-build.log" 2>&1; then
    grep -E 'error' "$build/bench-build.log" >&2 || tail -20 "$build/bench-build.log" >&2
    return 1
  fi
}

# bench_workdir PREFIX: a fresh directory under ${DATA_PARENT:-$build}, removed
# (with every process in $pids) when the script exits.
pids=()
bench_workdir() {
  work=$(mktemp -d "${DATA_PARENT:-$build}/$1.XXXXXX")
  trap 'for p in "${pids[@]}"; do kill "$p" 2>/dev/null || true; done; wait 2>/dev/null || true; rm -rf "$work"' EXIT
}

# wait_for FILE REGEX: prints the first match once it appears in FILE.
wait_for() {
  for _ in $(seq 1 200); do
    if m=$(grep -o -m1 "$2" "$1" 2>/dev/null); then
      echo "$m"
      return 0
    fi
    sleep 0.05
  done
  echo "did not start ($1):" >&2
  cat "$1" "$1.err" >&2 || true
  return 1
}

metric() {  # metric ADDR NAME_WITH_LABELS
  curl -s "http://$1/metrics" | awk -v m="$2" '$1 == m { print $2 }'
}

# wait_listening FILE: HOST:PORT from the "listening on http://HOST:PORT" line.
wait_listening() {
  local line
  line=$(wait_for "$1" 'listening on http://[0-9.:]*') || return 1
  echo "${line#listening on http://}"
}

# wait_idle PID...: returns once those processes used no CPU for 0.3 s (or
# after 15 s). A server keeps working after a measurement ends (the snapshot
# follower re-reads the events it appended, a snapshot may be written): that
# work must not land in the next measurement, of another server or its own.
wait_idle() {
  local deadline=$((SECONDS + 15)) before after
  while ((SECONDS < deadline)); do
    before=$(cpu_ticks "$@")
    sleep 0.3
    after=$(cpu_ticks "$@")
    ((after - before <= 1)) && return 0
  done
  echo "warning: still busy after 15 s: $*" >&2
}

cpu_ticks() {  # cpu_ticks PID...: their user + system CPU so far, in clock ticks
  local total=0 p
  for p; do total=$((total + $(awk '{ print $14 + $15 }' "/proc/$p/stat"))); done
  echo "$total"
}
