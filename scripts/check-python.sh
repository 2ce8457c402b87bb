#!/bin/bash
# check-python.sh wheel|cli - the Python tests (tests/python), each test a test.
#
#   wheel  (make check-python) every test but test_cli.py, against the package
#          as a user installs it: the wheel built from this checkout (carrying
#          librlcc and what it loads), installed offline into a fresh venv that
#          sees Debian's numpy / scipy / scikit-learn, with no RLCC_LIBRARY, so
#          the wheel's own copy is what is tested. Prints "pytest: ..." last.
#   cli    (make check-cli) tests/python/test_cli.py: bin/rlcc's commands, exit
#          codes and malformed inputs, against the checkout's bindings/python
#          and lib/. Prints "cli: ..." last.
source "$(dirname "$0")/check-lib.sh"
case ${1:-} in
cli)
    env -u RLCC_LIBRARY -u RLCC_TEST_INSTALLED "$PYTHON" -m pytest -q -p no:cacheprovider \
        tests/python/test_cli.py 2>&1 | sed -u 's/^pytest: \([0-9]* passed, [0-9]* failed\)$/cli: \1/'
    status=${PIPESTATUS[0]}
    # exit 5: pytest collected nothing, which must never pass quietly
    [ "$status" -eq 5 ] && echo "cli: 0 passed, 1 failed"
    exit "$status"
    ;;
wheel) ;;
*)
    echo "usage: scripts/check-python.sh wheel|cli" >&2
    exit 2
    ;;
esac
venv=$(mktemp -d)
trap 'rm -rf "$venv"' EXIT
"$PYTHON" -m venv --system-site-packages "$venv/env" \
    && env -u PIP_FIND_LINKS "$PYTHON" -m pip wheel -q --no-build-isolation --no-deps --no-index \
        -w "$venv/dist" bindings/python >"$venv/pip.log" 2>&1 \
    && "$venv/env/bin/pip" install -q --no-index --no-deps "$venv"/dist/rlcc-*-py3-none-linux_x86_64.whl \
        >>"$venv/pip.log" 2>&1
if [ $? -ne 0 ]; then
    cat "$venv/pip.log"
    echo "pytest: 0 passed, 1 failed"
    exit 1
fi
(cd "$venv" && env -u RLCC_LIBRARY RLCC_TEST_INSTALLED=1 \
    "$venv/env/bin/python" -m pytest -q -p no:cacheprovider "$top/tests/python" \
    --ignore="$top/tests/python/test_cli.py")
status=$?
[ "$status" -eq 5 ] && echo "pytest: 0 passed, 1 failed"
exit "$status"
