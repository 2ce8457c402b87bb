#!/bin/bash
# check-valgrind.sh PROGRAM... - valgrind memcheck on each program (make
# check-valgrind builds the examples against build/valgrind/librlcc.a, DWARF 4):
# no error, nothing definitely lost. valgrind 3.19 reports libomp's thread
# set-up as "possibly lost", which is not counted. Prints "valgrind: ..." last.
source "$(dirname "$0")/check-lib.sh"
out=$(mktemp -d)
trap 'rm -rf "$out"' EXIT
for program in "$@"; do
    name=$(basename "$program")
    valgrind -q --leak-check=full --errors-for-leak-kinds=definite --error-exitcode=9 \
        "$program" >/dev/null 2>"$out/$name.log"
    record "valgrind $program" $(( $? == 0 )) "$out/$name.log"
done
tally valgrind
