#!/bin/bash
# tests/install/deb.sh - the Debian packages, built and checked without
# installing anything on this machine.
#
# Copies the checkout (tracked files plus working-tree changes, not ignored
# ones) into a temporary folder, runs `dpkg-buildpackage -us -uc -b` there,
# checks the six packages (lintian, both symbols files, contents,
# relationships, no RUNPATH, exports, no build path), extracts them into a
# temporary root with `dpkg-deb -x`, and there builds and runs a C program
# through `pkg-config rlcc` (shared with gcc and clang, static with gcc) and
# examples/mpi_knn.c through `pkg-config rlcc_mpi` under `mpirun -np 2`, runs
# the packaged `rlcc --version` and imports the packaged Python module against
# the packaged library.
#
# One line per check ("  ok   ..." or "  FAIL ..." with the tail of its log),
# then "deb: <N> passed, <M> failed"; exits 1 if any failed.
# RLCC_DEB_KEEP=1 keeps the temporary folder (its path is printed).
#
# Needs (Debian packages): dpkg-dev debhelper dh-python fakeroot lintian, the
# rest of debian/control's Build-Depends (clang libomp-dev libopenblas-dev
# libopenmpi-dev pkg-config python3), gcc, openmpi-bin, python3-numpy
# python3-scipy, man-db, git.
# PYTHON (default /usr/bin/python3): the Python the package is for.
set -u -o pipefail

ROOT=$(cd "$(dirname "$0")/../.." && pwd)
VERSION=$(sed -n 's/^#define RLCC_VERSION_STRING "\(.*\)"$/\1/p' "$ROOT/include/rlcc.h")
# librlcc_mpi's own version (its file name); its packages carry VERSION
MPI_VERSION=$(sed -n 's/^#define RLCC_MPI_VERSION_STRING "\(.*\)"$/\1/p' "$ROOT/include/rlcc_mpi.h")
MA=$(dpkg-architecture -qDEB_HOST_MULTIARCH 2>/dev/null || gcc -print-multiarch)
ARCH=$(dpkg --print-architecture)
# the Python the package is for (its modules go to /usr/lib/python3/dist-packages)
PYTHON=${PYTHON:-/usr/bin/python3}

WORK=$(mktemp -d "${TMPDIR:-/tmp}/rlcc-deb.XXXXXX") || exit 1
if [ "${RLCC_DEB_KEEP:-}" = 1 ]; then
    echo "deb: working folder $WORK (kept)"
else
    trap 'rm -rf --one-file-system "$WORK"' EXIT
fi
SRC=$WORK/librlcc-$VERSION        # dpkg-buildpackage writes the .deb files to ..
DEST=$WORK/root                   # the extracted packages
LOGS=$WORK/logs
EMPTY=$WORK/empty                 # a neutral working folder for the programs
mkdir -p "$SRC" "$DEST" "$LOGS" "$EMPTY"

PACKAGES="librlcc1 librlcc-dev librlcc-mpi1 librlcc-mpi-dev rlcc-tools python3-rlcc"
deb_of() {   # the .deb file of a package
    local arch=$ARCH
    [ "$1" = python3-rlcc ] && arch=all
    echo "$WORK/${1}_${VERSION}_${arch}.deb"
}
LIBDIR=/usr/lib/$MA
PYDIR=/usr/lib/python3/dist-packages/rlcc

passed=0
failed=0
n=0
# check WHAT FUNCTION [ARGS...]: runs FUNCTION with its output in its own log;
# non-zero status is a failure, shown with the log's tail.
check() {
    local what=$1 log
    shift
    n=$((n + 1))
    log=$LOGS/$n.log
    if "$@" >"$log" 2>&1; then
        echo "  ok   $what"
        passed=$((passed + 1))
    else
        echo "  FAIL $what"
        tail -n 25 "$log" | sed 's/^/       | /'
        failed=$((failed + 1))
    fi
}
# say TEXT: why a check fails, into its log
say() { echo "$*"; }

