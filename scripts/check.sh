#!/bin/bash
# check.sh - every test suite librlcc has, run by `make check`.
#
# Each suite prints a line "<suite>: N passed, M failed"; a suite that dies
# before printing one counts as one failure. The last line of the output is
# the total, "<N> passed, <M> failed", and the exit status is non-zero when
# anything failed.
set -u
top=$(cd "$(dirname "$0")/.." && pwd)
cd "$top"
PYTHON=${PYTHON:-/usr/bin/python3}
CC=${CC:-clang}
GCC=${GCC:-gcc}
MAKE=${MAKE:-make}
logs=$(mktemp -d)
# LeakSanitizer for every sanitized suite: see tests/lsan.supp for why TLS is
# not scanned and what is suppressed (nothing of librlcc's).
export LSAN_OPTIONS="use_tls=0:suppressions=$top/tests/lsan.supp"
trap 'rm -rf "$logs"' EXIT
total_passed=0
total_failed=0

# run_suite NAME COMMAND...: runs the command, shows its output, adds its tally.
run_suite() {
    local name=$1
    shift
    echo "== $name"
    "$@" 2>&1 | tee "$logs/$name.log"
    local status=${PIPESTATUS[0]}
    local line
    line=$(grep -E '^[A-Za-z0-9_-]+: [0-9]+ passed, [0-9]+ failed' "$logs/$name.log" | tail -n 1)
    if [ -z "$line" ]; then
        echo "$name: no tally (exit status $status): counted as 1 failed"
        total_failed=$((total_failed + 1))
        return
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
}

# record NAME OK [LOG]: one counted check of a suite (the caller's local
# passed and failed); a failure shows the end of LOG when one is given.
record() {
    if [ "$2" = 1 ]; then
        passed=$((passed + 1)); echo "  ok   $1"
    else
        failed=$((failed + 1)); echo "  FAIL $1"
        if [ -n "${3:-}" ]; then tail -n 40 "$3"; fi
    fi
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

# cargo_crate ARGS...: cargo on bindings/rust against the checkout's lib/.
cargo_crate() {
    (cd bindings/rust && PATH="$PATH:${HOME:-/root}/.cargo/bin" RLCC_LIB_DIR="$top/lib" \
        CARGO_TARGET_DIR="$top/build/rust" cargo "$@")
}

# A build step counts as a test: it passes or it fails.
build_suite() { # NAME TARGETS...
    local name=$1
    shift
    if $MAKE --no-print-directory "$@" >"$logs/build-$name.log" 2>&1; then
        echo "build-$name: 1 passed, 0 failed"
    else
        cat "$logs/build-$name.log"
        echo "build-$name: 0 passed, 1 failed"
        return 1
    fi
}

# Compiles the public header alone with each compiler and language mode.
header_suite() {
    local passed=0 failed=0
    local out
    out=$(mktemp -d)
    for compiler in "$CC -std=c99" "$GCC -std=c99" "$CC -std=c11" "clang++ -std=c++11" "g++ -std=c++11"; do
        local src=tests/header/headertest.c
        case $compiler in *++*) src=tests/header/headertest.cpp ;; esac
        $compiler -pedantic -Wall -Wextra -Werror -Iinclude -c "$src" -o "$out/h.o"
        record "$compiler" $(( $? == 0 ))
    done
    rm -rf "$out"
    echo "header: $passed passed, $failed failed"
}

# The API reference builds with no Doxygen warning, and an undocumented
# public function would fail it.
docs_suite() {
    local passed=0 failed=0 out
    out=$(mktemp -d)
    $MAKE --no-print-directory docs >"$out/docs.log" 2>&1
    record "make docs: every public symbol documented" $(( $? == 0 )) "$out/docs.log"
    sed 's|^#endif /\* RLCC_H \*/|RLCC_API int rlcc_undocumented(int x);\n&|' include/rlcc.h >"$out/rlcc.h"
    grep -q rlcc_undocumented "$out/rlcc.h" \
        && ! { cat docs/Doxyfile; echo "INPUT = $out/rlcc.h"; echo "OUTPUT_DIRECTORY = $out/html"; } \
            | doxygen - >"$out/neg.log" 2>&1 \
        && grep -q "rlcc_undocumented.*is not documented" "$out/neg.log"
    record "an undocumented public function fails the docs build" $(( $? == 0 )) "$out/neg.log"
    rm -rf "$out"
    echo "docs: $passed passed, $failed failed"
}

