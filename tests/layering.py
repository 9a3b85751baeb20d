#!/usr/bin/env python3
"""Fails when a source file includes a layer above its own.

The layers, lowest first (a file may include its own layer and any below it):
  events -> projections -> services/domain -> services/core -> services/http -> services/cli
services/console (the web console's assets) sits beside services/core: only
services/http and services/cli may include it. The domain layer is pure: no
file of it (tests aside) includes a header that does I/O or threads.

Usage: layering.py SOURCE_DIR
"""
import pathlib
import re
import sys

RANK = {
    "events": 0,
    "projections": 1,
    "services/domain": 2,
    "services/core": 3,
    "services/console": 3,
    "services/http": 4,
    "services/cli": 5,
}
INCLUDE = re.compile(r'^\s*#\s*include\s*([<"])([^>"]+)[>"]', re.M)
# Headers that mean I/O, threads or the network: not in the pure domain layer.
IMPURE = re.compile(
    r'^(fstream|iostream|thread|mutex|shared_mutex|condition_variable|future|filesystem'
    r'|unistd\.h|fcntl\.h|sys/.*|netinet/.*|httplib\.h|librdkafka/.*'
    r'|events/(log|log_scan|segment_reader|file_util|dir_lock|kafka_.*|json_log)\.h)$')


def layer_of(rel):
    """The layer a path (relative to the source dir) belongs to, or None."""
    best = None
    for name in RANK:
        if rel == name or rel.startswith(name + "/"):
            if best is None or len(name) > len(best):
                best = name
    return best


def main():
    root = pathlib.Path(sys.argv[1]).resolve()
    problems = []
    checked = 0
    for path in sorted(root.rglob("*")):
        if path.suffix not in (".h", ".cc") or "build" in path.relative_to(root).parts:
            continue
        rel = path.relative_to(root).as_posix()
        own = layer_of(rel)
        if own is None:
            continue
        checked += 1
        is_test = path.stem.endswith("_test") or path.stem.endswith("_test_util")
        for bracket, target in INCLUDE.findall(path.read_text(errors="replace")):
            if bracket == '"':
                other = layer_of(target)
                if other is None or other == own:
                    continue
                if RANK[other] >= RANK[own]:
                    problems.append(f"{rel}: includes {target} ({other} is not below {own})")
            if own == "services/domain" and not is_test:
                if IMPURE.match(target):
                    problems.append(f"{rel}: includes {target} (the domain layer does no I/O)")
    if checked == 0:
        problems.append(f"no source file found under {root}")
    for p in problems:
        print(p)
    print(f"{checked} files checked, {len(problems)} problems")
    return 1 if problems else 0


if __name__ == "__main__":
    sys.exit(main())
