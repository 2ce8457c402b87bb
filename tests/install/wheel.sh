#!/bin/bash
# The Python wheel, as a user gets it: built offline from a copy of the
# checkout with nothing built, it carries librlcc.so.1 and the non-glibc
# libraries it loads (renamed, runpath $ORIGIN), installs into a venv, and
# `import rlcc` works from / with no variable set, without importing
# scikit-learn. When no library loads, the message names every place tried.
#
#   tests/install/wheel.sh          (PYTHON=/usr/bin/python3 by default)
#
# One line per check ("  ok   ..." or "  FAIL ..." with the tail of its log),
# then "wheel: <N> passed, <M> failed"; the exit status is 1 if any failed.

set -u
top=$(cd "$(dirname "$0")/../.." && pwd)
PYTHON=${PYTHON:-/usr/bin/python3}
work=$(mktemp -d "${TMPDIR:-/tmp}/rlcc-wheel.XXXXXX")
trap 'rm -rf "$work"' EXIT
passed=0
failed=0

# check WHAT STATUS [LOG]: STATUS 0 is a pass.
check() {
    if [ "$2" -eq 0 ]; then
        echo "  ok   $1"
        passed=$((passed + 1))
    else
        echo "  FAIL $1"
        if [ -n "${3:-}" ] && [ -s "$3" ]; then
            tail -n 25 "$3" | sed 's/^/       /'
        fi
        failed=$((failed + 1))
    fi
}

finish() {
    echo "wheel: $passed passed, $failed failed"
    [ "$failed" -eq 0 ]
    exit
}

# copy_checkout DEST: the tracked files plus untracked, not ignored ones, as
# they are in the working tree (a clone of the current state, nothing built).
copy_checkout() {
    mkdir -p "$1"
    (cd "$top" && git ls-files -z -co --exclude-standard \
        | while IFS= read -r -d '' f; do
            if [ -e "$f" ] || [ -L "$f" ]; then printf '%s\0' "$f"; fi
        done | tar --null -T - -cf -) | tar -xf - -C "$1"
}

# A clean environment: none of the variables that could find a library for us.
clean_env() {
    env -u RLCC_LIBRARY -u PYTHONPATH -u LD_LIBRARY_PATH -u LD_PRELOAD -u PYTHONHOME "$@"
}

src=$work/src
copy_checkout "$src" 2>"$work/copy.log"
[ -f "$src/Makefile" ] && [ -f "$src/bindings/python/setup.py" ] && [ ! -e "$src/lib" ] \
    && [ ! -e "$src/build" ] && [ ! -e "$src/bindings/python/build" ]
check "a copy of the checkout with nothing built ($(cd "$src" && find . -type f | wc -l) files)" $? \
    "$work/copy.log"

# ---- the build ---------------------------------------------------------------
(cd "$src" && env -u RLCC_BUNDLE -u PIP_FIND_LINKS -u PIP_INDEX_URL -u PIP_EXTRA_INDEX_URL \
    "$PYTHON" -m pip wheel --no-build-isolation --no-deps --no-index -w "$work/dist" \
    bindings/python) >"$work/build.log" 2>&1
