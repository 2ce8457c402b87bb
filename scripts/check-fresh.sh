#!/bin/bash
# check-fresh.sh - the README's two commands on a bare Debian 12, as a new
# user types them (`make check-fresh`; not part of make check).
#
#  1. debootstrap --variant=minbase bookworm into a temporary folder, from the
#     mirror this machine's own apt configuration names;
#  2. inside it (chroot, /proc, /sys, /dev/shm, /dev/pts mounted): apt-get install only
#     make, git and ca-certificates; clone the current commit; make demo; then
#     make check; print both results and their times;
#  3. build the Debian packages there (dpkg-buildpackage -us -uc -b), install
#     the six into a second bare root with apt-get install ./*.deb (so that
#     their dependencies come from the mirror: Open MPI's libopenmpi-dev and
#     openmpi-bin through librlcc-mpi-dev), and there compile a C program with
#     pkg-config rlcc, build examples/mpi_knn.c with pkg-config rlcc_mpi and run
#     it under mpirun -np 2, run python3 -c "import rlcc" and rlcc --version.
#
# Everything mounted is unmounted before anything is deleted, and deletion
# never crosses into another file system (rm --one-file-system). Needs root,
# debootstrap (make check-fresh installs it) and about 8 GB of free disk.
#   RLCC_FRESH_DIR=/var/tmp   where the roots are made (default /var/tmp)
#   RLCC_FRESH_KEEP=1         keep the roots afterwards (unmounted), for a look
set -u
top=$(cd "$(dirname "$0")/.." && pwd)
commit=$(git -C "$top" rev-parse HEAD)
suite=bookworm

if [ "$(id -u)" -ne 0 ]; then
    echo "check-fresh: needs root (debootstrap, chroot, mount)" >&2
    exit 1
fi
command -v debootstrap >/dev/null || { echo "check-fresh: debootstrap missing (scripts/install-deps.sh fresh)" >&2; exit 1; }

work=$(mktemp -d "${RLCC_FRESH_DIR:-/var/tmp}/rlcc-fresh.XXXXXX")
log="$work/logs"
mkdir -p "$log"
results=()
status=0

# ---- mounts and clean-up ----------------------------------------------------
# mounts_under DIR: the mount points at or below DIR, deepest first.
mounts_under() {
    awk -v dir="$1" '$2 == dir || index($2, dir "/") == 1 { print $2 }' /proc/self/mounts | sort -r
}

unmount_all() { # DIR
    local point
    for point in $(mounts_under "$1"); do
        umount "$point" 2>/dev/null || umount -l "$point"
    done
}

cleanup() {
    unmount_all "$work"
    if [ -n "$(mounts_under "$work")" ]; then
        echo "check-fresh: something is still mounted under $work; not deleting it:" >&2
        mounts_under "$work" >&2
        return
    fi
    if [ -n "${RLCC_FRESH_KEEP:-}" ]; then
        echo "check-fresh: kept $work"
    else
        rm -rf --one-file-system "$work"
    fi
}
trap cleanup EXIT
trap 'exit 130' INT TERM

mount_system() { # ROOT
    mount -t proc proc "$1/proc"
    mount -t sysfs sysfs "$1/sys"
    mkdir -p "$1/dev/shm"
    mount -t tmpfs -o mode=1777 tmpfs "$1/dev/shm"
    # pseudo-terminals, as a login has them (the CLI's progress tests run
    # rlcc on one); /dev/ptmx is debootstrap's device node for this devpts
    mkdir -p "$1/dev/pts"
    mount --bind /dev/pts "$1/dev/pts"
}

# in_root ROOT COMMAND: COMMAND by bash -c inside ROOT, with a clean
# environment like a new login's.
in_root() {
    chroot "$1" /usr/bin/env -i HOME=/root LANG=C.UTF-8 TERM=dumb \
        PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin \
        DEBIAN_FRONTEND=noninteractive /bin/bash -c "$2"
}

# step NAME LOGFILE COMMAND...: runs COMMAND, records its result and time.
step() {
    local name=$1 file=$2
    shift 2
    local start=$SECONDS
    echo "check-fresh: $name ..."
    "$@" >"$file" 2>&1
    local rc=$? took=$((SECONDS - start))
    local line="$name: exit $rc, $((took / 60))m$((took % 60))s"
    results+=("$line")
    echo "check-fresh: $line"
    if [ $rc -ne 0 ]; then
        tail -n 40 "$file"
        status=1
    fi
    return $rc
}

# ---- the mirror, from this machine's apt configuration ------------------------
# apt's own view of its sources (deb822 or one-line, whichever the machine has).
mirror=$(apt-get indextargets --format '$(REPO_URI) $(RELEASE)' 'Created-By: Packages' 2>/dev/null \
    | awk -v s="$suite" '$2 == s { print $1; exit }')
if [ -z "$mirror" ]; then
    echo "check-fresh: no '$suite' source in this machine's apt configuration (apt-get update first)" >&2
    exit 1
fi
echo "check-fresh: commit $commit, mirror $mirror, in $work"

