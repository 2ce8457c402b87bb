#!/bin/bash
# test-abi.sh - the ABI check (scripts/check-abi.sh, make check-abi) fails on
# scratch builds that break the ABI, each built by `make abi-scratch-lib` the
# way lib/librlcc.so.1 is; it must pass on the real library first, which
# make check-abi counts. Prints "abi-breaks: N passed, M failed" (make
# check-abi-breaks).
set -u
top=$(cd "$(dirname "$0")/.." && pwd)
cd "$top"
passed=0
failed=0
scratch=$(mktemp -d)
trap 'rm -rf "$scratch"' EXIT

result() { # result NAME OK
    if [ "$2" = 1 ]; then passed=$((passed + 1)); echo "  ok   $1"
    else failed=$((failed + 1)); echo "  FAIL $1"; fi
}

# Builds the library from a copy of include/ and src/ after applying a sed
# expression to each of FILES (space-separated); prints the built library's
# directory.
scratch_build() { # NAME FILES SED_EXPR
    dir="$scratch/$(echo "$1" | tr -c 'A-Za-z0-9.\n' '_')" # make takes no spaces in a path
    mkdir -p "$dir"
    cp -r include src "$dir/"
    for file in $2; do
        sed -i "$3" "$dir/$file"
        if cmp -s "$file" "$dir/$file"; then echo "scratch edit did not apply: $1" >&2; return 1; fi
    done
    make --no-print-directory abi-scratch-lib ABI_SCRATCH="$dir" >"$dir/build.log" 2>&1 \
        || { cat "$dir/build.log" >&2; return 1; }
    echo "$dir"
}

expect_fail() { # NAME FILE SED_EXPR
    dir=$(scratch_build "$1" "$2" "$3") || { result "$1 (scratch build)" 0; return; }
    if scripts/check-abi.sh "$dir/librlcc.so" "$dir/src/rlcc.map" abi/librlcc.abi "$dir/include" \
        >"$dir/check.log" 2>&1; then
        result "check-abi rejects: $1" 0
    else
        result "check-abi rejects: $1" 1
    fi
}

# A check that rejects everything proves nothing: the real library passes.
real_lib=$(readlink -f lib/librlcc.so.1)
if ! scripts/check-abi.sh "$real_lib" src/rlcc.map abi/librlcc.abi include; then
    echo "abi-breaks: the built library fails check-abi itself (make check-abi): not run"
    echo "abi-breaks: 0 passed, 1 failed"
    exit 1
fi
# swap two fields of a released options struct
expect_fail "reordered struct fields" include/rlcc.h \
    '/int32_t metric;/{h;d};/int32_t n_threads;/{G}'
# the same in a struct released with 1.1
expect_fail "reordered 1.1 struct fields" include/rlcc.h \
    '/    int32_t k1;/{h;d};/    int32_t k2;/{G}'
# change a released parameter type
expect_fail "changed parameter type" "include/rlcc.h src/dbscan.c" \
    's/int rlcc_dbscan_csr(int64_t n,/int rlcc_dbscan_csr(int32_t n,/'
# grow a released struct in the middle
expect_fail "field inserted into a released struct" include/rlcc.h \
    's/    int64_t n_core;/    int64_t n_core;\n    int64_t inserted;/'
# export a symbol the version script does not list
expect_fail "symbol missing from the version script" src/rlcc.map \
    '/rlcc_dbscan_csr;/d'
# remove a released function
expect_fail "removed function" src/rlcc.map \
    's/rlcc_dbscan_dense;/rlcc_dbscan_dense_renamed;/'

echo "abi-breaks: $passed passed, $failed failed"
[ "$failed" -eq 0 ]
