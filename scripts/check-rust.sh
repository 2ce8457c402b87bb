#!/bin/bash
# check-rust.sh - the Rust crate: cargo test --offline (unit, integration and
# doc tests, each a test) and cargo clippy with every lint an error (one
# check). No cargo is a failure, never a silent skip. Prints "rust: ..." last.
source "$(dirname "$0")/check-lib.sh"
export PATH="$PATH:${HOME:-/root}/.cargo/bin"
if ! command -v cargo >/dev/null 2>&1; then
    echo "rust: cargo not found (scripts/install-deps.sh installs Debian's cargo): counted as failed"
    echo "rust: 0 passed, 1 failed"
    exit 1
fi
log=$(mktemp)
trap 'rm -f "$log"' EXIT
cargo_crate test --offline -q 2>&1 | tee "$log"
status=${PIPESTATUS[0]}
passed=$(grep -oE "test result: [a-zA-Z]+\. [0-9]+ passed" "$log" | grep -oE "[0-9]+ passed" \
    | awk '{s += $1} END {print s + 0}')
failed=$(grep -oE "[0-9]+ failed;" "$log" | awk '{s += $1} END {print s + 0}')
if [ "$status" -ne 0 ] && [ "$failed" -eq 0 ]; then failed=1; fi
cargo_crate clippy --offline --all-targets -q -- -D warnings 2>&1
record "cargo clippy -D warnings" $(( $? == 0 ))
tally rust