# ---- the build ---------------------------------------------------------------
copy_tree() {
    # -c tracked, -o untracked but not ignored; a tracked file deleted in the
    # working tree is left out (tar --ignore-failed-read), as it would be in
    # a commit of the working tree.
    git -C "$ROOT" ls-files -co --exclude-standard -z >"$WORK/files" || return 1
    [ -s "$WORK/files" ] || { say "git ls-files listed nothing"; return 1; }
    (cd "$ROOT" && tar --null -T "$WORK/files" --ignore-failed-read -cf -) | tar -xf - -C "$SRC" ||
        return 1
    [ -x "$SRC/debian/rules" ] || { say "no debian/rules in the copy"; return 1; }
    say "$(tr -cd '\0' <"$WORK/files" | wc -c) paths copied"
}
check "the checkout copied (tracked files and working-tree changes) into a temporary folder" copy_tree

build() {
    (cd "$SRC" && dpkg-buildpackage -us -uc -b) >"$WORK/build.log" 2>&1
    local rc=$?
    tail -n 40 "$WORK/build.log"
    [ $rc -eq 0 ] || { say "dpkg-buildpackage exited $rc (log: build.log)"; return 1; }
}
check "dpkg-buildpackage -us -uc -b builds $VERSION" build

six_debs() {
    local pkg found=0 expected extra
    for pkg in $PACKAGES; do
        if [ -f "$(deb_of $pkg)" ]; then
            found=$((found + 1))
        else
            say "missing: $(basename "$(deb_of $pkg)")"
        fi
    done
    # nothing else but the automatic debug-symbol packages
    expected=$(for pkg in $PACKAGES; do basename "$(deb_of $pkg)"; done)
    extra=$(cd "$WORK" && ls -1 ./*.deb 2>/dev/null | sed 's|^\./||' | grep -v -e '-dbgsym_' |
        grep -vxF "$expected")
    [ -z "$extra" ] || { say "unexpected packages: $extra"; return 1; }
    [ $found -eq 6 ]
}
check "six packages: $PACKAGES" six_debs

symbols_file() {   # PACKAGE VERSION-SCRIPT
    local file=debian/$1.symbols
    [ -f "$SRC/$file" ] || { say "no $file"; return 1; }
    "$SRC/scripts/gen-symbols.sh" "$SRC/$2" >"$WORK/symbols.$1" || return 1
    diff -u "$SRC/$file" "$WORK/symbols.$1" ||
        { say "$file differs from scripts/gen-symbols.sh $2: regenerate it"; return 1; }
}
check "debian/librlcc1.symbols == scripts/gen-symbols.sh src/rlcc.map" symbols_file librlcc1 src/rlcc.map
check "debian/librlcc-mpi1.symbols == scripts/gen-symbols.sh src/mpi/rlcc_mpi.map" \
    symbols_file librlcc-mpi1 src/mpi/rlcc_mpi.map

lint() {
    local changes=$WORK/librlcc_${VERSION}_${ARCH}.changes out rc
    [ -f "$changes" ] || { say "no $(basename "$changes")"; return 1; }
    # lintian's own exit status (its fail-on level) is not trusted alone: no
    # "E:" line at all, on the .changes and every package it lists.
    out=$(lintian --fail-on none "$changes" 2>&1)
    rc=$?
    echo "$out"
    [ $rc -eq 0 ] || { say "lintian exited $rc"; return 1; }
    ! echo "$out" | grep -q '^E: '
}
check "lintian: no E: on the .changes and its packages" lint
grep '^W: ' "$LOGS/$n.log" | sed 's/^/       warning: /'

# ---- what the packages contain ------------------------------------------------
# The files and symbolic links (-> target) of a package, without its
# /usr/share/doc/PACKAGE folder (checked apart).
contents() {
    dpkg-deb -c "$(deb_of "$1")" | awk -v doc="usr/share/doc/$1/" '
        $1 ~ /^d/ { next }
        { p = $6; sub(/^\.\//, "", p); if ($7 == "->") p = p " -> " $8 }
        index(p, doc) == 1 { next }
        { print p }' | LC_ALL=C sort
}
expect_contents() {   # PACKAGE, then the expected paths on stdin
    local pkg=$1 docs
    LC_ALL=C sort >"$WORK/expected.$pkg"
    contents "$pkg" >"$WORK/actual.$pkg" || { say "dpkg-deb -c failed"; return 1; }
    diff -u "$WORK/expected.$pkg" "$WORK/actual.$pkg" || return 1
    docs=$(dpkg-deb -c "$(deb_of "$pkg")" | awk '{print $6}')
    echo "$docs" | grep -qxF "./usr/share/doc/$pkg/copyright" || { say "no copyright"; return 1; }
    echo "$docs" | grep -qxF "./usr/share/doc/$pkg/changelog.gz" || { say "no changelog.gz"; return 1; }
}
contents_librlcc1() {
    expect_contents librlcc1 <<EOF
${LIBDIR#/}/librlcc.so.1 -> librlcc.so.$VERSION
${LIBDIR#/}/librlcc.so.$VERSION
EOF
}
contents_dev() {
    expect_contents librlcc-dev <<EOF
usr/include/rlcc.h
${LIBDIR#/}/librlcc.a
${LIBDIR#/}/librlcc.so -> librlcc.so.1
${LIBDIR#/}/pkgconfig/rlcc.pc
${LIBDIR#/}/cmake/rlcc/rlccConfig.cmake
${LIBDIR#/}/cmake/rlcc/rlccConfigVersion.cmake
EOF
}
contents_mpi1() {
    expect_contents librlcc-mpi1 <<EOF
${LIBDIR#/}/librlcc_mpi.so.1 -> librlcc_mpi.so.$MPI_VERSION
${LIBDIR#/}/librlcc_mpi.so.$MPI_VERSION
EOF
}
contents_mpi_dev() {
    expect_contents librlcc-mpi-dev <<EOF || return 1
usr/include/rlcc_mpi.h
${LIBDIR#/}/librlcc_mpi.so -> librlcc_mpi.so.1
${LIBDIR#/}/pkgconfig/rlcc_mpi.pc
EOF
    dpkg-deb -c "$(deb_of librlcc-mpi-dev)" | awk '{print $6}' |
        grep -xF ./usr/share/doc/librlcc-mpi-dev/examples/mpi_knn.c ||
        { say "no examples/mpi_knn.c in /usr/share/doc/librlcc-mpi-dev"; return 1; }
}
contents_tools() {
    expect_contents rlcc-tools <<EOF
usr/bin/rlcc
usr/share/man/man1/rlcc.1.gz
EOF
}
contents_python() {
    # the modules of bindings/python/rlcc and py.typed, and nothing else: no
    # shared object (the module loads librlcc1's library).
    local f
    for f in "$SRC"/bindings/python/rlcc/*.py "$SRC"/bindings/python/rlcc/py.typed; do
        echo "${PYDIR#/}/$(basename "$f")"
    done | expect_contents python3-rlcc
}
check "librlcc1 contents: librlcc.so.1 -> librlcc.so.$VERSION" contents_librlcc1
check "librlcc-dev contents: rlcc.h, librlcc.a, librlcc.so, rlcc.pc, CMake package" contents_dev
check "librlcc-mpi1 contents: librlcc_mpi.so.1 -> librlcc_mpi.so.$MPI_VERSION" contents_mpi1
check "librlcc-mpi-dev contents: rlcc_mpi.h, librlcc_mpi.so, rlcc_mpi.pc, examples/mpi_knn.c" contents_mpi_dev
check "rlcc-tools contents: /usr/bin/rlcc, rlcc(1)" contents_tools
check "python3-rlcc contents: the rlcc package (*.py, py.typed), no library" contents_python

relations() {
    local f
    field() { dpkg-deb -f "$(deb_of "$1")" "$2"; }
    f=$(field librlcc1 Multi-Arch); [ "$f" = same ] || { say "librlcc1 Multi-Arch: $f"; return 1; }
    f=$(field librlcc1 Section); [ "$f" = libs ] || { say "librlcc1 Section: $f"; return 1; }
    f=$(field librlcc-dev Depends)
    echo "$f" | grep -qF "librlcc1 (= $VERSION)" || { say "librlcc-dev Depends: $f"; return 1; }
    echo "$f" | grep -qw libopenblas-dev || { say "librlcc-dev Depends: $f"; return 1; }
    f=$(field rlcc-tools Depends)
    echo "$f" | grep -qw librlcc1 || { say "rlcc-tools Depends: $f"; return 1; }
    f=$(field python3-rlcc Architecture); [ "$f" = all ] || { say "python3-rlcc Architecture: $f"; return 1; }
    f=$(field python3-rlcc Depends)
    for dep in librlcc1 python3-numpy python3-scipy python3; do
        echo "$f" | grep -qw "$dep" || { say "python3-rlcc Depends lacks $dep: $f"; return 1; }
    done
    f=$(field python3-rlcc Recommends)
    echo "$f" | grep -qw python3-sklearn || { say "python3-rlcc Recommends: $f"; return 1; }
    for pkg in librlcc-mpi1 librlcc-mpi-dev; do
        f=$(field $pkg Multi-Arch); [ "$f" = same ] || { say "$pkg Multi-Arch: $f"; return 1; }
    done
    f=$(field librlcc-mpi1 Section); [ "$f" = libs ] || { say "librlcc-mpi1 Section: $f"; return 1; }
    f=$(field librlcc-mpi-dev Section); [ "$f" = libdevel ] || { say "librlcc-mpi-dev Section: $f"; return 1; }
    # librlcc_mpi.so.1 needs librlcc.so.1 and Open MPI's libmpi.so.40 (shlibs)
    f=$(field librlcc-mpi1 Depends)
    for dep in librlcc1 libopenmpi3; do
        echo "$f" | grep -qw "$dep" || { say "librlcc-mpi1 Depends lacks $dep: $f"; return 1; }
    done
    f=$(field librlcc-mpi-dev Depends)
    for dep in "librlcc-mpi1 (= $VERSION)" "librlcc-dev (= $VERSION)" libopenmpi-dev; do
        echo "$f" | grep -qF "$dep" || { say "librlcc-mpi-dev Depends lacks $dep: $f"; return 1; }
    done
}
check "package relationships (each -dev = its library $VERSION, librlcc-mpi1 on librlcc1 and Open MPI, python3-rlcc on librlcc1, numpy, scipy)" relations

installable_together() {
    # Every versioned relationship of one of the six to another is met by the
    # version built beside it, or apt could not install them together.
    local pkg dep name op ver bad=0
    for pkg in $PACKAGES; do
        dpkg-deb -f "$(deb_of $pkg)" Pre-Depends Depends Recommends | sed 's/^[A-Za-z-]*: //' |
            tr ',|' '\n\n' | sed 's/^ *//; s/ *$//' | grep -v '^$' >"$WORK/deps.$pkg"
        while IFS= read -r dep; do
            name=${dep%% *}
            name=${name%%:*}
            case " $PACKAGES " in *" $name "*) ;; *) continue ;; esac
            say "$pkg: $dep"
            case $dep in *"("*) ;; *) continue ;; esac
            op=$(echo "$dep" | sed -n 's/.*(\([<>=]*\) *\([^)]*\)).*/\1/p')
            ver=$(echo "$dep" | sed -n 's/.*(\([<>=]*\) *\([^)]*\)).*/\2/p')
            if ! dpkg --compare-versions "$VERSION" "$op" "$ver"; then
                say "  not met by $name $VERSION"
                bad=1
            fi
        done <"$WORK/deps.$pkg"
    done
    [ $bad -eq 0 ] ||
        say "a package needs symbols of a newer librlcc than $VERSION: the release bumps include/rlcc.h and debian/changelog"
    [ $bad -eq 0 ]
}
check "the six packages' relationships to each other are met by the versions built ($VERSION)" installable_together

