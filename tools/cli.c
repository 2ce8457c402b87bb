/*
 * cli.c - the `rlcc` command-line tool.
 *
 *   rlcc cluster FEATURES.npy -o LABELS.npy [options]
 *   rlcc refine --prev P.npy --cur C.npy [--probs PROBS.npy] -o TARGETS.npy
 *   rlcc demo [--n N] [--generations G]
 *
 * Exit codes: 0 ok, 1 runtime error, 2 usage, 3 unreadable or invalid input.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "demo.h"
#include "npy.h"
#include "rlcc.h"

enum { EXIT_RUNTIME = 1, EXIT_USAGE = 2, EXIT_INPUT = 3 };

static const char *EXIT_HELP =
    "exit codes: 0 ok, 1 runtime error (out of memory, ...), 2 usage error,\n"
    "            3 unreadable or invalid input\n";

static void usage_main(FILE *out)
{
    fprintf(out,
            "usage: rlcc COMMAND [options]\n\n"
            "commands:\n"
            "  cluster   pseudo labels for a feature matrix (.npy)\n"
            "  refine    RLCC training targets from two generations of labels\n"
            "  demo      a simulated training run on built-in re-ID-like data\n\n"
            "rlcc COMMAND --help for each; librlcc %s\n%s",
            rlcc_version_string(), EXIT_HELP);
}

static void usage_cluster(FILE *out)
{
    fprintf(out,
            "usage: rlcc cluster FEATURES.npy -o LABELS.npy [options]\n\n"
            "FEATURES.npy: N x D float32 or float64, C order. LABELS.npy: N int32 (<i4).\n"
            "  --metric jaccard|euclidean|cosine  distance (default jaccard)\n"
            "  --eps E | --eps T,N,L              one eps, or tight,normal,loose (default 0.6)\n"
            "  --min-samples M                    DBSCAN min_samples (default 4)\n"
            "  --k1 K1 --k2 K2                    Jaccard neighbours (default 30, 6)\n"
            "  --outliers keep|singleton          -1 stays, or singletons (default keep)\n"
            "  --threads T                        librlcc's threads (default all)\n"
            "  --algorithm auto|brute|grid|kd_tree\n"
            "                                     DBSCAN's neighbour search (default auto)\n"
            "With three eps and --outliers singleton, SpCL's reliability criterion runs.\n"
            "Jaccard needs unit rows: rows are L2-normalised first.\n"
            "--algorithm: for --metric euclidean or cosine with one eps; every choice gives\n"
            "the same labels. grid takes euclidean and D <= %d, kd_tree euclidean.\n%s",
            RLCC_DBSCAN_GRID_MAX_DIM, EXIT_HELP);
}

static void usage_refine(FILE *out)
{
    fprintf(out,
            "usage: rlcc refine --prev P.npy --cur C.npy [--probs PROBS.npy] -o TARGETS.npy\n"
            "                   [--alpha A] [--w W] [--beta B]\n\n"
            "P.npy, C.npy: N int32/int64 labels of generations t-1 and t (-1 = not trained).\n"
            "PROBS.npy: N x K_prev float32/float64 class probabilities of generation t-1\n"
            "(without it, the previous labels are propagated hard).\n"
            "TARGETS.npy: N x K_cur float32 = alpha onehot(cur) + (1 - alpha) S, with\n"
            "S = beta hard + (1 - beta) (w onehot(prev) + (1 - w) PROBS) Chat, Chat the\n"
            "row-normalised IoU of the two labelings. Defaults: alpha 0.9, w 0, beta 0.\n%s",
            EXIT_HELP);
}

static int wants_help(int argc, char **argv)
{
    for (int a = 0; a < argc; a++)
        if (strcmp(argv[a], "--help") == 0 || strcmp(argv[a], "-h") == 0)
            return 1;
    return 0;
}

/* Parses a number; returns 0 when the whole text is one. */
static int parse_double(const char *text, double *out)
{
    char *end;
    *out = strtod(text, &end);
    return end != text && *end == '\0' ? 0 : -1;
}

static int parse_int(const char *text, int64_t *out)
{
    char *end;
    *out = strtoll(text, &end, 10);
    return end != text && *end == '\0' ? 0 : -1;
}

static int input_error(const char *message)
{
    fprintf(stderr, "rlcc: %s\n", message);
    return EXIT_INPUT;
}

static int library_error(const char *what, int code)
{
    fprintf(stderr, "rlcc: %s: %s: %s\n", what, rlcc_strerror(code), rlcc_last_error());
    return code == RLCC_E_INVALID_ARGUMENT ? EXIT_INPUT : EXIT_RUNTIME;
}

static int usage_error(void (*usage)(FILE *), const char *message)
{
    fprintf(stderr, "rlcc: %s\n", message);
    usage(stderr);
    return EXIT_USAGE;
}

