#!/bin/bash
# check-go.sh - the Go package: go test -v (unit tests and runnable examples,
# each a test) with cgo against the checkout's lib/, offline, no external
# modules; then go test -race, go vet and gofmt, one check each. No go is a
# failure, never a silent skip. Prints "go: ..." last.
source "$(dirname "$0")/check-lib.sh"
if ! command -v go >/dev/null 2>&1; then
    echo "go: go not found (scripts/install-deps.sh installs golang-go): counted as failed"
    echo "go: 0 passed, 1 failed"
    exit 1
fi
log=$(mktemp)
trap 'rm -f "$log"' EXIT
go_in bindings/go test -count=1 -v . >"$log" 2>&1
status=$?
grep -E -- "^\s*--- FAIL|^(ok|FAIL)\s" "$log"
[ "$status" -ne 0 ] && tail -n 40 "$log"
passed=$(grep -cE -- "^\s*--- PASS" "$log")
failed=$(grep -cE -- "^\s*--- FAIL" "$log")
if [ "$status" -ne 0 ] && [ "$failed" -eq 0 ]; then failed=1; fi
# the same tests under the race detector (goroutines, handles, callbacks)
go_in bindings/go test -race -count=1 . >"$log" 2>&1
record "go test -race" $(( $? == 0 )) "$log"
go_in bindings/go vet . >"$log" 2>&1
record "go vet" $(( $? == 0 )) "$log"
unformatted=$(gofmt -l bindings/go examples/go)
record "gofmt${unformatted:+: $unformatted}" $(( ${#unformatted} == 0 ))
tally go