status=$?
wheels=("$work"/dist/*.whl)
[ "$status" -eq 0 ] && [ "${#wheels[@]}" -eq 1 ] && [ -f "${wheels[0]}" ]
check "pip wheel --no-build-isolation --no-index bindings/python builds one wheel (offline)" $? \
    "$work/build.log"
if [ ! -f "${wheels[0]}" ]; then
    check "the remaining checks need a wheel" 1
    finish
fi
whl=${wheels[0]}
name=$(basename "$whl")

case $name in
    rlcc-*-py3-none-linux_x86_64.whl) status=0 ;;
    *) status=1 ;;
esac
"$PYTHON" - "$whl" >"$work/tag.log" 2>&1 <<'EOF' || status=1
import sys, zipfile
with zipfile.ZipFile(sys.argv[1]) as z:
    meta = [n for n in z.namelist() if n.endswith(".dist-info/WHEEL")]
    text = z.read(meta[0]).decode()
print(text)
assert "Tag: py3-none-linux_x86_64" in text.splitlines(), "tag"
assert "Root-Is-Purelib: false" in text.splitlines(), "purelib"
EOF
check "a platform wheel: $name, Tag py3-none-linux_x86_64, not purelib ($(du -k "$whl" | cut -f1) KB)" \
    "$status" "$work/tag.log"

unpacked=$work/unpacked
"$PYTHON" -m zipfile -e "$whl" "$unpacked" >"$work/unzip.log" 2>&1
libdir=$unpacked/rlcc/_lib
[ -f "$libdir/librlcc.so.1" ] && [ ! -L "$libdir/librlcc.so.1" ]
check "rlcc/_lib/librlcc.so.1 is in the wheel (a file, not a link)" $? "$work/unzip.log"

# The vendored ones: what the library built in the copy loads, minus glibc,
# each renamed <stem>-<first 8 hex of sha256 of the original>.so.N.
glibc_re='^(libc\.so|libm\.so|libpthread\.so|libdl\.so|librt\.so|libutil\.so|libresolv\.so|libanl\.so|libmvec\.so|libnsl\.so|ld-linux|linux-vdso)'
ldd "$src/lib/librlcc.so.1" >"$work/ldd-built.log" 2>&1
vendored=()
while read -r soname _ path _; do
    [ -n "$path" ] || continue
    if [[ $soname =~ $glibc_re ]]; then continue; fi
    hash=$(sha256sum "$(readlink -f "$path")" | cut -c1-8)
    stem=${soname%%.so*}
    want=$stem-$hash.so${soname#*.so}
    vendored+=("$want")
    [ -f "$libdir/$want" ] && [ ! -L "$libdir/$want" ]
    check "vendored: $soname ($(readlink -f "$path")) as rlcc/_lib/$want" $? "$work/ldd-built.log"
done < <(grep '=>' "$work/ldd-built.log")
names=" ${vendored[*]} "
status=0
for must in libopenblas libomp libgfortran libquadmath; do
    [[ $names == *" $must-"* ]] || status=1
done
extra=$(cd "$libdir" 2>/dev/null && ls | grep -v -x -F -e librlcc.so.1 -e LICENSES \
    $(printf -- '-e %s ' "${vendored[@]}"))
[ -z "$extra" ] || status=1
check "OpenBLAS, libomp, libgfortran and libquadmath are among them, nothing else in rlcc/_lib${extra:+ (extra: $extra)}" \
    "$status"

# Every ELF file in the wheel: RUNPATH exactly $ORIGIN, no RPATH, no path in
# NEEDED / SONAME / RUNPATH, and a vendored library's SONAME is its file name.
while IFS= read -r so; do
    rel=${so#"$unpacked"/}
    readelf -d "$so" >"$work/readelf.log" 2>&1
    status=$?
    runpath=$(sed -n 's/.*(RUNPATH).*\[\(.*\)\]$/\1/p' "$work/readelf.log")
    soname=$(sed -n 's/.*(SONAME).*\[\(.*\)\]$/\1/p' "$work/readelf.log")
    [ "$runpath" = '$ORIGIN' ] || status=1
    grep -q '(RPATH)' "$work/readelf.log" && status=1
    grep -E '\((NEEDED|SONAME|RUNPATH)\)' "$work/readelf.log" | grep -q '\[[^]]*/' && status=1
    [ "$soname" = "$(basename "$so")" ] || status=1
    check "readelf -d $rel: RUNPATH \$ORIGIN, SONAME $soname, no build-machine path" "$status" \
        "$work/readelf.log"
done < <(find "$unpacked" -type f -regex '.*\.so\(\.[0-9]+\)*' | sort)

# ldd on the unpacked library: nothing missing, every non-glibc library from
# the wheel's own folder.
clean_env ldd "$libdir/librlcc.so.1" >"$work/ldd.log" 2>&1
status=$?
grep -q 'not found' "$work/ldd.log" && status=1
inside=0
while read -r soname _ path _; do
    if [[ $soname =~ $glibc_re ]]; then continue; fi
    case $path in
        "$libdir"/*) inside=$((inside + 1)) ;;
        *) status=1 ;;
    esac
done < <(grep '=>' "$work/ldd.log")
[ "$inside" -eq "${#vendored[@]}" ] && [ "$inside" -ge 4 ] || status=1
check "ldd on the unpacked librlcc.so.1: nothing not found, all $inside non-glibc libraries inside the wheel" \
    "$status" "$work/ldd.log"

# ---- bindings/python alone, outside a checkout ------------------------------------
alone=$work/alone
mkdir -p "$alone" && cp -r "$src/bindings/python" "$alone/python" && rm -rf "$alone/python/build" \
    "$alone"/python/*.egg-info
(cd "$alone" && env -u RLCC_BUNDLE -u PIP_FIND_LINKS "$PYTHON" -m pip wheel --no-build-isolation \
    --no-deps --no-index -w "$alone/pure" ./python) >"$work/alone.log" 2>&1
status=$?
pure=("$alone"/pure/*.whl)
case $(basename "${pure[0]}") in rlcc-*-py3-none-any.whl) ;; *) status=1 ;; esac
"$PYTHON" -m zipfile -e "${pure[0]}" "$alone/unpacked" >>"$work/alone.log" 2>&1 || status=1
[ -e "$alone/unpacked/rlcc/_lib" ] && status=1
(cd / && clean_env RLCC_LIBRARY="$src/lib/librlcc.so.1" PYTHONPATH="$alone/unpacked" "$PYTHON" -c '
import sys, rlcc
from rlcc import _native
print("loaded", _native.library_path)
assert _native.library_path.startswith(sys.argv[1]), sys.argv
assert rlcc.dbscan([[0.0], [0.5], [9.0]], eps=0.6, min_samples=2).tolist() == [0, 0, -1]
' "$src/lib/") >>"$work/alone.log" 2>&1 || status=1
check "bindings/python alone (outside a checkout): a pure py3-none-any wheel, no rlcc/_lib, loads RLCC_LIBRARY" \
    "$status" "$work/alone.log"

(cd "$alone" && env -u PIP_FIND_LINKS RLCC_BUNDLE="$src/lib/librlcc.so.1" "$PYTHON" -m pip wheel \
    --no-build-isolation --no-deps --no-index -w "$alone/bundled" ./python) >"$work/bundle.log" 2>&1
status=$?
again=("$alone"/bundled/*.whl)
[ "$(basename "${again[0]}")" = "$name" ] || status=1
"$PYTHON" - "${again[0]}" "$whl" >>"$work/bundle.log" 2>&1 <<'EOF' || status=1
import sys, zipfile
a, b = ({n for n in zipfile.ZipFile(w).namelist() if "/_lib/" in n} for w in sys.argv[1:])
print(sorted(a))
assert a == b and len(a) >= 6, a ^ b
EOF
check "outside a checkout with RLCC_BUNDLE=<a built librlcc.so.1>: the same platform wheel and rlcc/_lib" \
    "$status" "$work/bundle.log"

# ---- installed into a venv -----------------------------------------------------
venv=$work/venv
"$PYTHON" -m venv --system-site-packages "$venv" >"$work/venv.log" 2>&1 \
    && env -u PIP_FIND_LINKS "$venv/bin/pip" install --no-index --no-deps "$whl" >>"$work/venv.log" 2>&1
check "pip install --no-index --no-deps the wheel into a venv (--system-site-packages)" $? \
    "$work/venv.log"
site=$("$venv/bin/python" -c 'import sysconfig; print(sysconfig.get_paths()["platlib"])' 2>/dev/null)

# run_py LOG SCRIPT [ENV...]: the venv's python from /, clean environment.
run_py() {
    local log=$1 script=$2
    shift 2
    (cd / && clean_env "$@" "$venv/bin/python" -c "$script") >"$log" 2>&1
}

run_py "$work/run.log" '
import sys
import numpy as np
import rlcc
assert "site-packages" in rlcc.__file__ and rlcc.__file__.startswith(sys.prefix), rlcc.__file__
x = np.array([[0.0], [0.5], [1.0], [10.0], [10.5], [40.0]], dtype=np.float32)
labels = rlcc.dbscan(x, eps=0.6, min_samples=2)
print("labels", labels.tolist(), "version", rlcc.library_version())
assert labels.tolist() == [0, 0, 0, 1, 1, -1], labels
assert rlcc.library_version() == rlcc.__version__
'
check "from / with no RLCC_LIBRARY, PYTHONPATH, LD_LIBRARY_PATH: import rlcc, rlcc.dbscan gives [0 0 0 1 1 -1]" \
    $? "$work/run.log"

run_py "$work/maps.log" '
import sys, rlcc
from rlcc import _native
maps = {line.split()[-1] for line in open("/proc/self/maps") if "/" in line}
ours = sorted(p for p in maps if "librlcc" in p)
vendored = sorted(p for p in maps if any(s in p for s in ("libopenblas-", "libomp-", "libgfortran-")))
print("library_path", _native.library_path)
print("mapped librlcc", ours)
print("mapped vendored", vendored)
want = _native.VENDORED
assert ours == [str(want)], (ours, want)
assert _native.library_path == str(want), _native.library_path
assert len(vendored) >= 3 and all(p.startswith(str(want.parent) + "/") for p in vendored), vendored
'
check "the library loaded is the wheel's ($site/rlcc/_lib/librlcc.so.1 and its vendored OpenBLAS, libomp, libgfortran, per /proc/self/maps)" \
    $? "$work/maps.log"

run_py "$work/lazy.log" '
import sys, rlcc
heavy = [m for m in ("sklearn", "scipy.sparse", "torch") if m in sys.modules]
print("imported with rlcc:", heavy)
assert not heavy, heavy
'
check "import rlcc imports neither sklearn nor scipy.sparse (nor torch)" $? "$work/lazy.log"

run_py "$work/estimator.log" '
import sys, numpy as np, rlcc
assert "DBSCAN" in dir(rlcc) and "DBSCAN" in rlcc.__all__
x = np.array([[0.0], [0.5], [1.0], [10.0], [10.5], [40.0]], dtype=np.float32)
labels = rlcc.DBSCAN(eps=0.6, min_samples=2).fit(x).labels_
assert labels.tolist() == [0, 0, 0, 1, 1, -1], labels
assert "sklearn" in sys.modules
from rlcc import DBSCAN
assert DBSCAN is rlcc.DBSCAN
from sklearn.base import BaseEstimator
assert issubclass(DBSCAN, BaseEstimator)
f = np.random.default_rng(0).normal(size=(50, 8)).astype(np.float32)
graph = rlcc.jaccard_distance(f / np.linalg.norm(f, axis=1, keepdims=True), k1=5, k2=2)
import scipy.sparse as sp
assert sp.issparse(graph) and graph.shape == (50, 50), graph
print("ok", labels.tolist(), type(graph).__name__)
'
check "rlcc.DBSCAN, from rlcc import DBSCAN and the sparse results work on first use" $? \
    "$work/estimator.log"

# ---- when the library cannot be loaded -------------------------------------------
run_py "$work/explicit.log" 'import rlcc' RLCC_LIBRARY=/nonexistent/librlcc.so.1
status=$?
[ "$status" -ne 0 ] && grep -q 'ImportError: rlcc: cannot load librlcc.so.1' "$work/explicit.log" \
    && grep -q 'RLCC_LIBRARY: /nonexistent/librlcc.so.1: cannot open shared object file' "$work/explicit.log" \
    && grep -q 'unset it' "$work/explicit.log"
check "RLCC_LIBRARY=/nonexistent: ImportError names it, why it failed, and that it is tried alone" $? \
    "$work/explicit.log"

# Is there a system librlcc.so.1 the last step would find? Then a failure
# cannot be provoked honestly, and the fallback to it is what is checked.
system=$(cd / && clean_env "$PYTHON" -c '
import ctypes, os
lib = ctypes.CDLL("librlcc.so.1")
print(os.path.realpath(next(l.split()[-1] for l in open("/proc/self/maps") if "librlcc" in l)))
' 2>/dev/null)

# A checkout with nothing built, imported from its source: no wheel copy, no lib/.
bare=$work/bare
copy_checkout "$bare" 2>/dev/null
# import_from DIR LOG: import rlcc with DIR as the only PYTHONPATH, from /;
# prints "loaded PATH" into LOG, or the ImportError.
import_from() {
    (cd / && clean_env PYTHONPATH="$1" "$PYTHON" -c 'import rlcc; from rlcc import _native; print("loaded", _native.library_path)') \
        >"$2" 2>&1
}
import_from "$bare/bindings/python" "$work/bare.log"
status=$?
if [ -z "$system" ]; then
    [ "$status" -ne 0 ] \
        && grep -q "the wheel's copy: $bare/bindings/python/rlcc/_lib/librlcc.so.1: not there" "$work/bare.log" \
        && grep -q "the checkout's build: $bare/lib/librlcc.so.1: not built (run \`make -C $bare\`)" "$work/bare.log" \
        && grep -q "the system: librlcc.so.1: .*cannot open shared object file" "$work/bare.log" \
        && grep -q "Fix: set RLCC_LIBRARY" "$work/bare.log" && grep -q "make install" "$work/bare.log" \
        && grep -q "install the rlcc wheel" "$work/bare.log"
    check "a checkout with nothing built: ImportError lists the wheel's copy, lib/ and the system, why each failed, and the fixes" \
        $? "$work/bare.log"
else
    [ "$status" -eq 0 ] && grep -q "^loaded $system$" "$work/bare.log"
    check "a checkout with nothing built falls back to the system's librlcc ($system)" $? "$work/bare.log"
fi

# The wheel's copy present but broken (its OpenBLAS removed): the reason is
# the dynamic loader's, naming the missing file.
broken=$work/broken
mkdir -p "$broken" && cp -r "$site/rlcc" "$broken/" && rm -f "$broken"/rlcc/_lib/libopenblas-*.so.0
import_from "$broken" "$work/broken.log"
status=$?
if [ -z "$system" ]; then
    [ "$status" -ne 0 ] \
        && grep -q "the wheel's copy: $broken/rlcc/_lib/librlcc.so.1: libopenblas-[0-9a-f]\{8\}\.so\.0: cannot open shared object file" "$work/broken.log" \
        && grep -q "the checkout's build: $broken/rlcc is not inside a librlcc checkout" "$work/broken.log"
    check "the wheel's copy with its OpenBLAS removed: the message names the missing libopenblas-<hash>.so.0" \
        $? "$work/broken.log"
else
    [ "$status" -eq 0 ] && grep -q "^loaded $system$" "$work/broken.log"
    check "the wheel's copy with its OpenBLAS removed falls back to the system's librlcc ($system)" $? \
        "$work/broken.log"
fi

finish