/* One DBSCAN run on the features (--metric euclidean or cosine, one eps):
 * rlcc_dbscan_features() with the chosen neighbour search, then the outlier
 * policy as rlcc_pseudo_labels() applies it (RLCC_OUTLIERS_SINGLETON: each
 * -1, in index order, gets the next new label). rlcc_pseudo_labels() gives
 * the same labels, always by brute force: its 1.5 options have no algorithm. */
static int plain_dbscan(const npy_array *features, const rlcc_pseudo_options *opts,
                        int32_t algorithm, int32_t *labels, int64_t *classes)
{
    rlcc_dbscan_options dopts;
    rlcc_dbscan_options_init(&dopts, sizeof dopts);
    dopts.metric = opts->metric;
    dopts.n_threads = opts->n_threads;
    dopts.algorithm = algorithm;
    int rc = rlcc_dbscan_features(features->data, features->rows, features->cols, features->cols,
                                  opts->eps[0], opts->min_samples, &dopts, labels, classes, NULL,
                                  NULL);
    if (rc == RLCC_OK && opts->outliers == RLCC_OUTLIERS_SINGLETON)
        for (int64_t i = 0; i < features->rows; i++)
            if (labels[i] == -1)
                labels[i] = (int32_t)(*classes)++;
    return rc;
}

static int cluster(int argc, char **argv)
{
    if (wants_help(argc, argv)) {
        usage_cluster(stdout);
        return 0;
    }
    const char *input = NULL, *output = NULL;
    rlcc_pseudo_options opts;
    rlcc_pseudo_options_init(&opts, sizeof opts);
    opts.outliers = RLCC_OUTLIERS_KEEP;
    opts.reliability = 0;
    opts.n_eps = 1;
    opts.eps[0] = 0.6;
    int32_t algorithm = RLCC_DBSCAN_AUTO;
    for (int a = 0; a < argc; a++) {
        const char *arg = argv[a], *value = a + 1 < argc ? argv[a + 1] : NULL;
        int64_t number;
        if (arg[0] != '-') {
            if (input != NULL)
                return usage_error(usage_cluster, "more than one input file");
            input = arg;
            continue;
        }
        if (value == NULL)
            return usage_error(usage_cluster, "an option lacks its value");
        a++;
        if (strcmp(arg, "-o") == 0) {
            output = value;
        } else if (strcmp(arg, "--metric") == 0) {
            if (strcmp(value, "jaccard") == 0)
                opts.metric = RLCC_METRIC_JACCARD;
            else if (strcmp(value, "euclidean") == 0)
                opts.metric = RLCC_METRIC_EUCLIDEAN;
            else if (strcmp(value, "cosine") == 0)
                opts.metric = RLCC_METRIC_COSINE;
            else
                return usage_error(usage_cluster, "--metric must be jaccard, euclidean or cosine");
        } else if (strcmp(arg, "--eps") == 0) {
            char copy[256];
            snprintf(copy, sizeof copy, "%s", value);
            int count = 0;
            for (char *part = strtok(copy, ","); part != NULL; part = strtok(NULL, ",")) {
                if (count == 3 || parse_double(part, &opts.eps[count]) != 0)
                    return usage_error(usage_cluster, "--eps takes one number or three, comma-separated");
                count++;
            }
            if (count != 1 && count != 3)
                return usage_error(usage_cluster, "--eps takes one number or three, comma-separated");
            opts.n_eps = count;
        } else if (strcmp(arg, "--outliers") == 0) {
            if (strcmp(value, "keep") == 0)
                opts.outliers = RLCC_OUTLIERS_KEEP;
            else if (strcmp(value, "singleton") == 0)
                opts.outliers = RLCC_OUTLIERS_SINGLETON;
            else
                return usage_error(usage_cluster, "--outliers must be keep or singleton");
        } else if (strcmp(arg, "--algorithm") == 0) {
            if (strcmp(value, "auto") == 0)
                algorithm = RLCC_DBSCAN_AUTO;
            else if (strcmp(value, "brute") == 0)
                algorithm = RLCC_DBSCAN_BRUTE;
            else if (strcmp(value, "grid") == 0)
                algorithm = RLCC_DBSCAN_GRID;
            else if (strcmp(value, "kd_tree") == 0)
                algorithm = RLCC_DBSCAN_TREE;
            else
                return usage_error(usage_cluster,
                                   "--algorithm must be auto, brute, grid or kd_tree");
        } else if (parse_int(value, &number) != 0) {
            return usage_error(usage_cluster, "a numeric option has a value that is not a number");
        } else if (strcmp(arg, "--min-samples") == 0) {
            opts.min_samples = number;
        } else if (strcmp(arg, "--k1") == 0) {
            opts.k1 = (int32_t)number;
        } else if (strcmp(arg, "--k2") == 0) {
            opts.k2 = (int32_t)number;
        } else if (strcmp(arg, "--threads") == 0) {
            opts.n_threads = (int32_t)number;
        } else {
            return usage_error(usage_cluster, "unknown option");
        }
    }
    if (input == NULL || output == NULL)
        return usage_error(usage_cluster, "needs FEATURES.npy and -o LABELS.npy");
    /* Jaccard's DBSCAN runs on its sparse graph, and three eps on one pass of
     * rlcc_pseudo_labels(): no neighbour search of the features to choose */
    const int plain = opts.metric != RLCC_METRIC_JACCARD && opts.n_eps == 1;
    if (!plain && algorithm != RLCC_DBSCAN_AUTO)
        return usage_error(usage_cluster,
                           "--algorithm brute, grid or kd_tree needs --metric euclidean or "
                           "cosine and one eps");
    opts.reliability = opts.n_eps == 3 && opts.outliers == RLCC_OUTLIERS_SINGLETON;
    opts.normalize = 1;
    char error[512];
    npy_array features;
    if (npy_read(input, &features, error, sizeof error) != 0)
        return input_error(error);
    if (features.ndim != 2 || npy_as_float32(&features, error, sizeof error) != 0) {
        npy_free(&features);
        return input_error(features.ndim != 2 ? "features must be a 2-D array (N x D)" : error);
    }
    const int64_t n = features.rows, d = features.cols;
    int32_t *labels = malloc(sizeof(int32_t) * (size_t)(n > 0 ? n : 1));
    if (labels == NULL) {
        npy_free(&features);
        fprintf(stderr, "rlcc: out of memory\n");
        return EXIT_RUNTIME;
    }
    if (isatty(STDERR_FILENO))
        fprintf(stderr, "rlcc: clustering %lld samples of dimension %lld...\n", (long long)n,
                (long long)d);
    int64_t classes = 0;
    int rc = plain ? plain_dbscan(&features, &opts, algorithm, labels, &classes)
                   : rlcc_pseudo_labels(features.data, n, d, d, &opts, labels, &classes, NULL);
    npy_free(&features);
    if (rc != RLCC_OK) {
        free(labels);
        return library_error("cluster", rc);
    }
    int64_t noise = 0;
    for (int64_t i = 0; i < n; i++)
        noise += labels[i] < 0;
    if (npy_write(output, NPY_I4, n, 0, labels) != 0) {
        free(labels);
        fprintf(stderr, "rlcc: cannot write %s\n", output);
        return EXIT_RUNTIME;
    }
    printf("%lld samples: %lld classes, %lld noise -> %s\n", (long long)n, (long long)classes,
           (long long)noise, output);
    free(labels);
    return 0;
}

