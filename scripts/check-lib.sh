# check-lib.sh - sourced by the scripts/check-*.sh suites (bash): the
# checkout's root as $top (and the working folder), one counted check at a
# time, the tally line, and the Rust and Go tools run against the checkout.
# Builds nothing: the Makefile builds what a suite runs.
top=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
cd "$top" || exit 1
PYTHON=${PYTHON:-/usr/bin/python3}
passed=0
failed=0

# record WHAT OK [LOG]: one counted check (OK is 1 for a pass); a failure
# shows the end of LOG when one is given.
record() {
    if [ "$2" = 1 ]; then
        passed=$((passed + 1)); echo "  ok   $1"
    else
        failed=$((failed + 1)); echo "  FAIL $1"
        if [ -n "${3:-}" ] && [ -f "$3" ]; then tail -n 40 "$3"; fi
    fi
}

# tally SUITE: the suite's last line, "SUITE: N passed, M failed"; the status
# is non-zero when a check failed.
tally() {
    echo "$1: $passed passed, $failed failed"
    [ "$failed" -eq 0 ]
}

# go_in DIR ARGS...: the go tool in DIR, offline, no external modules, its
# build cache inside build/, librlcc found through the checkout's pkg-config
# file (build/pkgconfig/rlcc.pc, which make writes).
go_in() {
    local dir=$1
    shift
    (cd "$dir" && PKG_CONFIG_PATH="$top/build/pkgconfig" GOFLAGS=-mod=mod GOPROXY=off \
        GOCACHE="${GOCACHE:-$top/build/gocache}" go "$@")
}

# cargo_crate ARGS...: cargo on bindings/rust against the checkout's lib/
# (Debian's cargo, or a rustup toolchain first in PATH).
cargo_crate() {
    (cd "$top/bindings/rust" && PATH="$PATH:${HOME:-/root}/.cargo/bin" RLCC_LIB_DIR="$top/lib" \
        CARGO_TARGET_DIR="$top/build/rust" cargo "$@")
}