# The examples build and run and print what they should (the installed
# library: tests/install/installed.sh).
examples_suite() {
    local passed=0 failed=0
    local out
    out=$(mktemp -d)
    local want="2 clusters, labels 0 0 0 1 1 1 -1"
    $CC -std=c11 -Wall -Werror -Iinclude examples/dbscan.c -Llib -l:librlcc.so.1 \
        -Wl,-rpath,"$top/lib" -lm -o "$out/dbscan" && "$out/dbscan" >"$out/c.txt"
    record "examples/dbscan.c runs" $(( $? == 0 ))
    grep -q "$want" "$out/c.txt" && grep -q "refused: invalid argument (x: row 1 has NaN" "$out/c.txt"
    record "examples/dbscan.c prints the clusters and the refusal" $(( $? == 0 ))
    cat "$out/c.txt"
    PYTHONPATH=bindings/python "$PYTHON" examples/dbscan.py >"$out/py.txt"
    record "examples/dbscan.py runs" $(( $? == 0 ))
    grep -q "$want" "$out/py.txt" && grep -q "refused: invalid argument (x: row 1 has NaN" "$out/py.txt"
    record "examples/dbscan.py prints the same clusters" $(( $? == 0 ))
    cat "$out/py.txt"
    $CC -std=c11 -Wall -Werror -Iinclude examples/trainer_loop.c -Llib -l:librlcc.so.1 \
        -Wl,-rpath,"$top/lib" -lm -o "$out/trainer_loop" && "$out/trainer_loop" >"$out/tl.txt" \
        && grep -q "^epoch 3: 40 classes" "$out/tl.txt"
    record "examples/trainer_loop.c runs four epochs through the refiner" $(( $? == 0 ))
    PYTHONPATH=bindings/python "$PYTHON" examples/trainer_loop.py >"$out/tl.py.txt" \
        && grep -q "^epoch 3: 40 classes" "$out/tl.py.txt"
    record "examples/trainer_loop.py runs four epochs through the refiner" $(( $? == 0 ))
    # One task, four languages, one committed fixture: identical output.
    $CC -std=c11 -Wall -Werror -Iinclude examples/reid_fixture.c -Llib -l:librlcc.so.1 \
        -Wl,-rpath,"$top/lib" -o "$out/reid_fixture" && "$out/reid_fixture" examples/data >"$out/fx.c.txt" \
        && diff -u examples/data/reid_fixture.expected "$out/fx.c.txt"
    record "examples/reid_fixture.c prints examples/data/reid_fixture.expected" $(( $? == 0 ))
    PYTHONPATH=bindings/python "$PYTHON" examples/reid_fixture.py examples/data >"$out/fx.py.txt" \
        && diff -u "$out/fx.c.txt" "$out/fx.py.txt"
    record "examples/reid_fixture.py prints what the C example prints" $(( $? == 0 ))
    cargo_crate run -q --offline --example reid_fixture -- "$top/examples/data" \
        >"$out/fx.rs.txt" && diff -u "$out/fx.c.txt" "$out/fx.rs.txt"
    record "examples/reid_fixture.rs prints what the C example prints" $(( $? == 0 ))
    go_in examples/go run . "$top/examples/data" >"$out/fx.go.txt" \
        && diff -u "$out/fx.c.txt" "$out/fx.go.txt"
    record "examples/go/reid_fixture.go prints what the C example prints" $(( $? == 0 ))
    # The README's examples are real programs.
    # the first fenced block of each language is the runnable example
    sed -n '/^```c$/,/^```$/{p;/^```$/q}' README.md | sed '1d;$d' >"$out/readme.c"
    $CC -std=c11 -Wall -Werror -Iinclude "$out/readme.c" -Llib -l:librlcc.so.1 \
        -Wl,-rpath,"$top/lib" -o "$out/readme" && "$out/readme" | grep -q "2 clusters, point 5 is -1"
    record "README.md's C example builds and prints what it says" $(( $? == 0 ))
    sed -n '/^```python$/,/^```$/{p;/^```$/q}' README.md | sed '1d;$d' >"$out/readme.py"
    PYTHONPATH=bindings/python "$PYTHON" "$out/readme.py" | grep -q "^True "
    record "README.md's Python example runs and both inputs agree" $(( $? == 0 ))
    rm -rf "$out"
    echo "examples: $passed passed, $failed failed"
}