# ---- the extracted packages ---------------------------------------------------
extract() {
    local pkg
    for pkg in $PACKAGES; do
        dpkg-deb -x "$(deb_of $pkg)" "$DEST" || { say "dpkg-deb -x $pkg failed"; return 1; }
    done
}
check "the six packages extracted into a temporary root (dpkg-deb -x)" extract

no_runpath() {
    local f elves=0 dyn
    while IFS= read -r -d '' f; do
        [ "$(head -c 4 "$f" | od -An -c | tr -d ' ')" = 177ELF ] || continue
        elves=$((elves + 1))
        dyn=$(readelf -d "$f") || { say "readelf -d ${f#"$DEST"} failed"; return 1; }
        if echo "$dyn" | grep -E '\((RUNPATH|RPATH)\)'; then
            say "${f#"$DEST"} carries a search path"
            return 1
        fi
        say "${f#"$DEST"}: no RUNPATH/RPATH"
    done < <(find "$DEST" -type f \( -name '*.so*' -o -path '*/bin/*' \) -print0)
    [ $elves -ge 3 ] ||
        { say "found $elves ELF files, expected librlcc.so.$VERSION, librlcc_mpi.so.$MPI_VERSION and rlcc"; return 1; }
    readelf -d "$DEST$LIBDIR/librlcc.so.$VERSION" | grep -F 'Library soname: [librlcc.so.1]' ||
        { say "SONAME is not librlcc.so.1"; return 1; }
    readelf -d "$DEST$LIBDIR/librlcc_mpi.so.$MPI_VERSION" | grep -F 'Library soname: [librlcc_mpi.so.1]' ||
        { say "librlcc_mpi's SONAME is not librlcc_mpi.so.1"; return 1; }
}
check "readelf -d: librlcc.so.$VERSION (SONAME librlcc.so.1), librlcc_mpi.so.$MPI_VERSION (librlcc_mpi.so.1) and rlcc carry no RUNPATH/RPATH" no_runpath

