/* main.c - runs every registered C test; the last line is the tally. */
#include <stdlib.h>

#include "test.h"

long test_passed, test_failed;
const char *test_current = "";

void test_record(int ok, const char *file, int line, const char *what)
{
    if (ok) {
        test_passed++;
        return;
    }
    test_failed++;
    fprintf(stderr, "FAIL %s (%s:%d): %s\n", test_current, file, line, what);
}

static void run_all(const test_case *tests)
{
    for (; tests->name != NULL; tests++) {
        test_current = tests->name;
        tests->run();
    }
}

int main(int argc, char **argv)
{
    const char *suite = argc > 1 ? argv[1] : "c";
    run_all(api_tests);
    run_all(dbscan_tests);
    run_all(errors_tests);
    run_all(knn_tests);
    run_all(jaccard_tests);
    run_all(rlcc_tests);
    run_all(concurrency_tests);
    run_all(limits_tests);
    printf("%s: %ld passed, %ld failed\n", suite, test_passed, test_failed);
    return test_failed == 0 ? 0 : 1;
}
