#!/bin/bash
# installed.sh - librlcc as its users install it: `make install` into a DESTDIR
# (PREFIX /opt/rlcc, outside every system path, so nothing can fall back on a
# system copy) and into a real prefix, then programs in folders outside the
# checkout build and run against what was installed: C with gcc and clang,
# shared and static; C++; a CMake project; a new Rust crate that depends on
# bindings/rust; a Go program using a copy of bindings/go. Also: no installed
# file names the build machine, rlcc(1) renders, make uninstall removes all.
#
# Prints "  ok   WHAT" / "  FAIL WHAT" per check and ends with
# "installed: N passed, M failed"; exits non-zero when anything failed.
# Needs a built checkout (make) and the check tier of scripts/install-deps.sh.
set -u
top=$(cd "$(dirname "$0")/../.." && pwd)
MAKE=${MAKE:-make}
CC=${CC:-clang}
GCC=${GCC:-gcc}
passed=0
failed=0
out=$(mktemp -d /tmp/rlcc-installed.XXXXXX)
trap 'rm -rf "$out"' EXIT
unset LD_LIBRARY_PATH RLCC_LIB_DIR RLCC_LIBRARY PKG_CONFIG_PATH PKG_CONFIG_SYSROOT_DIR

# record WHAT OK [LOG]: one check; a failure shows the end of LOG.
record() {
    if [ "$2" = 1 ]; then
        passed=$((passed + 1)); echo "  ok   $1"
    else
        failed=$((failed + 1)); echo "  FAIL $1"
        if [ -n "${3:-}" ] && [ -f "$3" ]; then tail -n 30 "$3"; fi
    fi
}

# loaded_from PROGRAM: the file librlcc.so.1 resolves to when PROGRAM runs
loaded_from() {
    readlink -f "$(ldd "$1" | sed -n 's/^\s*librlcc\.so\.1 => \(\S*\) .*/\1/p')"
}

# the version of this checkout, from the one place it lives
version=$(sed -n 's/^#define RLCC_VERSION_STRING "\(.*\)"$/\1/p' "$top/include/rlcc.h")

want="2 clusters, labels 0 0 0 1 1 1 -1"
app="$out/app"          # every program is built here, outside the checkout
mkdir -p "$app"
cp "$top/examples/dbscan.c" "$app/app.c"

# ---- a DESTDIR install, as a packager stages it --------------------------------
root="$out/root"
prefix=/opt/rlcc
(cd "$top" && $MAKE --no-print-directory install DESTDIR="$root" PREFIX="$prefix") >"$out/install.log" 2>&1
record "make install DESTDIR=... PREFIX=$prefix" $(( $? == 0 )) "$out/install.log"
staged="$root$prefix"
missing=""
for f in include/rlcc.h lib/librlcc.a lib/librlcc.so.$version lib/librlcc.so.1 lib/librlcc.so \
    lib/pkgconfig/rlcc.pc lib/cmake/rlcc/rlccConfig.cmake lib/cmake/rlcc/rlccConfigVersion.cmake \
    bin/rlcc share/man/man1/rlcc.1; do
    [ -e "$staged/$f" ] || missing="$missing $f"