exports() {   # LIBRARY-FILE PACKAGE
    # The packaged library's exported symbols, name@version, against the
    # package's symbols file (dpkg-gensymbols -c4 enforces it in the build too).
    local so=$DEST$LIBDIR/$1
    [ -f "$so" ] || { say "no $so"; return 1; }
    # (a version node is an ABS symbol of its own name: NODE@NODE, as
    # dpkg-gensymbols lists it)
    readelf --dyn-syms -W "$so" | awk '
        $7 == "ABS" && $8 !~ /@/ && $5 == "GLOBAL" { print $8 "@" $8; next }
        $7 != "UND" && $8 ~ /@/ { sub(/@@/, "@", $8); print $8 }' |
        LC_ALL=C sort >"$WORK/exports" || return 1
    awk 'NR > 2 && /^ / { print $1 }' "$SRC/debian/$2.symbols" | LC_ALL=C sort >"$WORK/listed"
    [ -s "$WORK/exports" ] || { say "no versioned exports read"; return 1; }
    diff -u "$WORK/listed" "$WORK/exports"
}
check "the packaged librlcc.so.$VERSION exports exactly the symbols of debian/librlcc1.symbols" \
    exports "librlcc.so.$VERSION" librlcc1
check "the packaged librlcc_mpi.so.$MPI_VERSION exports exactly the symbols of debian/librlcc-mpi1.symbols" \
    exports "librlcc_mpi.so.$MPI_VERSION" librlcc-mpi1

