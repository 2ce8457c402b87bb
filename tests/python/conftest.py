"""pytest set-up shared by librlcc's Python tests: the import path of the
checkout's binding (unless an installed copy is being tested) and the
closing tally line that `make check` adds up."""

import os
import sys
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))
if not os.environ.get("RLCC_TEST_INSTALLED"):
    sys.path.insert(0, str(HERE.parents[1] / "bindings" / "python"))
else:  # make check: the copy pip installed, not the source tree
    import rlcc

    from rlcc import _native

    assert "site-packages" in rlcc.__file__, rlcc.__file__
    # and the library the wheel carries, not the checkout's or the system's
    assert "site-packages" in _native.library_path, _native.library_path


def pytest_terminal_summary(terminalreporter):
    stats = terminalreporter.stats
    passed = len(stats.get("passed", []))
    failed = len(stats.get("failed", [])) + len(stats.get("error", []))
    import dbscan_cases

    if dbscan_cases.TALLY_LINE:
        terminalreporter.write_line(dbscan_cases.TALLY_LINE)
    terminalreporter.write_line(f"pytest: {passed} passed, {failed} failed")