static int read_labels(const char *path, npy_array *a)
{
    char error[512];
    if (npy_read(path, a, error, sizeof error) != 0)
        return input_error(error);
    if (a->ndim != 1 || npy_as_int32(a, error, sizeof error) != 0) {
        npy_free(a);
        return input_error(a->ndim != 1 ? "labels must be a 1-D array" : error);
    }
    return 0;
}

static int refine(int argc, char **argv)
{
    if (wants_help(argc, argv)) {
        usage_refine(stdout);
        return 0;
    }
    const char *prev_path = NULL, *cur_path = NULL, *probs_path = NULL, *output = NULL;
    double alpha = 0.9, w = 0.0, beta = 0.0;
    for (int a = 0; a < argc; a += 2) {
        const char *arg = argv[a], *value = a + 1 < argc ? argv[a + 1] : NULL;
        if (value == NULL)
            return usage_error(usage_refine, "an option lacks its value");
        if (strcmp(arg, "--prev") == 0)
            prev_path = value;
        else if (strcmp(arg, "--cur") == 0)
            cur_path = value;
        else if (strcmp(arg, "--probs") == 0)
            probs_path = value;
        else if (strcmp(arg, "-o") == 0)
            output = value;
        else if (strcmp(arg, "--alpha") == 0 && parse_double(value, &alpha) == 0)
            continue;
        else if (strcmp(arg, "--w") == 0 && parse_double(value, &w) == 0)
            continue;
        else if (strcmp(arg, "--beta") == 0 && parse_double(value, &beta) == 0)
            continue;
        else
            return usage_error(usage_refine, "unknown option or bad value");
    }
    if (prev_path == NULL || cur_path == NULL || output == NULL)
        return usage_error(usage_refine, "needs --prev, --cur and -o");
    npy_array prev, cur, probs = {0};
    int rc = read_labels(prev_path, &prev);
    if (rc != 0)
        return rc;
    if ((rc = read_labels(cur_path, &cur)) != 0) {
        npy_free(&prev);
        return rc;
    }
    char error[512];
    if (prev.rows != cur.rows) {
        npy_free(&prev);
        npy_free(&cur);
        return input_error("--prev and --cur have different lengths");
    }
    const int64_t n = prev.rows;
    int32_t top_prev = -1, top_cur = -1;
    for (int64_t i = 0; i < n; i++) {
        top_prev = ((int32_t *)prev.data)[i] > top_prev ? ((int32_t *)prev.data)[i] : top_prev;
        top_cur = ((int32_t *)cur.data)[i] > top_cur ? ((int32_t *)cur.data)[i] : top_cur;
    }
    const int64_t k_prev = top_prev + 1, k_cur = top_cur + 1;
    rlcc_csr *chat = NULL;
    float *targets = NULL;
    rc = 0;
    if (k_prev < 1 || k_cur < 1)
        rc = input_error("every label is -1: nothing to refine");
    if (rc == 0 && probs_path != NULL) {
        if (npy_read(probs_path, &probs, error, sizeof error) != 0)
            rc = input_error(error);
        else if (probs.ndim != 2 || probs.rows != n || probs.cols != k_prev)
            rc = input_error("--probs must be N x K_prev (K_prev = max previous label + 1)");
        else if (npy_as_float32(&probs, error, sizeof error) != 0)
            rc = input_error(error);
    }
    if (rc == 0) {
        int code = rlcc_consensus_csr(prev.data, cur.data, n, k_prev, k_cur, RLCC_CONSENSUS_IOU,
                                      RLCC_NORMALIZE_SUM, &chat);
        targets = malloc(sizeof(float) * (size_t)(n * k_cur > 0 ? n * k_cur : 1));
        if (code == RLCC_OK && targets == NULL)
            code = RLCC_E_OUT_OF_MEMORY;
        if (code == RLCC_OK)
            code = rlcc_propagate(prev.data, n, rlcc_csr_indptr(chat), rlcc_csr_indices(chat),
                                  rlcc_csr_data(chat), k_prev, k_cur, probs.data, k_prev,
                                  probs.data ? (float)w : 0.0f,
                                  probs.data ? (float)beta : 1.0f, NULL, n, targets, k_cur);
        if (code == RLCC_OK)
            code = rlcc_blend(cur.data, n, k_cur, targets, k_cur, (float)alpha, NULL, n, targets,
                              k_cur);
        if (code != RLCC_OK)
            rc = library_error("refine", code);
    }
    if (rc == 0 && npy_write(output, NPY_F4, n, k_cur, targets) != 0) {
        fprintf(stderr, "rlcc: cannot write %s\n", output);
        rc = EXIT_RUNTIME;
    }
    if (rc == 0)
        printf("%lld samples: %lld previous classes, %lld current classes -> %s\n",
               (long long)n, (long long)k_prev, (long long)k_cur, output);
    rlcc_csr_free(chat);
    free(targets);
    npy_free(&prev);
    npy_free(&cur);
    npy_free(&probs);
    return rc;
}