no_build_path() {
    # The folder the packages were built in appears in none of their files
    # (rlcc.pc, the CMake package, the binaries).
    if grep -rlF "$SRC" "$DEST"; then
        say "the files above name the build folder $SRC"
        return 1
    fi
    [ -n "$(ls -A "$DEST")" ] || { say "nothing extracted"; return 1; }
}
check "no packaged file names the build folder" no_build_path

# PKG_CONFIG_SYSROOT_DIR puts the extracted tree in front of rlcc.pc's
# /usr paths; the system's own .pc files stay reachable for dependencies.
pc() {
    PKG_CONFIG_SYSROOT_DIR=$DEST \
    PKG_CONFIG_LIBDIR=$DEST$LIBDIR/pkgconfig:$DEST/usr/share/pkgconfig:$LIBDIR/pkgconfig:/usr/share/pkgconfig \
        pkg-config "$@"
}
cat >"$WORK/app.c" <<'EOF'
#include <stdio.h>
#include "rlcc.h"

int main(void)
{
    const float x[6] = {0.0f, 0.5f, 1.0f, 10.0f, 10.5f, 40.0f};
    int32_t labels[6];
    int64_t clusters = 0;
    if (rlcc_version_number() != RLCC_VERSION_NUMBER) {
        fprintf(stderr, "header %s, library %s\n", RLCC_VERSION_STRING, rlcc_version_string());
        return 1;
    }
    int rc = rlcc_dbscan_features(x, 6, 1, 1, 0.6, 2, NULL, labels, &clusters, NULL, NULL);
    if (rc != RLCC_OK) {
        fprintf(stderr, "%s\n", rlcc_last_error());
        return 1;
    }
    printf("librlcc %s: %lld clusters:", rlcc_version_string(), (long long)clusters);
    for (int i = 0; i < 6; i++)
        printf(" %d", labels[i]);
    printf("\n");
    return 0;
}
EOF
APP_EXPECTED="librlcc $VERSION: 2 clusters: 0 0 0 1 1 -1"

