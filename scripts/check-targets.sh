#!/bin/bash
# check-targets.sh SUITE TARGET... - each make TARGET is one check: it passes
# when make builds it (make check-header: the header compiled alone by each
# compiler and language mode). Prints "SUITE: N passed, M failed" last.
source "$(dirname "$0")/check-lib.sh"
suite=$1
shift
log=$(mktemp)
trap 'rm -f "$log"' EXIT
for target in "$@"; do
    make --no-print-directory "$target" >"$log" 2>&1
    status=$?
    # the first two words of the command make ran: the compiler and the mode
    record "$target ($(grep -v '^mkdir ' "$log" | head -n 1 | awk '{print $1, $2}'))" $(( status == 0 )) "$log"
done
tally "$suite"
