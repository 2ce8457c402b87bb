/* main.c - the C test runner.
 *
 *   rlcc-tests [--suite=NAME] [--list] [NAME...]
 *
 * Runs every registered test, or only those NAMEs: a test's name (as --list
 * prints it) or a group's, which is the file a test lives in (dbscan runs
 * every test of test_dbscan.c). Each test is reported in TAP version 13 on
 * stdout ("ok 3 - one_cluster", "not ok 4 - ..."), diagnostics as "# ..."
 * lines; each failing check is also printed on stderr when it fails. The last
 * line is "<suite>: N passed, M failed", N and M counting tests (a test passes
 * when all its checks hold), the suite name "c" unless --suite=NAME says
 * otherwise: `make check` adds these lines up.
 *
 * Exit status: 0 every test passed, 1 a test failed, 2 a usage error (an
 * unknown option, test or group name), before any test has run.
 */
#include <stdlib.h>

#include "test.h"

typedef struct group {
    const char *name;
    const test_case *tests;
} group;

/* In the order they run. */
static const group groups[] = {
    {"api", api_tests},
    {"dbscan", dbscan_tests},
    {"errors", errors_tests},
    {"knn", knn_tests},
    {"jaccard", jaccard_tests},
    {"rlcc", rlcc_tests},
    {"checkpoint", checkpoint_tests},
    {"step_labels", step_labels_tests}, /* 1.8: the refiner from the caller's labels */
    {"concurrency", concurrency_tests},
    {"limits", limits_tests},
    {"robustness", robustness_tests},
    {"pseudo_methods", pseudo_methods_tests},
    {"methods", methods_tests}, /* 1.7: #15 items 1, 4, 5 */
    {"kmeans", kmeans_tests}, /* issue #15 item 3 */
    /* InfoMap pseudo labels (issue #15 item 2) */
    {"infomap", infomap_tests},
};
#define N_GROUPS (sizeof groups / sizeof groups[0])

const char *test_current = "";

/* The running test's checks, and its first failing one for the report. */
static long checks_passed, checks_failed;
static long test_checks, test_checks_failed;
static const char *first_file, *first_what, *skip_reason;
static int first_line;

void test_record(int ok, const char *file, int line, const char *what)
{
    test_checks++;
    if (ok) {
        checks_passed++;
        return;
    }
    checks_failed++;
    if (test_checks_failed++ == 0) {
        first_file = file;
        first_line = line;
        first_what = what;
    }
    fprintf(stderr, "FAIL %s (%s:%d): %s\n", test_current, file, line, what);
}

void test_skip(const char *reason)
{
    skip_reason = reason;
}

/* Runs one test and reports it as TAP test point `number`: 1 if it passed,
 * 0 if it failed, -1 if it was skipped (which the tally does not count as a
 * pass). */
static int run_test(const test_case *test, long number)
{
    test_current = test->name;
    test_checks = test_checks_failed = 0;
    skip_reason = NULL;
    fflush(stdout); /* a test that forks must not inherit unwritten output */
    test->run();
    fflush(stderr);
    if (test_checks_failed == 0) {
        if (skip_reason != NULL)
            printf("ok %ld - %s # SKIP %s\n", number, test->name, skip_reason);
        else
            printf("ok %ld - %s\n", number, test->name);
    } else {
        printf("not ok %ld - %s\n", number, test->name);
        printf("# %s: %ld of %ld checks failed, the first at %s:%d: %s\n", test->name,
               test_checks_failed, test_checks, first_file, first_line, first_what);
    }
    fflush(stdout);
    if (test_checks_failed != 0)
        return 0;
    return skip_reason != NULL ? -1 : 1;
}

static void usage(FILE *out, const char *program)
{
    fprintf(out,
            "usage: %s [--suite=NAME] [--list] [TEST_OR_GROUP...]\n"
            "  runs the C tests (all, or those named) and reports them in TAP version 13;\n"
            "  the last line is \"NAME: N passed, M failed\" (NAME \"c\" by default).\n"
            "  --list     print the names of the tests that would run, one a line\n"
            "  groups:",
            program);
    for (size_t g = 0; g < N_GROUPS; g++)
        fprintf(out, " %s", groups[g].name);
    fprintf(out, "\n");
}

/* Marks the tests that `name` selects; 0 if it names no test or group. */
static int select_name(const char *name, unsigned char **selected)
{
    int found = 0;
    for (size_t g = 0; g < N_GROUPS; g++) {
        const int whole = strcmp(name, groups[g].name) == 0;
        for (size_t t = 0; groups[g].tests[t].name != NULL; t++)
            if (whole || strcmp(name, groups[g].tests[t].name) == 0) {
                selected[g][t] = 1;
                found = 1;
            }
    }
    return found;
}

int main(int argc, char **argv)
{
    const char *program = argv[0];
    const char *suite = "c";
    int list = 0, named = 0, only_names = 0;
    unsigned char *selected[N_GROUPS];
    for (size_t g = 0; g < N_GROUPS; g++) {
        size_t n = 0;
        while (groups[g].tests[n].name != NULL)
            n++;
        selected[g] = calloc(n + 1, 1);
        if (selected[g] == NULL) {
            fprintf(stderr, "%s: out of memory\n", program);
            return 2;
        }
    }
    for (int a = 1; a < argc; a++) {
        const char *arg = argv[a];
        if (!only_names && strcmp(arg, "--") == 0) {
            only_names = 1;
        } else if (!only_names && strncmp(arg, "--suite=", 8) == 0 && arg[8] != '\0') {
            suite = arg + 8;
        } else if (!only_names && strcmp(arg, "--suite") == 0 && a + 1 < argc) {
            suite = argv[++a];
        } else if (!only_names && strcmp(arg, "--list") == 0) {
            list = 1;
        } else if (!only_names && (strcmp(arg, "--help") == 0 || strcmp(arg, "-h") == 0)) {
            usage(stdout, program);
            return 0;
        } else if (!only_names && arg[0] == '-') {
            fprintf(stderr, "%s: unknown option %s\n", program, arg);
            usage(stderr, program);
            return 2;
        } else if (!select_name(arg, selected)) {
            fprintf(stderr, "%s: no test or group named \"%s\" (%s --list shows the tests)\n",
                    program, arg, program);
            return 2;
        } else {
            named = 1;
        }
    }

    long planned = 0;
    for (size_t g = 0; g < N_GROUPS; g++)
        for (size_t t = 0; groups[g].tests[t].name != NULL; t++)
            if (!named || selected[g][t]) {
                selected[g][t] = 1;
                planned++;
                if (list)
                    printf("%s\n", groups[g].tests[t].name);
            }
    if (list)
        return 0;

    printf("TAP version 13\n1..%ld\n", planned);
    long number = 0, passed = 0, failed = 0, skipped = 0;
    for (size_t g = 0; g < N_GROUPS; g++)
        for (size_t t = 0; groups[g].tests[t].name != NULL; t++)
            if (selected[g][t]) {
                const int result = run_test(&groups[g].tests[t], ++number);
                passed += result == 1;
                failed += result == 0;
                skipped += result == -1;
            }
    printf("# checks: %ld passed, %ld failed; tests skipped in this build: %ld\n", checks_passed,
           checks_failed, skipped);
    printf("%s: %ld passed, %ld failed\n", suite, passed, failed);
    for (size_t g = 0; g < N_GROUPS; g++)
        free(selected[g]);
    return failed == 0 ? 0 : 1;
}
