/*
 * dbscan.c - cluster points with librlcc, and see what a refused call says.
 *
 *   cc dbscan.c $(pkg-config --cflags --libs rlcc) -o dbscan && ./dbscan
 */
#include <math.h>
#include <stdio.h>

#include "rlcc.h"

int main(void)
{
    /* Two groups on a line and one stray point. */
    const float x[7] = {0.0f, 0.5f, 1.0f, 10.0f, 10.5f, 11.0f, 40.0f};
    int32_t labels[7];
    int64_t clusters = 0;

    rlcc_dbscan_options options;
    rlcc_dbscan_options_init(&options, sizeof options);
    options.n_threads = 1;

    int rc = rlcc_dbscan_features(x, 7, 1, 1, 0.6, 2, &options, labels, &clusters, NULL, NULL);
    if (rc != RLCC_OK) {
        fprintf(stderr, "dbscan failed: %s: %s\n", rlcc_strerror(rc), rlcc_last_error());
        return 1;
    }
    printf("librlcc %s: %lld clusters, labels", rlcc_version_string(), (long long)clusters);
    for (int i = 0; i < 7; i++)
        printf(" %d", labels[i]);
    printf("\n");

    /* A NaN in the input is refused with a message, and labels stay as they were. */
    const float bad[3] = {0.0f, NAN, 1.0f};
    rc = rlcc_dbscan_features(bad, 3, 1, 1, 0.6, 2, NULL, labels, NULL, NULL, NULL);
    printf("refused: %s (%s)\n", rlcc_strerror(rc), rlcc_last_error());
    return rc == RLCC_E_INVALID_ARGUMENT ? 0 : 1;
}
