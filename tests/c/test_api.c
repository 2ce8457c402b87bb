/* test_api.c - versions, error text, options/stats structs and their ABI. */
#include <pthread.h>
#include <stddef.h>

#include "test.h"

static void version_matches_header(void)
{
    CHECK_EQ(rlcc_version_number(), RLCC_VERSION_NUMBER);
    CHECK(strcmp(rlcc_version_string(), RLCC_VERSION_STRING) == 0);
    CHECK_EQ(RLCC_VERSION_MAJOR, 1);
}

static void strerror_covers_every_code(void)
{
    CHECK(strcmp(rlcc_strerror(RLCC_OK), "ok") == 0);
    CHECK(strcmp(rlcc_strerror(RLCC_E_INVALID_ARGUMENT), "invalid argument") == 0);
    CHECK(strcmp(rlcc_strerror(RLCC_E_OUT_OF_MEMORY), "out of memory") == 0);
    CHECK(strcmp(rlcc_strerror(RLCC_E_MEMORY_LIMIT), "memory limit exceeded") == 0);
    CHECK(strcmp(rlcc_strerror(RLCC_E_CANCELED), "canceled") == 0);
    CHECK(strcmp(rlcc_strerror(RLCC_E_CALLBACK), "callback failed") == 0);
    CHECK(strcmp(rlcc_strerror(12345), "unknown error") == 0);
}

static void pinned_codes_never_change(void)
{
    CHECK_EQ(RLCC_OK, 0);
    CHECK_EQ(RLCC_E_INVALID_ARGUMENT, -1);
    CHECK_EQ(RLCC_E_OUT_OF_MEMORY, -2);
    CHECK_EQ(RLCC_E_MEMORY_LIMIT, -3);
    CHECK_EQ(RLCC_E_CANCELED, -4);
    CHECK_EQ(RLCC_E_CALLBACK, -5);
    CHECK_EQ(RLCC_METRIC_EUCLIDEAN, 0);
    CHECK_EQ(RLCC_METRIC_COSINE, 1);
    CHECK_EQ(RLCC_DBSCAN_AUTO, 0);
    CHECK_EQ(RLCC_DBSCAN_BRUTE, 1);
    CHECK_EQ(RLCC_DBSCAN_GRID, 2);
    CHECK_EQ(RLCC_DBSCAN_TREE, 3);
}

/* The 1.0 layouts are part of the ABI: fields are only ever appended. */
static void struct_layouts_are_pinned(void)
{
    CHECK_EQ(offsetof(rlcc_dbscan_options, struct_size), 0);
    CHECK_EQ(offsetof(rlcc_dbscan_options, metric), 8);
    CHECK_EQ(offsetof(rlcc_dbscan_options, n_threads), 12);
    CHECK_EQ(offsetof(rlcc_dbscan_options, max_bytes), 16);
    CHECK_EQ(offsetof(rlcc_dbscan_options, algorithm), 24); /* 1.5 */
    CHECK_EQ(offsetof(rlcc_dbscan_options, reserved), 28);
    CHECK_EQ(sizeof(rlcc_dbscan_options), 32);
    CHECK_EQ(offsetof(rlcc_dbscan_stats, n_neighbor_pairs), 8);
    CHECK_EQ(offsetof(rlcc_dbscan_stats, n_core), 16);
    CHECK_EQ(offsetof(rlcc_dbscan_stats, n_noise), 24);
    CHECK_EQ(offsetof(rlcc_dbscan_stats, n_redecided), 32);
    CHECK_EQ(offsetof(rlcc_dbscan_stats, peak_bytes), 40);
    CHECK_EQ(sizeof(rlcc_dbscan_stats), 48);
}

