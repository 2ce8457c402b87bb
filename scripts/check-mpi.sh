#!/bin/bash
# check-mpi.sh - librlcc_mpi under mpirun on this machine (loopback only):
# the exact, refusal, pseudo-label and refiner suites of tests/mpi/test_mpi.c
# at 2, 3 and 4 ranks (the refiner's at 1 rank too), and a rank of four that
# dies at each stage. Prints "mpi: N passed, M failed".
#
#   scripts/check-mpi.sh build/mpi/mpi-tests [build/mpi/mpi-tests-asan]
#
# The second program, built over ASan+UBSan, runs the four suites at 3 ranks
# too (leak detection off: OpenMPI keeps its own allocations to the end).
set -u
prog=$1
asan=${2:-}
# root may run mpirun here (a CI container); more ranks than cores is fine
export OMPI_ALLOW_RUN_AS_ROOT=1 OMPI_ALLOW_RUN_AS_ROOT_CONFIRM=1
MPIRUN=(mpirun --oversubscribe --bind-to none)
passed=0
failed=0
for np in 1 2 3 4; do
    for mode in exact errors pseudo refiner; do
        [ "$np" = 1 ] && [ "$mode" != refiner ] && continue
        out=$(timeout 300 "${MPIRUN[@]}" -np "$np" "$prog" "$mode" 2>&1)
        line=$(echo "$out" | grep -E '^mpi-np[0-9]+-[a-z]+: [0-9]+ passed, [0-9]+ failed' | tail -n 1)
        if [ -z "$line" ]; then
            echo "$out" | tail -n 20
            echo "not ok - np $np $mode: no tally"
            failed=$((failed + 1))
            continue
        fi
        echo "$line"
        echo "$out" | grep '^not ok' || true
        passed=$((passed + $(echo "$line" | sed -E 's/.*: ([0-9]+) passed.*/\1/')))
        failed=$((failed + $(echo "$line" | sed -E 's/.* ([0-9]+) failed.*/\1/')))
    done
done
if [ -n "$asan" ]; then
    for mode in exact errors pseudo refiner; do
        out=$(ASAN_OPTIONS=detect_leaks=0 timeout 600 "${MPIRUN[@]}" -x ASAN_OPTIONS -np 3 "$asan" "$mode" 2>&1)
        line=$(echo "$out" | grep -E '^mpi-np[0-9]+-[a-z]+: [0-9]+ passed, 0 failed' | tail -n 1)
        if [ -n "$line" ] && ! echo "$out" | grep -qE 'ERROR: AddressSanitizer|runtime error'; then
            echo "ok - asan+ubsan $line"
            passed=$((passed + 1))
        else
            echo "$out" | grep -E 'ERROR|runtime error|not ok' | head -n 20
            echo "not ok - asan+ubsan np 3 $mode"
            failed=$((failed + 1))
        fi
    done
fi
# A rank that dies: mpirun must let the others finish (by default it kills
# them at once; --enable-recovery keeps them, which also outlives a survivor
# that _exits before the others have written), so their own errors can be seen. Each survivor writes its
# code, seconds and message; the timeout is 3 s.
for stage in check ring finish jaccard labels centroids targets; do
    dir=$(mktemp -d)
    timeout 120 "${MPIRUN[@]}" --enable-recovery -np 4 "$prog" die "$stage" \
        "$dir" >/dev/null 2>&1
    ok=1
    for rank in 0 1 2; do
        f=$dir/rank-$rank
        if [ ! -s "$f" ]; then
            echo "not ok - die at $stage: rank $rank wrote nothing"
            ok=0
            continue
        fi
        read -r code seconds message < "$f"
        # RLCC_MPI_E_TIMEOUT (-102) or RLCC_MPI_E_REMOTE (-101), naming a rank, in time
        if { [ "$code" != -102 ] && [ "$code" != -101 ]; } || ! echo "$message" | grep -qE 'rank [0-9]+ (did not answer|failed)' ||
            ! awk -v s="$seconds" 'BEGIN { exit !(s < 6.0) }'; then
            echo "not ok - die at $stage: rank $rank: $code after $seconds s: $message"
            ok=0
        fi
    done
    [ -e "$dir/rank-3" ] && { echo "not ok - die at $stage: the dead rank wrote a result"; ok=0; }
    if [ $ok -eq 1 ]; then
        echo "ok - die at $stage: 3 survivors returned $(cut -d' ' -f1 "$dir/rank-0") in $(cut -d' ' -f2 "$dir/rank-0") s"
        passed=$((passed + 1))
    else
        failed=$((failed + 1))
    fi
    rm -rf "$dir"
done
echo "mpi: $passed passed, $failed failed"
[ $failed -eq 0 ]