# copy_apt_config ROOT: the sources and the Acquire settings of this machine.
copy_apt_config() {
    local f
    rm -f "$1/etc/apt/sources.list"
    for f in /etc/apt/sources.list /etc/apt/sources.list.d/*.list /etc/apt/sources.list.d/*.sources; do
        [ -f "$f" ] && cp "$f" "$1$f"
    done
    for f in /etc/apt/apt.conf.d/*; do
        grep -q '^[[:space:]]*Acquire' "$f" 2>/dev/null && cp "$f" "$1/etc/apt/apt.conf.d/"
    done
    cp /etc/resolv.conf "$1/etc/resolv.conf"
}

# ---- root 1: the two commands ---------------------------------------------------
base="$work/base.tar"
make_bare_root() { # ROOT
    mkdir -p "$1"
    if [ -f "$base" ]; then
        tar -C "$1" -xf "$base"
    else
        debootstrap --variant=minbase "$suite" "$1" "$mirror" && tar -C "$1" -cf "$base" .
    fi
}

root1="$work/root1"
step "debootstrap --variant=minbase $suite" "$log/debootstrap.log" make_bare_root "$root1" || exit 1
copy_apt_config "$root1"
mount_system "$root1"
step "apt-get install make git ca-certificates" "$log/apt1.log" \
    in_root "$root1" "apt-get update -qq && apt-get install -y -qq make git ca-certificates" || exit 1
git clone -q --no-local "$top" "$root1/root/librlcc" \
    && git -C "$root1/root/librlcc" -c advice.detachedHead=false checkout -q --detach "$commit"
git -C "$root1/root/librlcc" remote remove origin

if step "make demo" "$log/demo.log" in_root "$root1" "cd /root/librlcc && make demo"; then
    results+=("  $(grep -E 'mean target mass' "$log/demo.log" | head -n 1 | sed 's/^ *//')")
fi
step "make check" "$log/check.log" in_root "$root1" "cd /root/librlcc && make check"
# the tally is make check's last line on success; on failure make's own
# "Error 1" line (stderr) follows it
results+=("  make check: $(grep -E '^[0-9]+ passed, [0-9]+ failed$' "$log/check.log" | tail -n 1)")
grep -E '^\s*FAIL |counted as 1 failed' "$log/check.log" | head -n 20 | sed 's/^/    /' >"$log/check-failures.txt"
while IFS= read -r line; do results+=("$line"); done <"$log/check-failures.txt"

# ---- root 2: the packages on a machine that never built them ---------------------
debs_built=0
if step "dpkg-buildpackage -us -uc -b" "$log/deb-build.log" in_root "$root1" \
    "rm -rf /root/pkg && git clone -q /root/librlcc /root/pkg/librlcc && cd /root/pkg/librlcc && dpkg-buildpackage -us -uc -b"; then
    debs_built=1
fi
unmount_all "$root1"

if [ $debs_built = 1 ]; then
    root2="$work/root2"
    step "second bare root" "$log/root2.log" make_bare_root "$root2"
    copy_apt_config "$root2"
    mkdir -p "$root2/root/debs"
    cp "$root1"/root/pkg/*.deb "$root2/root/debs/"
    ls "$root2/root/debs" | sed 's/^/  /'
    mount_system "$root2"
    # Open MPI (libopenmpi-dev, openmpi-bin) is not named: it must come from
    # librlcc-mpi-dev's dependencies
    step "apt-get install the six packages (and gcc)" "$log/apt2.log" in_root "$root2" \
        "apt-get update -qq && apt-get install -y -qq gcc pkg-config \
            /root/debs/librlcc1_*.deb /root/debs/librlcc-dev_*.deb /root/debs/librlcc-mpi1_*.deb \
            /root/debs/librlcc-mpi-dev_*.deb /root/debs/rlcc-tools_*.deb /root/debs/python3-rlcc_*.deb \
            && command -v mpirun && dpkg -s libopenmpi-dev openmpi-bin | grep '^Package:'"
    cp "$top/examples/dbscan.c" "$root2/root/app.c"
    step "cc app.c \$(pkg-config --cflags --libs rlcc) && ./app" "$log/app.log" in_root "$root2" \
        'cd /root && cc app.c $(pkg-config --cflags --libs rlcc) -o app && ./app | tee /dev/stderr | grep -q "2 clusters, labels 0 0 0 1 1 1 -1"'
    # examples/mpi_knn.c as docs/scale-out.md builds it; the line that
    # tests/install/deb.sh expects of two ranks
    cp "$top/examples/mpi_knn.c" "$root2/root/mpi_knn.c"
    mpi_expected="2 ranks: row 0's neighbours 0 340 100 240 200; 2000 of 2000 neighbours share their row's identity"
    step "cc mpi_knn.c \$(pkg-config --cflags --libs rlcc_mpi) && mpirun -np 2 ./mpi_knn" "$log/mpi.log" \
        in_root "$root2" "cd /root && cc mpi_knn.c \$(pkg-config --cflags --libs rlcc_mpi) -lm -o mpi_knn \
            && OMPI_ALLOW_RUN_AS_ROOT=1 OMPI_ALLOW_RUN_AS_ROOT_CONFIRM=1 timeout 120 \
               mpirun --oversubscribe --bind-to none -np 2 ./mpi_knn | tee /dev/stderr | grep -qxF \"$mpi_expected\""
    results+=("  $(grep -E '^[0-9]+ ranks: ' "$log/mpi.log" | tail -n 1)")
    step "python3 -c 'import rlcc'" "$log/python.log" in_root "$root2" \
        'cd / && python3 -c "import numpy as np, rlcc; print(rlcc.__version__, rlcc.dbscan(np.array([[0.0], [0.5], [1.0], [10.0]], np.float32), eps=0.6, min_samples=2))"'
    results+=("  $(tail -n 1 "$log/python.log")")
    step "rlcc --version" "$log/cli.log" in_root "$root2" "rlcc --version && man -w rlcc 2>/dev/null; test -f /usr/share/man/man1/rlcc.1.gz"
    results+=("  $(head -n 1 "$log/cli.log")")
    unmount_all "$root2"
fi

echo
echo "check-fresh: commit $commit on a bare Debian 12 ($suite, minbase, $mirror)"
printf '  %s\n' "${results[@]}"
[ $status -eq 0 ] && echo "check-fresh: all passed" || echo "check-fresh: FAILED (logs above)"
exit $status