static void options_init_sets_defaults(void)
{
    rlcc_dbscan_options opts;
    memset(&opts, 0x7f, sizeof opts);
    CHECK_OK(rlcc_dbscan_options_init(&opts, sizeof opts));
    CHECK_EQ(opts.struct_size, sizeof opts);
    CHECK_EQ(opts.metric, RLCC_METRIC_EUCLIDEAN);
    CHECK_EQ(opts.n_threads, 0);
    CHECK_EQ(opts.max_bytes, 0);
    CHECK_EQ(opts.algorithm, RLCC_DBSCAN_AUTO);
    CHECK_EQ(opts.reserved, 0);
    CHECK_ERR(rlcc_dbscan_options_init(NULL, sizeof opts), RLCC_E_INVALID_ARGUMENT, "options");
    CHECK_ERR(rlcc_dbscan_options_init(&opts, 4), RLCC_E_INVALID_ARGUMENT, "struct_size");
}

/* A caller built against a future, larger struct: init must zero the tail
 * it does not know and never write past struct_size. */
static void options_init_respects_struct_size(void)
{
    unsigned char buffer[64];
    memset(buffer, 0xAB, sizeof buffer);
    CHECK_OK(rlcc_dbscan_options_init((rlcc_dbscan_options *)(void *)buffer, 40));
    CHECK_EQ(((rlcc_dbscan_options *)(void *)buffer)->struct_size, 40);
    int tail_zero = 1;
    for (size_t i = sizeof(rlcc_dbscan_options); i < 40; i++)
        tail_zero &= buffer[i] == 0;
    CHECK(tail_zero);
    int untouched = 1;
    for (size_t i = 40; i < sizeof buffer; i++)
        untouched &= buffer[i] == 0xAB;
    CHECK(untouched);
}

static void stats_init(void)
{
    rlcc_dbscan_stats stats;
    memset(&stats, 0x7f, sizeof stats);
    CHECK_OK(rlcc_dbscan_stats_init(&stats, sizeof stats));
    CHECK_EQ(stats.struct_size, sizeof stats);
    CHECK_EQ(stats.n_redecided, 0);
    CHECK_ERR(rlcc_dbscan_stats_init(NULL, sizeof stats), RLCC_E_INVALID_ARGUMENT, "stats");
    CHECK_ERR(rlcc_dbscan_stats_init(&stats, 8), RLCC_E_INVALID_ARGUMENT, "struct_size");
}

static void *fail_on_other_thread(void *arg)
{
    (void)arg;
    int32_t labels[1];
    rlcc_dbscan_features(NULL, 1, 1, 1, 1.0, 1, NULL, labels, NULL, NULL, NULL);
    return NULL;
}

static void last_error_is_per_thread_and_cleared(void)
{
    float x[2] = {0.0f, 1.0f};
    int32_t labels[2];
    CHECK_OK(rlcc_dbscan_features(x, 2, 1, 1, 0.5, 1, NULL, labels, NULL, NULL, NULL));
    CHECK(strcmp(rlcc_last_error(), "") == 0);
    pthread_t thread;
    pthread_create(&thread, NULL, fail_on_other_thread, NULL);
    pthread_join(thread, NULL);
    CHECK(strcmp(rlcc_last_error(), "") == 0); /* the other thread's error is its own */
    CHECK_ERR(rlcc_dbscan_features(x, 2, 1, 1, -1.0, 1, NULL, labels, NULL, NULL, NULL),
              RLCC_E_INVALID_ARGUMENT, "eps");
    CHECK_OK(rlcc_dbscan_features(x, 2, 1, 1, 0.5, 1, NULL, labels, NULL, NULL, NULL));
    CHECK(strcmp(rlcc_last_error(), "") == 0);
}

const test_case api_tests[] = {
    {"version_matches_header", version_matches_header},
    {"strerror_covers_every_code", strerror_covers_every_code},
    {"pinned_codes_never_change", pinned_codes_never_change},
    {"struct_layouts_are_pinned", struct_layouts_are_pinned},
    {"options_init_sets_defaults", options_init_sets_defaults},
    {"options_init_respects_struct_size", options_init_respects_struct_size},
    {"stats_init", stats_init},
    {"last_error_is_per_thread_and_cleared", last_error_is_per_thread_and_cleared},
    {NULL, NULL},
};