c_program() {   # COMPILER shared|static
    local cc=$1 kind=$2 exe=$WORK/app-$1-$2 flags out
    pc --exists rlcc || { say "pkg-config finds no rlcc in $DEST"; pc --debug rlcc 2>&1 | tail; return 1; }
    if [ "$kind" = shared ]; then
        flags=$(pc --cflags --libs rlcc) || return 1
    else
        # the archive by name, then what rlcc.pc says a static link needs
        flags=$(pc --static --cflags --libs rlcc | sed 's/-lrlcc\( \|$\)/-l:librlcc.a /') || return 1
    fi
    say "$cc app.c $flags"
    (cd "$WORK" && $cc -std=c11 app.c $flags -o "$exe") || { say "does not build"; return 1; }
    if [ "$kind" = shared ]; then
        LD_LIBRARY_PATH=$DEST$LIBDIR ldd "$exe" | grep -F "librlcc.so.1 => $DEST$LIBDIR/librlcc.so.1" ||
            { say "librlcc.so.1 does not resolve into the extracted tree"; LD_LIBRARY_PATH=$DEST$LIBDIR ldd "$exe"; return 1; }
        out=$(cd "$EMPTY" && LD_LIBRARY_PATH=$DEST$LIBDIR "$exe") || { say "runs and fails: $out"; return 1; }
    else
        if readelf -d "$exe" | grep -F librlcc; then say "a static link needs librlcc.so"; return 1; fi
        out=$(cd "$EMPTY" && "$exe") || { say "runs and fails: $out"; return 1; }
    fi
    say "prints: $out"
    [ "$out" = "$APP_EXPECTED" ] || { say "expected: $APP_EXPECTED"; return 1; }
}
check "a C program built with gcc and pkg-config rlcc runs against the extracted librlcc.so.1" c_program gcc shared
check "a C program built with clang and pkg-config rlcc runs against the extracted librlcc.so.1" c_program clang shared
check "a C program built with gcc and pkg-config --static rlcc (librlcc.a) runs" c_program gcc static

# examples/mpi_knn.c as docs/scale-out.md builds it, through the extracted
# rlcc_mpi.pc and rlcc.pc. PKG_CONFIG_SYSROOT_DIR would also move Open MPI's
# own -I and -L (ompi-c.pc, which rlcc_mpi.pc requires) into the extracted
# tree, so the two files are copied with their /usr paths moved there instead.
# Row 0's five nearest rows among the 400 of two ranks, and every neighbour's
# identity, as rlcc_knn() gives them on the whole matrix (checked with NumPy
# in double: no near-tie).
MPI_EXPECTED="2 ranks: row 0's neighbours 0 340 100 240 200; 2000 of 2000 neighbours share their row's identity"
mpi_program() {
    local exe=$WORK/mpi_knn pcdir=$WORK/pkgconfig-moved f flags out
    mkdir -p "$pcdir"
    for f in rlcc.pc rlcc_mpi.pc; do
        [ -f "$DEST$LIBDIR/pkgconfig/$f" ] || { say "no $LIBDIR/pkgconfig/$f extracted"; return 1; }
        sed "s#^\(prefix\|libdir\|includedir\)=/usr#\1=$DEST/usr#" "$DEST$LIBDIR/pkgconfig/$f" >"$pcdir/$f"
    done
    flags=$(PKG_CONFIG_LIBDIR=$pcdir:$LIBDIR/pkgconfig:/usr/share/pkgconfig \
        pkg-config --cflags --libs rlcc_mpi) || { say "pkg-config rlcc_mpi fails"; return 1; }
    say "gcc mpi_knn.c $flags -lm"
    gcc -std=c11 "$SRC/examples/mpi_knn.c" $flags -lm -o "$exe" || { say "does not build"; return 1; }
    LD_LIBRARY_PATH=$DEST$LIBDIR ldd "$exe" >"$WORK/mpi.ldd"
    cat "$WORK/mpi.ldd"
    for f in librlcc_mpi.so.1 librlcc.so.1; do
        grep -qF "$f => $DEST$LIBDIR/$f" "$WORK/mpi.ldd" ||
            { say "$f does not resolve into the extracted tree"; return 1; }
    done
    # root may run mpirun here (a CI container); more ranks than cores is fine
    out=$(cd "$EMPTY" && LD_LIBRARY_PATH=$DEST$LIBDIR OMPI_ALLOW_RUN_AS_ROOT=1 \
        OMPI_ALLOW_RUN_AS_ROOT_CONFIRM=1 timeout 120 mpirun --oversubscribe --bind-to none \
        -x LD_LIBRARY_PATH -np 2 "$exe" 2>"$WORK/mpi.err") ||
        { cat "$WORK/mpi.err"; say "mpirun -np 2 fails: $out"; return 1; }
    say "prints: $out"
    [ "$out" = "$MPI_EXPECTED" ] || { cat "$WORK/mpi.err"; say "expected: $MPI_EXPECTED"; return 1; }
}
check "examples/mpi_knn.c built with gcc and pkg-config rlcc_mpi runs under mpirun -np 2 against the extracted librlcc_mpi.so.1" \
    mpi_program

