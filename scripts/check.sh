#!/bin/bash
# check.sh - runs test suites and adds up their tallies (make check, and the
# targets that run a few suites: check-c, check-sanitizers, ...).
#
#   scripts/check.sh SUITE...
#
# Each SUITE runs as `make check-SUITE` (the Makefile's tests section), its
# output shown as it comes. A suite prints one or more lines
# "<suite>: N passed, M failed"; the last such line is its tally. A suite that
# ends without one, or fails with no failed test in it, counts as one failure.
# The suite "build" (make check-build) comes first in make check: when it
# fails, nothing else runs. The last line of the output is the total,
# "<N> passed, <M> failed", and the exit status is non-zero when anything
# failed.
set -u
top=$(cd "$(dirname "$0")/.." && pwd)
cd "$top"
if [ $# -eq 0 ]; then
    echo "usage: scripts/check.sh SUITE... (each runs as make check-SUITE)" >&2
    exit 2
fi
logs=$(mktemp -d)
trap 'rm -rf "$logs"' EXIT
total_passed=0
total_failed=0

# run_suite NAME: make check-NAME, shown and tallied; 1 when it failed.
run_suite() {
    local name=$1
    echo "== $name"
    make --no-print-directory "check-$name" 2>&1 | tee "$logs/$name.log"
    local status=${PIPESTATUS[0]}
    local line
    line=$(grep -E '^[A-Za-z0-9_-]+: [0-9]+ passed, [0-9]+ failed' "$logs/$name.log" | tail -n 1)
    if [ -z "$line" ]; then
        echo "$name: no tally (exit status $status): counted as 1 failed"
        total_failed=$((total_failed + 1))
        return 1
    fi
    local passed failed
    passed=$(echo "$line" | sed -E 's/.*: ([0-9]+) passed.*/\1/')
    failed=$(echo "$line" | sed -E 's/.* ([0-9]+) failed.*/\1/')
    if [ "$status" -ne 0 ] && [ "$failed" -eq 0 ]; then
        echo "$name: exit status $status with no failed test: counted as 1 failed"
        failed=1
    fi
    total_passed=$((total_passed + passed))
    total_failed=$((total_failed + failed))
    [ "$failed" -eq 0 ]
}

for suite in "$@"; do
    if ! run_suite "$suite" && [ "$suite" = build ]; then
        echo "build: the library does not build; no suite was run"
        break
    fi
done

echo "$total_passed passed, $total_failed failed"
[ "$total_failed" -eq 0 ]