# valgrind memcheck on the examples and the CLI, built with DWARF 4.
valgrind_suite() {
    local passed=0 failed=0 out
    out=$(mktemp -d)
    "$MAKE" --no-print-directory build/valgrind/librlcc.a >/dev/null
    local libs="$(pkg-config --libs openblas) -fopenmp -lm"
    for example in dbscan trainer_loop; do
        $CC -std=c11 -gdwarf-4 -O1 -Iinclude "examples/$example.c" build/valgrind/librlcc.a $libs \
            -o "$out/$example" \
            && valgrind -q --leak-check=full --errors-for-leak-kinds=definite --error-exitcode=9 \
                "$out/$example" >/dev/null 2>"$out/$example.log"
        record "valgrind examples/$example.c" $(( $? == 0 )) "$out/$example.log"
    done
    rm -rf "$out"
    echo "valgrind: $passed passed, $failed failed"
}

fuzz_replay_suite() { # NAME
    "$MAKE" --no-print-directory "build/fuzz/replay-$1" >/dev/null && "build/fuzz/replay-$1" "tests/fuzz/corpus/$1"
}

# The Rust crate: cargo test --offline (unit, integration and doc tests).
# No cargo is a failure, never a silent skip.
rust_suite() {
    export PATH="$PATH:${HOME:-/root}/.cargo/bin"
    if ! command -v cargo >/dev/null 2>&1; then
        echo "rust: cargo not found (scripts/install-deps.sh installs Debian's cargo): counted as failed"
        echo "rust: 0 passed, 1 failed"
        return 1
    fi
    local log
    log=$(mktemp)
    cargo_crate test --offline -q 2>&1 | tee "$log"
    local status=${PIPESTATUS[0]}
    local passed failed
    passed=$(grep -oE "test result: [a-zA-Z]+\. [0-9]+ passed" "$log" | grep -oE "[0-9]+ passed" | awk '{s += $1} END {print s + 0}')
    failed=$(grep -oE "[0-9]+ failed;" "$log" | awk '{s += $1} END {print s + 0}')
    rm -f "$log"
    if [ "$status" -ne 0 ] && [ "$failed" -eq 0 ]; then failed=1; fi
    # clippy, every lint a failure
    cargo_crate clippy --offline --all-targets -q -- -D warnings 2>&1
    record "cargo clippy -D warnings" $(( $? == 0 ))
    echo "rust: $passed passed, $failed failed"
}

