#!/bin/sh
# Installs every Debian package librlcc needs to build, test, benchmark and demo.
# The one list of the project's dependencies: add to it, never install elsewhere.
#   scripts/install-deps.sh          install what is missing (runs apt-get as root)
#   scripts/install-deps.sh --list   print the package list and exit
set -eu

PACKAGES="
make
clang
gcc
libomp-dev
libopenblas-dev
pkg-config
abigail-tools
libclang-rt-14-dev
valgrind
python3
python3-numpy
python3-scipy
python3-sklearn
python3-pytest
python3-faiss
python3-venv
python3-pip
python3-setuptools
python3-wheel
python3-torch
golang-go
doxygen
"

if [ "${1:-}" = "--list" ]; then
    echo $PACKAGES
    exit 0
fi

missing=""
for pkg in $PACKAGES; do
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
    echo "librlcc: missing Debian packages:$missing" >&2
    echo "librlcc: run as root:  apt-get update && apt-get install -y$missing" >&2
    exit 1
fi

echo "librlcc: installing Debian packages:$missing" >&2
apt-get update -qq
DEBIAN_FRONTEND=noninteractive apt-get install -y -qq $missing >&2