cli_version() {
    local out
    out=$(cd "$EMPTY" && LD_LIBRARY_PATH=$DEST$LIBDIR "$DEST/usr/bin/rlcc" --version) ||
        { say "rlcc --version failed: $out"; return 1; }
    say "prints: $out"
    [ "$out" = "rlcc $VERSION" ] || { say "expected: rlcc $VERSION"; return 1; }
    LD_LIBRARY_PATH=$DEST$LIBDIR ldd "$DEST/usr/bin/rlcc" | grep -F "librlcc.so.1 => $DEST$LIBDIR/" ||
        { say "rlcc does not load the extracted librlcc.so.1"; return 1; }
}
check "the extracted rlcc --version prints rlcc $VERSION" cli_version

man_page() {
    local page=$DEST/usr/share/man/man1/rlcc.1.gz out
    [ -f "$page" ] || { say "no $page"; return 1; }
    out=$(MANWIDTH=80 man --warnings -l "$page" 2>"$WORK/man.err") || { cat "$WORK/man.err"; return 1; }
    [ ! -s "$WORK/man.err" ] || { cat "$WORK/man.err"; say "man -l warns"; return 1; }
    echo "$out" | head -n 5
    echo "$out" | grep -q '^NAME' && echo "$out" | grep -q 'rlcc'
}
check "man --warnings -l renders the packaged rlcc(1) without a warning" man_page

cat >"$WORK/import.py" <<'EOF'
import os
import sys

import numpy as np

import rlcc

root = os.environ["DEST"]
where = os.path.dirname(rlcc.__file__)
if where != root + os.environ["PYDIR"]:
    sys.exit(f"rlcc imported from {where}, not from the extracted package")
loaded = sorted({line.split()[-1] for line in open("/proc/self/maps") if "librlcc.so" in line})
if not loaded or not all(path.startswith(root + "/") for path in loaded):
    sys.exit(f"librlcc loaded from {loaded}, not from the extracted librlcc1")
x = np.array([[0.0], [0.5], [1.0], [10.0], [10.5], [40.0]], dtype=np.float32)
labels = rlcc.dbscan(x, eps=0.6, min_samples=2)
if labels.tolist() != [0, 0, 0, 1, 1, -1]:
    sys.exit(f"labels {labels.tolist()}")
print(rlcc.__version__, rlcc.library_version(), loaded[0])
EOF
python_import() {   # how the library is found: RLCC_LIBRARY or soname
    local out env
    if [ "$1" = RLCC_LIBRARY ]; then
        env=(RLCC_LIBRARY="$DEST$LIBDIR/librlcc.so.1")
    else
        env=(LD_LIBRARY_PATH="$DEST$LIBDIR")
    fi
    out=$(cd "$EMPTY" && env -u RLCC_LIBRARY "${env[@]}" DEST="$DEST" PYDIR="$PYDIR" \
        PYTHONPATH="$DEST/usr/lib/python3/dist-packages" "$PYTHON" -s "$WORK/import.py") ||
        { say "$out"; return 1; }
    say "prints: $out"
    [ "${out%% /*}" = "$VERSION $VERSION" ] || { say "expected versions $VERSION $VERSION"; return 1; }
}
check "python3: import rlcc from the extracted package, RLCC_LIBRARY at the extracted library" \
    python_import RLCC_LIBRARY
check "python3: import rlcc from the extracted package finds librlcc.so.1 by its SONAME (LD_LIBRARY_PATH)" \
    python_import soname

echo "deb: $passed passed, $failed failed"
[ $failed -eq 0 ]
