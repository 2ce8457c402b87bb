#!/bin/bash
# check-docs.sh - the API reference builds with no Doxygen warning (make docs),
# and an undocumented public function would fail it. Prints "docs: ..." last.
source "$(dirname "$0")/check-lib.sh"
out=$(mktemp -d)
trap 'rm -rf "$out"' EXIT
# make check installed doxygen first (the check tier); this suite installs nothing
make --no-print-directory docs RLCC_NO_DEPS=1 >"$out/docs.log" 2>&1
record "make docs: every public symbol documented" $(( $? == 0 )) "$out/docs.log"
sed 's|^#endif /\* RLCC_H \*/|RLCC_API int rlcc_undocumented(int x);\n&|' include/rlcc.h >"$out/rlcc.h"
grep -q rlcc_undocumented "$out/rlcc.h" \
    && ! { cat docs/Doxyfile; echo "INPUT = $out/rlcc.h"; echo "OUTPUT_DIRECTORY = $out/html"; } \
        | doxygen - >"$out/neg.log" 2>&1 \
    && grep -q "rlcc_undocumented.*is not documented" "$out/neg.log"
record "an undocumented public function fails the docs build" $(( $? == 0 )) "$out/neg.log"
tally docs