done
record "it installs the header, both libraries, rlcc.pc, the CMake package, bin/rlcc, rlcc(1)${missing:+ (missing:$missing)}" \
    $(( ${#missing} == 0 ))
[ -L "$staged/lib/librlcc.so.1" ] && [ "$(readlink "$staged/lib/librlcc.so.1")" = librlcc.so.$version ] \
    && [ "$(readlink "$staged/lib/librlcc.so")" = librlcc.so.1 ]
record "librlcc.so -> librlcc.so.1 -> librlcc.so.$version" $(( $? == 0 ))

# No installed file carries a path of this machine: not the checkout, not the
# DESTDIR, not the compiler's own folders.
readelf -d "$staged/lib/librlcc.so.$version" "$staged/bin/rlcc" >"$out/dyn.txt" 2>&1
grep -E 'RPATH|RUNPATH' "$out/dyn.txt" >"$out/paths.txt"
! grep -vE '\[\$ORIGIN/\.\./lib\]' "$out/paths.txt" | grep -q . \
    && ! grep -q RUNPATH <(readelf -d "$staged/lib/librlcc.so.$version")
record "the library has no RUNPATH, the CLI only \$ORIGIN/../lib" $(( $? == 0 )) "$out/paths.txt"
! grep -rIlE "$top|$root|llvm-[0-9]+" "$staged/lib/pkgconfig" "$staged/lib/cmake" "$staged/include" \
    >"$out/leaks.txt"
record "no build-machine path in rlcc.pc, the CMake files or the header" $(( $? == 0 )) "$out/leaks.txt"
! strings -a "$staged/lib/librlcc.so.$version" "$staged/bin/rlcc" | grep -q "$top"
record "no path of the checkout inside the library or the CLI (debug information included)" $(( $? == 0 ))

"$staged/bin/rlcc" --version >"$out/version.txt" 2>&1 && grep -qx "rlcc $version" "$out/version.txt" \
    && [ "$(loaded_from "$staged/bin/rlcc")" = "$staged/lib/librlcc.so.$version" ]
record "the installed rlcc runs and loads the installed library" $(( $? == 0 )) "$out/version.txt"
MANWIDTH=80 man -l "$staged/share/man/man1/rlcc.1" 2>"$out/man.err" | col -b >"$out/man.txt"
grep -q "^NAME" "$out/man.txt" && grep -q "rlcc cluster FEATURES.npy" "$out/man.txt" \
    && grep -q "EXIT STATUS" "$out/man.txt" && ! grep -q "warning" "$out/man.err"
record "man -l renders rlcc(1)" $(( $? == 0 )) "$out/man.err"

# pkg-config over the staged tree: the sysroot prefixes every path it prints.
export PKG_CONFIG_PATH="$staged/lib/pkgconfig" PKG_CONFIG_SYSROOT_DIR="$root"
cflags=$(pkg-config --cflags rlcc | xargs)
libs=$(pkg-config --libs rlcc | xargs)
static_libs=$(pkg-config --static --libs rlcc | sed 's/ *-lrlcc\b//')
[ "$(pkg-config --modversion rlcc)" = $version ] && [ "$cflags" = "-I$staged/include" ]
record "pkg-config rlcc: version $version, the staged include folder" $(( $? == 0 ))

for compiler in "$GCC" "$CC"; do
    name=$(basename "$compiler")
    (cd "$app" && $compiler -std=c11 -Wall -Werror app.c $cflags $libs -Wl,-rpath,"$staged/lib" \
        -o "shared-$name") >"$out/c.log" 2>&1 \
        && "$app/shared-$name" | grep -q "$want" \
        && [ "$(loaded_from "$app/shared-$name")" = "$staged/lib/librlcc.so.$version" ]
    record "C with $name, shared: pkg-config --cflags --libs rlcc" $(( $? == 0 )) "$out/c.log"
    (cd "$app" && $compiler -std=c11 -Wall -Werror app.c $cflags "$staged/lib/librlcc.a" $static_libs \
        -o "static-$name") >"$out/c.log" 2>&1 \
        && "$app/static-$name" | grep -q "$want" && ! ldd "$app/static-$name" | grep -q librlcc
    record "C with $name, static: librlcc.a and pkg-config --static --libs" $(( $? == 0 )) "$out/c.log"
done

# run-time lookup without an rpath: LD_LIBRARY_PATH, as docs/getting-started.md says
(cd "$app" && $GCC app.c $cflags $libs -o norpath) >"$out/c.log" 2>&1 \
    && ! "$app/norpath" >/dev/null 2>&1 \
    && LD_LIBRARY_PATH="$staged/lib" "$app/norpath" | grep -q "$want"
record "without an rpath the program needs LD_LIBRARY_PATH, and runs with it" $(( $? == 0 )) "$out/c.log"

cat >"$app/app.cpp" <<'EOF'
// A C++ program: rlcc.h is usable from C++ as is (extern "C").
#include <cstdio>
#include <vector>
#include "rlcc.h"
int main() {
    const std::vector<float> x = {0.0f, 0.5f, 1.0f, 10.0f, 10.5f, 40.0f};
    std::vector<int32_t> labels(x.size());
    int64_t clusters = 0;
    if (rlcc_dbscan_features(x.data(), 6, 1, 1, 0.6, 2, nullptr, labels.data(), &clusters,
                             nullptr, nullptr) != RLCC_OK) {
        std::fprintf(stderr, "%s\n", rlcc_last_error());
        return 1;
    }
    std::printf("C++: %lld clusters, point 5 is %d\n", static_cast<long long>(clusters), labels[5]);
}
EOF
for cxx in g++ clang++; do
    (cd "$app" && $cxx -std=c++11 -Wall -Werror app.cpp $cflags $libs -Wl,-rpath,"$staged/lib" \
        -o "cpp-$cxx") >"$out/cpp.log" 2>&1 && "$app/cpp-$cxx" | grep -q "C++: 2 clusters, point 5 is -1"
    record "C++ with $cxx against the installed header and library" $(( $? == 0 )) "$out/cpp.log"
done
unset PKG_CONFIG_PATH PKG_CONFIG_SYSROOT_DIR

# A CMake project, pointed at the staged prefix: the package locates itself.
mkdir -p "$app/cmake"
cp "$app/app.c" "$app/cmake/app.c"
cat >"$app/cmake/CMakeLists.txt" <<'EOF'
cmake_minimum_required(VERSION 3.13)
project(uses_rlcc C)
find_package(rlcc 1.2 CONFIG REQUIRED)
add_executable(app_shared app.c)
target_link_libraries(app_shared PRIVATE rlcc::rlcc)
add_executable(app_static app.c)
target_link_libraries(app_static PRIVATE rlcc::rlcc_static)
EOF
for compiler in "$GCC" "$CC"; do
    name=$(basename "$compiler")
    rm -rf "$app/cmake/build"
    cmake -S "$app/cmake" -B "$app/cmake/build" -DCMAKE_C_COMPILER="$compiler" \
        -DCMAKE_PREFIX_PATH="$staged" >"$out/cmake.log" 2>&1 \
        && cmake --build "$app/cmake/build" >>"$out/cmake.log" 2>&1 \
        && "$app/cmake/build/app_shared" | grep -q "$want" \
        && [ "$(loaded_from "$app/cmake/build/app_shared")" = "$staged/lib/librlcc.so.$version" ] \
        && "$app/cmake/build/app_static" | grep -q "$want" \
        && ! ldd "$app/cmake/build/app_static" | grep -q librlcc
    record "CMake with $name: find_package(rlcc CONFIG), rlcc::rlcc and rlcc::rlcc_static" \
        $(( $? == 0 )) "$out/cmake.log"
done
sed -i 's/find_package(rlcc 1.2 CONFIG REQUIRED)/find_package(rlcc 2 CONFIG REQUIRED)/' "$app/cmake/CMakeLists.txt"
rm -rf "$app/cmake/build"
! cmake -S "$app/cmake" -B "$app/cmake/build" -DCMAKE_PREFIX_PATH="$staged" >"$out/cmake.log" 2>&1 \
    && grep -q "rlccConfig.cmake, version: $version" "$out/cmake.log"
record "CMake: a request for librlcc 2 is refused by the version file" $(( $? == 0 )) "$out/cmake.log"

(cd "$top" && $MAKE --no-print-directory uninstall DESTDIR="$root" PREFIX="$prefix") >"$out/uninstall.log" 2>&1 \
    && [ -z "$(find "$root" -type f -o -type l)" ]
record "make uninstall removes every installed file" $(( $? == 0 )) "$out/uninstall.log"

# ---- a real prefix: the Rust crate and the Go package find it by pkg-config ------
real="$out/prefix"
(cd "$top" && $MAKE --no-print-directory install PREFIX="$real") >"$out/install.log" 2>&1
record "make install PREFIX=$real" $(( $? == 0 )) "$out/install.log"
export PKG_CONFIG_PATH="$real/lib/pkgconfig"

mkdir -p "$app/rust/src"
cat >"$app/rust/Cargo.toml" <<EOF
[package]
name = "uses-rlcc"
version = "0.1.0"
edition = "2021"
rust-version = "1.63"

[dependencies]
rlcc = { path = "$top/bindings/rust" }
EOF
cat >"$app/rust/src/main.rs" <<'EOF'
fn main() {
    let x = [0.0f32, 0.5, 1.0, 10.0, 10.5, 40.0];
    let r = rlcc::dbscan_features(&x, 6, 1, 0.6, 2, &Default::default()).expect("dbscan");
    println!("Rust: librlcc {}: {} clusters, point 5 is {}", rlcc::version(), r.n_clusters, r.labels[5]);
}
EOF
(cd "$app/rust" && CARGO_TARGET_DIR="$app/rust/target" cargo build --offline -q) >"$out/cargo.log" 2>&1 \
    && env -u LD_LIBRARY_PATH "$app/rust/target/debug/uses-rlcc" >"$out/rust.txt" 2>>"$out/cargo.log" \
    && grep -qx "Rust: librlcc $version: 2 clusters, point 5 is -1" "$out/rust.txt"
record "a new Rust crate depending on bindings/rust builds and its binary runs without LD_LIBRARY_PATH" \
    $(( $? == 0 )) "$out/cargo.log"
! ldd "$app/rust/target/debug/uses-rlcc" | grep -q librlcc \
    && ! readelf -d "$app/rust/target/debug/uses-rlcc" | grep -qE 'RPATH|RUNPATH'
record "the Rust binary holds librlcc (static by default): no librlcc.so.1, no rpath" $(( $? == 0 )) "$out/cargo.log"
(cd "$top/bindings/rust" && RLCC_LINK=dynamic CARGO_TARGET_DIR="$out/cargo-dynamic" \
    cargo run -q --offline --example reid_fixture -- "$top/examples/data") >"$out/fx.dyn.txt" 2>"$out/cargo-dyn.log" \
    && diff -u "$top/examples/data/reid_fixture.expected" "$out/fx.dyn.txt" >>"$out/cargo-dyn.log" \
    && [ "$(loaded_from "$out/cargo-dynamic/debug/examples/reid_fixture")" = "$real/lib/librlcc.so.$version" ]
record "RLCC_LINK=dynamic: the crate's example loads the installed librlcc.so.1 through its rpath" \
    $(( $? == 0 )) "$out/cargo-dyn.log"

mkdir -p "$app/go/rlcc" "$app/go/app"
cp "$top"/bindings/go/*.go "$top"/bindings/go/*.c "$top"/bindings/go/*.h "$top/bindings/go/go.mod" "$app/go/rlcc/"
rm -f "$app"/go/rlcc/*_test.go
cat >"$app/go/app/go.mod" <<'EOF'
module example.org/usesrlcc

go 1.19

require librlcc.org/go/rlcc v1.5.0

replace librlcc.org/go/rlcc => ../rlcc
EOF
cat >"$app/go/app/main.go" <<'EOF'
package main

import (
	"fmt"
	"os"

	"librlcc.org/go/rlcc"
)

func main() {
	c, err := rlcc.DbscanFeatures([]float32{0, 0.5, 1, 10, 10.5, 40}, 6, 1, 0.6, 2, nil)
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
	fmt.Printf("Go: librlcc %s: %d clusters, point 5 is %d\n", rlcc.Version(), c.Clusters, c.Labels[5])
}
EOF
(cd "$app/go/app" && CGO_LDFLAGS="-Wl,-rpath,$real/lib" GOFLAGS=-mod=mod GOPROXY=off \
    GOCACHE="$out/gocache" go build -o usesrlcc .) >"$out/go.log" 2>&1 \
    && "$app/go/app/usesrlcc" >"$out/go.txt" 2>>"$out/go.log" \
    && grep -qx "Go: librlcc $version: 2 clusters, point 5 is -1" "$out/go.txt" \
    && [ "$(loaded_from "$app/go/app/usesrlcc")" = "$real/lib/librlcc.so.$version" ]
record "a Go program outside the checkout finds the library through #cgo pkg-config: rlcc" \
    $(( $? == 0 )) "$out/go.log"
unset PKG_CONFIG_PATH

echo "installed: $passed passed, $failed failed"
[ "$failed" -eq 0 ]
