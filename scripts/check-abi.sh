#!/bin/bash
# check-abi.sh LIBRARY VERSION_SCRIPT BASELINE [HEADERS_DIR]
# Fails when the library's exported symbols differ from the version script's
# global names, or when abidiff finds any change against the baseline.
# abidiff (abigail-tools 2.2) exits 4 for an added function and for a real
# break alike, so added symbols are filtered (--no-added-syms) and any
# non-zero status fails.
set -eu
lib=$1
map=$2
baseline=$3
headers=${4:-include}

exported=$(nm -D --defined-only "$lib" | awk '$2 == "T" || $2 == "D" || $2 == "B" {print $3}' \
    | sed 's/@.*//' | sort -u)
declared=$(sed -n '/global:/,/local:/p' "$map" | grep -o 'rlcc_[A-Za-z0-9_]*' | sort -u)
if [ "$exported" != "$declared" ]; then
    echo "check-abi: exported symbols differ from $map:" >&2
    diff <(echo "$declared") <(echo "$exported") >&2 2>/dev/null || {
        echo "  declared: $declared" >&2
        echo "  exported: $exported" >&2
    }
    exit 1
fi

status=0
abidiff --no-added-syms --fail-no-debug-info --headers-dir2 "$headers" \
    "$baseline" "$lib" >/tmp/rlcc-abidiff.$$ 2>&1 || status=$?
if [ "$status" -ne 0 ]; then
    echo "check-abi: abidiff found an ABI change against $baseline (status $status):" >&2
    cat /tmp/rlcc-abidiff.$$ >&2
    rm -f /tmp/rlcc-abidiff.$$
    exit 1
fi
rm -f /tmp/rlcc-abidiff.$$
echo "check-abi: $(echo "$exported" | wc -l) symbols match $map; no ABI change against $baseline"