static int demo(int argc, char **argv)
{
    if (wants_help(argc, argv)) {
        printf("usage: rlcc demo [--n N] [--generations G]\n\n"
               "A simulated unsupervised re-ID training run on built-in data (default\n"
               "12,936 images, D = 2048, 751 identities, 6 cameras, 8 generations with\n"
               "shrinking noise), with RLCC and without it.\n%s",
               EXIT_HELP);
        return 0;
    }
    int64_t n = 12936, generations = 8;
    for (int a = 0; a < argc; a += 2) {
        int64_t *target = strcmp(argv[a], "--n") == 0 ? &n
                          : strcmp(argv[a], "--generations") == 0 ? &generations : NULL;
        if (target == NULL || a + 1 >= argc || parse_int(argv[a + 1], target) != 0 ||
            *target < (target == &n ? 100 : 1))
            return usage_error(usage_main, "demo takes --n N (>= 100) and --generations G (>= 1)");
    }
    return rlcc_demo(n, (int)generations) == 0 ? 0 : EXIT_RUNTIME;
}

int main(int argc, char **argv)
{
    if (argc < 2) {
        usage_main(stderr);
        return EXIT_USAGE;
    }
    if (strcmp(argv[1], "--help") == 0 || strcmp(argv[1], "-h") == 0) {
        usage_main(stdout);
        return 0;
    }
    if (strcmp(argv[1], "--version") == 0) {
        printf("rlcc %s\n", rlcc_version_string());
        return 0;
    }
    if (strcmp(argv[1], "cluster") == 0)
        return cluster(argc - 2, argv + 2);
    if (strcmp(argv[1], "refine") == 0)
        return refine(argc - 2, argv + 2);
    if (strcmp(argv[1], "demo") == 0)
        return demo(argc - 2, argv + 2);
    fprintf(stderr, "rlcc: unknown command '%s'\n", argv[1]);
    usage_main(stderr);
    return EXIT_USAGE;
}
