/*
 * test.h - the C test harness. A test is a function registered by name; it
 * passes when every check in it holds and fails otherwise.
 *
 *   CHECK(cond)           holds when cond holds
 *   CHECK_EQ(a, b)        integers
 *   CHECK_OK(call)        call returns RLCC_OK (prints rlcc_last_error otherwise)
 *   CHECK_ERR(call, code, "text")  call returns code and the message has text
 *   TEST_SKIP("reason")   ends the test here, reported as skipped (TAP "# SKIP")
 *
 * A failing check prints "FAIL test (file:line): what" on stderr and the test
 * goes on, so one run shows every failing check. Each test file registers its
 * tests in a NULL-terminated test_case array; main.c lists the arrays, runs
 * them (all, or the ones named on its command line), reports each test in TAP
 * version 13 on stdout and prints "<suite>: N passed, M failed" last, one per
 * test (rlcc-tests --help).
 */
#ifndef RLCC_TEST_H
#define RLCC_TEST_H

#include <stdio.h>
#include <string.h>

#include "rlcc.h"

/* The name of the test running now, for the tests' own diagnostics. */
extern const char *test_current;

void test_record(int ok, const char *file, int line, const char *what);
void test_skip(const char *reason);

#define CHECK(cond) test_record((cond) != 0, __FILE__, __LINE__, #cond)
#define CHECK_EQ(a, b)                                                              \
    do {                                                                            \
        long long check_a_ = (long long)(a), check_b_ = (long long)(b);             \
        if (check_a_ != check_b_)                                                   \
            fprintf(stderr, "  %s: %lld != %lld\n", test_current, check_a_, check_b_); \
        test_record(check_a_ == check_b_, __FILE__, __LINE__, #a " == " #b);        \
    } while (0)
#define CHECK_OK(call)                                                              \
    do {                                                                            \
        int check_rc_ = (call);                                                     \
        if (check_rc_ != RLCC_OK)                                                   \
            fprintf(stderr, "  %s: rc %d: %s\n", test_current, check_rc_, rlcc_last_error()); \
        test_record(check_rc_ == RLCC_OK, __FILE__, __LINE__, #call);               \
    } while (0)
#define CHECK_ERR(call, code, text)                                                 \
    do {                                                                            \
        int check_rc_ = (call);                                                     \
        int check_ok_ = check_rc_ == (code) && strstr(rlcc_last_error(), (text)) != NULL; \
        if (!check_ok_)                                                             \
            fprintf(stderr, "  %s: rc %d, message \"%s\", wanted %d with \"%s\"\n",  \
                    test_current, check_rc_, rlcc_last_error(), (int)(code), (text)); \
        test_record(check_ok_, __FILE__, __LINE__, #call);                          \
    } while (0)
/* In a test function (void): the test stops and is reported as skipped. */
#define TEST_SKIP(reason)                                                           \
    do {                                                                            \
        test_skip(reason);                                                          \
        return;                                                                     \
    } while (0)

typedef struct test_case {
    const char *name;
    void (*run)(void);
} test_case;

/* Implemented by each test file; main.c's groups[] lists them. */
extern const test_case api_tests[];
extern const test_case dbscan_tests[];
extern const test_case errors_tests[];
extern const test_case jaccard_tests[];
extern const test_case rlcc_tests[];
extern const test_case checkpoint_tests[];
extern const test_case knn_tests[];
extern const test_case concurrency_tests[];
extern const test_case limits_tests[];
extern const test_case robustness_tests[];
extern const test_case pseudo_methods_tests[];
extern const test_case methods_tests[]; /* 1.7: #15 items 1, 4, 5 */
extern const test_case step_labels_tests[]; /* 1.8: the refiner from the caller's labels */
/* k-means (issue #15 item 3) */
extern const test_case kmeans_tests[];
/* InfoMap pseudo labels (issue #15 item 2) */
extern const test_case infomap_tests[];

#endif
