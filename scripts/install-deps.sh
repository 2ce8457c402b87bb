#!/bin/sh
# Installs the Debian packages librlcc needs, by tier. The one list of the
# project's dependencies: add to it, never install elsewhere.
#
#   scripts/install-deps.sh [TIER]     install what TIER needs and is missing
#                                      (runs apt-get as root; as another user it
#                                      prints the exact command and fails)
#   scripts/install-deps.sh --list     print every tier and its packages
#   scripts/install-deps.sh --list TIER  print TIER's packages (with the tiers below it)
#
# Tiers, each including the ones before it:
#   build  compile and run the C library and the CLI (make, make demo, make install)
#   check  every test suite of make check: sanitizers, valgrind, the three
#          bindings and their toolchains, the install and package tests
#   bench  make bench: the peers librlcc is measured against
# make check-fresh needs one more host tool, debootstrap (tier "fresh"), which
# is not part of check or bench: it only builds the bare roots.
set -eu

BUILD="
make
clang
gcc
libomp-dev
libopenblas-dev
pkg-config
"

# libclang-rt-14-dev: ASan/UBSan/TSan/libFuzzer runtimes; abigail-tools: abidiff;
# g++ and cmake: the C++ and CMake programs built against an install;
# cargo, rustc, rust-clippy: Debian's Rust 1.63 (a newer rustup toolchain already
# on the machine is used instead when it is first in PATH); golang-go: Go 1.19;
# python3-hypothesis: the property-based tests of the Python binding
# (tests/python/test_properties.py); patchelf: the Python wheel vendors its
# libraries; dpkg-dev, debhelper, dh-python,
# fakeroot, lintian: the Debian packages; man-db: `man -l` renders rlcc(1);
# python3-faiss: faiss 1.7.3, the reference of rlcc_kmeans_init_faiss's start
# rows and of the k-means runs from it (tests/python/test_kmeans.py), also a
# peer of make bench; libopenmpi-dev, openmpi-bin: OpenMPI 4.1, which
# librlcc_mpi is built against and tested under (mpirun); python3-mpi4py: the
# mpi4py transport of rlcc.distributed.
CHECK="
libclang-rt-14-dev
abigail-tools
valgrind
g++
cmake
python3
python3-numpy
python3-scipy
python3-sklearn
python3-pytest
python3-hypothesis
python3-venv
python3-pip
python3-setuptools
python3-wheel
python3-torch
patchelf
cargo
rustc
rust-clippy
golang-go
doxygen
dpkg-dev
debhelper
dh-python
fakeroot
lintian
man-db
git
python3-faiss
libopenmpi-dev
openmpi-bin
python3-mpi4py
"

# r-base-core, r-cran-dbscan: R's dbscan package, a peer of the low-dimensional
# DBSCAN benchmark (bench/bench_lowdim.py) and the source of its DS3 data set.
BENCH="
r-base-core
r-cran-dbscan
"

FRESH="
debootstrap
"

tier_packages() { # TIER
    case "$1" in
        build) echo $BUILD ;;
        check) echo $BUILD $CHECK ;;
        bench) echo $BUILD $CHECK $BENCH ;;
        fresh) echo $FRESH ;;
        *) echo "install-deps.sh: unknown tier '$1' (build, check, bench, fresh)" >&2; return 2 ;;
    esac
}

if [ "${1:-}" = "--list" ]; then
    if [ -n "${2:-}" ]; then
        tier_packages "$2"
        exit
    fi
    echo "build:" $BUILD
    echo "check:" $CHECK
    echo "bench:" $BENCH
    echo "fresh:" $FRESH
    exit 0
fi

tier=${1:-check}
packages=$(tier_packages "$tier")

missing=""
for pkg in $packages; do
    status=$(dpkg-query -W -f='${Status}' "$pkg" 2>/dev/null || true)
    case "$status" in
        *"install ok installed"*) ;;
        *) missing="$missing $pkg" ;;
    esac
done

if [ -z "$missing" ]; then
    exit 0
fi

if [ "$(id -u)" -ne 0 ]; then
    echo "librlcc: missing Debian packages ($tier tier):$missing" >&2
    echo "librlcc: run as root:  apt-get update && apt-get install -y$missing" >&2
    exit 1
fi

echo "librlcc: installing Debian packages ($tier tier):$missing" >&2
apt-get update -qq >&2
DEBIAN_FRONTEND=noninteractive apt-get install -y -qq $missing >&2