# The Go package: go test (unit tests and runnable examples) with cgo
# against the checkout's lib/, offline, no external modules.
go_suite() {
    if ! command -v go >/dev/null 2>&1; then
        echo "go: go not found (scripts/install-deps.sh installs golang-go): counted as failed"
        echo "go: 0 passed, 1 failed"
        return 1
    fi
    local log
    log=$(mktemp)
    go_in bindings/go test -count=1 -v . >"$log" 2>&1
    local status=$?
    grep -E -- "^\s*--- FAIL|^(ok|FAIL)\s" "$log"
    [ "$status" -ne 0 ] && tail -n 40 "$log"
    local passed failed
    passed=$(grep -cE -- "^\s*--- PASS" "$log")
    failed=$(grep -cE -- "^\s*--- FAIL" "$log")
    if [ "$status" -ne 0 ] && [ "$failed" -eq 0 ]; then failed=1; fi
    # the same tests under the race detector (goroutines, handles, callbacks)
    go_in bindings/go test -race -count=1 . >"$log" 2>&1
    record "go test -race" $(( $? == 0 )) "$log"
    go_in bindings/go vet . >"$log" 2>&1
    record "go vet" $(( $? == 0 )) "$log"
    rm -f "$log"
    local unformatted
    unformatted=$(gofmt -l bindings/go examples/go)
    record "gofmt${unformatted:+: $unformatted}" $(( ${#unformatted} == 0 ))
    echo "go: $passed passed, $failed failed"
}

# The Python tests run against the package as a user installs it: the wheel
# built from this checkout (carrying librlcc and what it loads), installed
# offline into a fresh venv that sees Debian's numpy / scipy / scikit-learn,
# with no RLCC_LIBRARY, so the wheel's own copy is what is tested.
pytest_suite() {
    local venv
    venv=$(mktemp -d)
    "$PYTHON" -m venv --system-site-packages "$venv/env" \
        && env -u PIP_FIND_LINKS "$PYTHON" -m pip wheel -q --no-build-isolation --no-deps --no-index \
            -w "$venv/dist" bindings/python >"$venv/pip.log" 2>&1 \
        && "$venv/env/bin/pip" install -q --no-index --no-deps "$venv"/dist/rlcc-*-py3-none-linux_x86_64.whl \
            >>"$venv/pip.log" 2>&1
    if [ $? -ne 0 ]; then
        cat "$venv/pip.log"
        rm -rf "$venv"
        echo "pytest: 0 passed, 1 failed"
        return 1
    fi
    (cd "$venv" && env -u RLCC_LIBRARY RLCC_TEST_INSTALLED=1 \
        "$venv/env/bin/python" -m pytest -q -p no:cacheprovider "$top/tests/python")
    local status=$?
    rm -rf "$venv"
    # exit 5: pytest collected nothing, which must never pass quietly
    [ "$status" -eq 5 ] && echo "pytest: 0 passed, 1 failed"
    return $status
}

if run_suite build-library build_suite library all; then
    run_suite header header_suite
    run_suite c-clang-shared sh -c "$MAKE --no-print-directory build/clang/rlcc-tests-shared >/dev/null && build/clang/rlcc-tests-shared --suite=c-clang-shared"
    run_suite c-gcc sh -c "$MAKE --no-print-directory build/gcc/rlcc-tests GCC=$GCC >/dev/null && build/gcc/rlcc-tests --suite=c-gcc"
    run_suite c-asan-ubsan sh -c "$MAKE --no-print-directory build/asan/rlcc-tests >/dev/null && ASAN_OPTIONS=detect_leaks=1 build/asan/rlcc-tests --suite=c-asan-ubsan"
    run_suite fault-injection sh -c "$MAKE --no-print-directory build/fault/fault-test >/dev/null && build/fault/fault-test"
    run_suite c-tsan sh -c "$MAKE --no-print-directory build/tsan/rlcc-tests >/dev/null && TSAN_OPTIONS='ignore_noninstrumented_modules=1 halt_on_error=1' build/tsan/rlcc-tests --suite=c-tsan"
    run_suite valgrind valgrind_suite
    for harness in dbscan jaccard rlcc npy; do
        run_suite "fuzz-replay-$harness" fuzz_replay_suite "$harness"
    done
    run_suite abi env CC="$CC" scripts/test-abi.sh
    run_suite docs docs_suite
    run_suite examples examples_suite
    run_suite installed env MAKE="$MAKE" CC="$CC" GCC="$GCC" tests/install/installed.sh
    run_suite deb tests/install/deb.sh
    run_suite wheel env PYTHON="$PYTHON" tests/install/wheel.sh
    run_suite rust rust_suite
    run_suite go go_suite
    run_suite python pytest_suite
fi

echo "$total_passed passed, $total_failed failed"
[ "$total_failed" -eq 0 ]
