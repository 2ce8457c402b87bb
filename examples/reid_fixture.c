/*
 * reid_fixture.c - the task every language's example does on the same
 * committed fixture (examples/data): cluster generation 0's re-ID features
 * with RLCC's pseudo labels, run one more RLCC generation on generation
 * 1's features, and print the labels and the training targets. The C,
 * Python, Rust and Go versions print identical text (make check compares).
 *
 *   cc reid_fixture.c $(pkg-config --cflags --libs rlcc) -o reid_fixture
 *   ./reid_fixture examples/data
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "rlcc.h"

typedef struct matrix {
    int64_t rows, cols;
    float *values;
} matrix;

/* Reads a 2-D little-endian float32 C-order .npy file (format 1.0). */
static int load_npy(const char *path, matrix *out)
{
    FILE *file = fopen(path, "rb");
    unsigned char preamble[10];
    char header[256] = {0};
    long long rows = 0, cols = 0;
    int ok = 0;
    if (!file)
        return 0;
    if (fread(preamble, 1, 10, file) == 10 && memcmp(preamble, "\x93NUMPY\x01\x00", 8) == 0) {
        size_t header_len = preamble[8] | (size_t)preamble[9] << 8;
        ok = header_len < sizeof header && fread(header, 1, header_len, file) == header_len
             && strstr(header, "'descr': '<f4'") && strstr(header, "'fortran_order': False")
             && strstr(header, "'shape': (")
             && sscanf(strstr(header, "'shape': (") + 10, "%lld, %lld", &rows, &cols) == 2
             && rows > 0 && cols > 0;
    }
    if (ok) {
        out->rows = rows, out->cols = cols;
        out->values = malloc((size_t)(rows * cols) * sizeof(float));
        ok = out->values && fread(out->values, sizeof(float), (size_t)(rows * cols), file)
                                == (size_t)(rows * cols);
    }
    fclose(file);
    return ok;
}

static void print_labels(rlcc_refiner *refiner, int64_t n)
{
    int32_t *labels = malloc((size_t)n * sizeof *labels);
    rlcc_refiner_labels(refiner, labels);
    printf("labels:");
    for (int64_t i = 0; i < n; i++)
        printf(" %d", labels[i]);
    printf("\n");
    free(labels);
}

int main(int argc, char **argv)
{
    const char *dir = argc > 1 ? argv[1] : "examples/data";
    char path[2][512];
    matrix features[2] = {{0, 0, NULL}, {0, 0, NULL}};
    for (int g = 0; g < 2; g++) {
        snprintf(path[g], sizeof path[g], "%s/reid_gen%d.npy", dir, g);
        if (!load_npy(path[g], &features[g])) {
            fprintf(stderr, "cannot read %s\n", path[g]);
            return 1;
        }
    }
    const int64_t n = features[0].rows, d = features[0].cols;

    /* RLCC's defaults (Jaccard, eps 0.58/0.60/0.62, reliability, alpha 0.9),
     * with neighbour lists sized for 10 images per identity */
    rlcc_pseudo_options pseudo;
    rlcc_pseudo_options_init(&pseudo, sizeof pseudo);
    pseudo.k1 = 10;
    pseudo.k2 = 3;
    rlcc_refiner *refiner = NULL;
    int code = rlcc_refiner_new(n, d, &pseudo, NULL, &refiner);
    /* both matrices stay alive and unchanged until the refiner is freed, so
     * it may borrow them instead of keeping a copy */
    rlcc_step_options step;
    rlcc_step_options_init(&step, sizeof step);
    step.borrow = 1;
    printf("librlcc %s, %lld samples x %lld\n", rlcc_version_string(), (long long)n, (long long)d);
    for (int g = 0; g < 2 && code == RLCC_OK; g++) {
        code = rlcc_refiner_step_matrix(refiner, features[g].values, d, &step);
        if (code != RLCC_OK)
            break;
        printf("generation %d: %lld classes, reliability threshold %.6f\n", g,
               (long long)rlcc_refiner_n_classes(refiner), rlcc_refiner_threshold(refiner));
        print_labels(refiner, n);
    }
    if (code == RLCC_OK) {
        const int64_t k = rlcc_refiner_n_classes(refiner);
        float *targets = malloc((size_t)(n * k) * sizeof *targets);
        code = rlcc_refiner_targets(refiner, NULL, n, targets, k);
        double total = 0.0;
        for (int64_t i = 0; i < n * k; i++)
            total += targets[i];
        printf("targets: %lld x %lld, total %.6f\n", (long long)n, (long long)k, total);
        /* the five least certain samples: smallest top weight, then lowest index */
        int64_t *best = malloc((size_t)n * sizeof *best);
        char *shown = calloc((size_t)n, 1);
        for (int64_t i = 0; i < n; i++) {
            best[i] = 0;
            for (int64_t c = 1; c < k; c++)
                if (targets[i * k + c] > targets[i * k + best[i]])
                    best[i] = c;
        }
        for (int r = 0; r < 5 && r < n; r++) {
            int64_t pick = -1;
            for (int64_t i = 0; i < n; i++)
                if (!shown[i] && (pick < 0 || targets[i * k + best[i]] < targets[pick * k + best[pick]]))
                    pick = i;
            shown[pick] = 1;
            printf("uncertain sample %lld: class %lld, weight %.6f\n", (long long)pick,
                   (long long)best[pick], targets[pick * k + best[pick]]);
        }
        free(best);
        free(shown);
        free(targets);
    }
    if (code != RLCC_OK)
        fprintf(stderr, "librlcc: %s (%s)\n", rlcc_strerror(code), rlcc_last_error());
    rlcc_refiner_free(refiner);
    free(features[0].values);
    free(features[1].values);
    return code == RLCC_OK ? 0 : 1;
}
