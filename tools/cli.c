/*
 * cli.c - the `rlcc` command-line tool.
 *
 *   rlcc cluster FEATURES.npy -o LABELS.npy [options]
 *   rlcc refine --prev P.npy --cur C.npy [--probs PROBS.npy] -o TARGETS.npy
 *   rlcc demo [--n N] [--generations G]
 *   rlcc proxies --labels L.npy --cameras C.npy -o PROXY.npy [--table T.npy]
 *                [--features F.npy --centroids CENT.npy] [--order O] [--norm M]
 *
 * The command line is parsed by cli_parse() (args.c), which does no I/O;
 * outputs are written through output.c (a temporary file renamed when
 * complete), progress through progress.c.
 *
 * Exit codes: 0 ok, 1 runtime error (out of memory, a memory limit, an
 * output that cannot be written), 2 usage, 3 unreadable or invalid input;
 * a signal ends the process as that signal (the shell shows 128 + N).
 */
#include <errno.h>
#include <limits.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "args.h"
#include "demo.h"
#include "npy.h"
#include "output.h"
#include "progress.h"
#include "rlcc.h"

enum { EXIT_RUNTIME = 1, EXIT_USAGE = CLI_EXIT_USAGE, EXIT_INPUT = 3 };

static const char *EXIT_HELP =
    "exit codes: 0 ok, 1 runtime error (out of memory, an output that cannot be\n"
    "            written, ...), 2 usage error, 3 unreadable or invalid input\n";

static const char *PROGRESS_HELP =
    "  -q, --quiet                        no progress on stderr\n"
    "  --progress                         progress on stderr even when it is not a\n"
    "                                     terminal (default: only on a terminal)\n";

static const char *SYNOPSIS[] = {
    [CLI_NONE] = "usage: rlcc COMMAND [options]   (COMMAND: cluster, refine, proxies, demo)\n",
    [CLI_CLUSTER] = "usage: rlcc cluster FEATURES.npy -o LABELS.npy [options]\n",
    [CLI_REFINE] = ("usage: rlcc refine --prev P.npy --cur C.npy [--probs PROBS.npy] -o TARGETS.npy\n"
                    "                   [--alpha A] [--w W] [--beta B]\n"),
    [CLI_DEMO] = "usage: rlcc demo [--n N] [--generations G]\n",
    [CLI_PROXIES] = ("usage: rlcc proxies --labels L.npy --cameras C.npy -o PROXY.npy [--table T.npy]\n"
                     "                    [--features F.npy --centroids CENT.npy]\n"
                     "                    [--order camera|cluster] [--norm double|float32]\n"),
};

static void usage(int command, FILE *out)
{
    fputs(SYNOPSIS[command], out);
    switch (command) {
    case CLI_CLUSTER:
        fprintf(out,
                "\nFEATURES.npy: N x D float32 or float64, C order. LABELS.npy: N int32 (<i4).\n"
                "  -o, --output LABELS.npy            where the labels go (written whole or not at all)\n"
                "  --metric jaccard|euclidean|cosine  distance (default jaccard)\n"
                "  --eps E | --eps T,N,L              one eps, or tight,normal,loose (default 0.6);\n"
                "                                     above 0, below 0.9 for jaccard\n"
                "  --min-samples M                    DBSCAN min_samples, >= 1 (default 4)\n"
                "  --k1 K1 --k2 K2                    Jaccard neighbours, 1 <= K2 <= K1 (default 30, 6)\n"
                "  --outliers keep|singleton          -1 stays, or singletons (default keep)\n"
                "  --threads T                        librlcc's threads, 0 to %d (default 0: all)\n"
                "  --algorithm auto|brute|grid|kd_tree\n"
                "                                     DBSCAN's neighbour search (default auto)\n"
                "  --method dbscan|infomap|kmeans     the pseudo-labeler (default dbscan)\n"
                "  --k K --similarity S --cluster-num C\n"
                "                                     infomap: neighbours per list with self,\n"
                "                                     links while sim >= S, clusters of <= C\n"
                "                                     members are outliers (default 15, 0.5, 4)\n"
                "  --clusters K --max-iter I          kmeans: K clusters from faiss's start rows,\n"
                "                                     at most I Lloyd steps (default 500, 300)\n"
                "  --seed S                           infomap's search, kmeans' start (default\n"
                "                                     123, 1234)\n"
                "%s"
                "With three eps and --outliers singleton, SpCL's reliability criterion runs.\n"
                "Jaccard, infomap and kmeans read unit rows: rows are L2-normalised first.\n"
                "--metric, --eps, --min-samples, --k1, --k2, --algorithm are dbscan's; an option\n"
                "of another method than --method's is refused, as is --outliers with kmeans.\n"
                "--algorithm: for --metric euclidean or cosine with one eps; every choice gives\n"
                "the same labels. grid takes euclidean and D <= %d, kd_tree euclidean.\n",
                CLI_MAX_THREADS, PROGRESS_HELP, RLCC_DBSCAN_GRID_MAX_DIM);
        break;
    case CLI_REFINE:
        fprintf(out,
                "\nP.npy, C.npy: N int32/int64 labels of generations t-1 and t (-1 = not trained).\n"
                "PROBS.npy: N x K_prev float32/float64 class probabilities of generation t-1\n"
                "(without it, the previous labels are propagated hard).\n"
                "TARGETS.npy: N x K_cur float32 = alpha onehot(cur) + (1 - alpha) S, with\n"
                "S = beta hard + (1 - beta) (w onehot(prev) + (1 - w) PROBS) Chat, Chat the\n"
                "row-normalised IoU of the two labelings. A, W, B in [0, 1]; defaults: alpha\n"
                "0.9, w 0, beta 0.\n%s",
                PROGRESS_HELP);
        break;
    case CLI_PROXIES:
        fprintf(out,
                "\nCamera-aware proxies (CAP, ICE, O2CAP, PPLR): one proxy per (cluster, camera)\n"
                "pair that has a member. L.npy: N int32/int64 labels (-1 = noise, no proxy);\n"
                "C.npy: N int32/int64 cameras (>= 0). PROXY.npy: N int32 proxy ids (-1 for\n"
                "noise). T.npy: M x 2 int32, each proxy's (cluster, camera). CENT.npy: M x D\n"
                "float32, the L2-normalised mean of each proxy's rows of F.npy (N x D).\n"
                "  --order camera|cluster   camera-major (CAP, ICE; default) or cluster-major\n"
                "                           (O2CAP, PPLR)\n"
                "  --norm double|float32    the centroid norm in double (default) or in float32\n"
                "                           as NumPy (CAP's and ICE's bytes)\n%s",
                PROGRESS_HELP);
        break;
    case CLI_DEMO:
        fprintf(out,
                "\nA simulated unsupervised re-ID training run on built-in data (default\n"
                "12,936 images, D = 2048, 751 identities, 6 cameras, 8 generations with\n"
                "shrinking noise), with RLCC and without it. N: %d to %d, G: 1 to %d.\n%s",
                CLI_DEMO_MIN_N, CLI_DEMO_MAX_N, CLI_DEMO_MAX_GENERATIONS, PROGRESS_HELP);
        break;
    default:
        fprintf(out,
                "\ncommands:\n"
                "  cluster   pseudo labels for a feature matrix (.npy)\n"
                "  refine    RLCC training targets from two generations of labels\n"
                "  proxies   camera-aware proxies and their centroids\n"
                "  demo      a simulated training run on built-in re-ID-like data\n\n"
                "rlcc COMMAND --help for each; librlcc %s\n",
                rlcc_version_string());
        break;
    }
    fputs("Long options may be abbreviated to a unique prefix; --opt=value or --opt value.\n",
          out);
    fputs(EXIT_HELP, out);
}

/* ---- messages: the progress line is ended first ------------------------------ */
static cli_progress progress;

static int say(int code, const char *format, ...) __attribute__((format(printf, 2, 3)));
static int say(int code, const char *format, ...)
{
    progress_finish(&progress);
    va_list ap;
    va_start(ap, format);
    fputs("rlcc: ", stderr);
    vfprintf(stderr, format, ap);
    fputc('\n', stderr);
    va_end(ap);
    return code;
}

static int library_error(const char *what, int code)
{
    return say(code == RLCC_E_INVALID_ARGUMENT ? EXIT_INPUT : EXIT_RUNTIME, "%s: %s: %s", what,
               rlcc_strerror(code), rlcc_last_error());
}

/* ---- reading and writing with progress -------------------------------------- */
typedef struct io_stage {
    char label[160];
} io_stage;

static void io_progress(double fraction, void *data)
{
    progress_update(&progress, ((io_stage *)data)->label, fraction, NULL);
}

/* npy_read_progress() with a "reading PATH" line; 0 or EXIT_INPUT. */
static int read_npy(const char *path, npy_array *a)
{
    io_stage stage;
    char error[600];
    snprintf(stage.label, sizeof stage.label, "reading %s", path);
    progress_update(&progress, stage.label, 0.0, NULL);
    if (npy_read_progress(path, a, error, sizeof error, io_progress, &stage) != 0)
        return say(EXIT_INPUT, "%s", error);
    progress_update(&progress, stage.label, 1.0, NULL);
    return 0;
}

/* The array to path, whole or not at all (output.h); 0 or EXIT_RUNTIME. */
static int write_npy(const char *path, npy_type type, int64_t rows, int64_t cols,
                     const void *data)
{
    io_stage stage;
    char error[PATH_MAX + 400];
    out_file out;
    snprintf(stage.label, sizeof stage.label, "writing %s", path);
    progress_update(&progress, stage.label, 0.0, NULL);
    if (out_open(&out, path, error, sizeof error) != 0)
        return say(EXIT_RUNTIME, "%s", error);
    if (npy_write(out.f, type, rows, cols, data, io_progress, &stage) != 0) {
        out_abort(&out, errno != 0 ? errno : EIO, error, sizeof error);
        return say(EXIT_RUNTIME, "%s", error);
    }
    if (out_commit(&out, error, sizeof error) != 0)
        return say(EXIT_RUNTIME, "%s", error);
    progress_update(&progress, stage.label, 1.0, NULL);
    return 0;
}

/* ---- cluster ------------------------------------------------------------------ */

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

static int cluster(const cli_args *a)
{
    const rlcc_pseudo_options *opts = &a->pseudo;
    npy_array features;
    int rc = read_npy(a->input, &features);
    if (rc != 0)
        return rc;
    char error[600];
    if (features.ndim != 2 || features.cols < 1 ||
        npy_as_float32(&features, error, sizeof error) != 0) {
        npy_free(&features);
        return say(EXIT_INPUT, "%s: %s", a->input,
                   features.ndim != 2  ? "features must be a 2-D array (N x D)"
                   : features.cols < 1 ? "features must have at least one column (D >= 1)"
                                       : error);
    }
    /* rows * cols * 4 bytes were in the file, so n * 4 cannot overflow */
    const int64_t n = features.rows, d = features.cols;
    int32_t *labels = malloc(sizeof(int32_t) * (size_t)(n > 0 ? n : 1));
    if (labels == NULL) {
        npy_free(&features);
        return say(EXIT_RUNTIME, "out of memory (%lld labels)", (long long)n);
    }
    static const char *METRIC[] = {"euclidean", "cosine", "jaccard"};
    char label[160];
    if (opts->method == RLCC_PSEUDO_INFOMAP)
        snprintf(label, sizeof label, "clustering %lld x %lld (infomap, k %d)", (long long)n,
                 (long long)d, (int)opts->infomap_k);
    else if (opts->method == RLCC_PSEUDO_KMEANS)
        snprintf(label, sizeof label, "clustering %lld x %lld (kmeans, %lld clusters)",
                 (long long)n, (long long)d, (long long)opts->kmeans_k);
    else
        snprintf(label, sizeof label, "clustering %lld x %lld (%s, %s)", (long long)n,
                 (long long)d, opts->metric >= 0 && opts->metric < 3 ? METRIC[opts->metric] : "?",
                 opts->n_eps == 3 ? "three eps" : "one eps");
    progress_update(&progress, label, 0.0, NULL);
    progress_start(&progress);
    const int plain = opts->method == RLCC_PSEUDO_DBSCAN && opts->metric != RLCC_METRIC_JACCARD &&
                      opts->n_eps == 1;
    int64_t classes = 0;
    rc = plain ? plain_dbscan(&features, opts, a->algorithm, labels, &classes)
               : rlcc_pseudo_labels(features.data, n, d, d, opts, labels, &classes, NULL);
    progress_stop(&progress);
    npy_free(&features);
    if (rc != RLCC_OK) {
        free(labels);
        return library_error("cluster", rc);
    }
    progress_update(&progress, label, 1.0, NULL);
    int64_t noise = 0;
    for (int64_t i = 0; i < n; i++)
        noise += labels[i] < 0;
    rc = write_npy(a->output, NPY_I4, n, 0, labels);
    free(labels);
    if (rc != 0)
        return rc;
    progress_finish(&progress);
    printf("%lld samples: %lld classes, %lld noise -> %s\n", (long long)n, (long long)classes,
           (long long)noise, a->output);
    return 0;
}

/* ---- refine ------------------------------------------------------------------- */

static int read_labels(const char *path, npy_array *a)
{
    char error[600];
    int rc = read_npy(path, a);
    if (rc != 0)
        return rc;
    if (a->ndim != 1 || npy_as_int32(a, error, sizeof error) != 0) {
        const int ndim = a->ndim;
        npy_free(a);
        return say(EXIT_INPUT, "%s: %s", path, ndim != 1 ? "labels must be a 1-D array" : error);
    }
    return 0;
}

/* The number of classes labels imply: max + 1, in int64 (a label of
 * INT32_MAX gives 2^31), 0 when every label is -1 or below. */
static int64_t class_count(const int32_t *labels, int64_t n)
{
    int64_t top = -1;
    for (int64_t i = 0; i < n; i++)
        top = labels[i] > top ? labels[i] : top;
    return top + 1;
}

/* ---- proxies ------------------------------------------------------------------ */

static int compare_int32(const void *a, const void *b)
{
    const int32_t x = *(const int32_t *)a, y = *(const int32_t *)b;
    return (x > y) - (x < y);
}

/* The number of distinct values in v[0..m), or -1 out of memory. */
static int64_t distinct_count(const int32_t *v, int64_t m)
{
    int32_t *sorted = malloc(sizeof *sorted * (size_t)(m > 0 ? m : 1));
    if (sorted == NULL)
        return -1;
    memcpy(sorted, v, sizeof *sorted * (size_t)m);
    qsort(sorted, (size_t)m, sizeof *sorted, compare_int32);
    int64_t count = 0;
    for (int64_t i = 0; i < m; i++)
        count += i == 0 || sorted[i] != sorted[i - 1];
    free(sorted);
    return count;
}

/* The proxies' centroids over F.npy (M x D, malloc'ed into *out, *d its
 * columns); 0 or an exit code. */
static int proxy_centroids(const cli_args *a, const int32_t *proxy, int64_t n, int64_t m,
                           float **out, int64_t *d_out)
{
    npy_array features;
    char error[600];
    int rc = read_npy(a->features, &features);
    if (rc != 0)
        return rc;
    if (features.ndim != 2 || features.rows != n || features.cols < 1 ||
        npy_as_float32(&features, error, sizeof error) != 0) {
        const int shape_ok = features.ndim == 2 && features.rows == n && features.cols >= 1;
        npy_free(&features);
        return say(EXIT_INPUT, "%s: %s", a->features,
                   shape_ok ? error : "features must be N x D (N the labels' length, D >= 1)");
    }
    const int64_t d = features.cols;
    /* m <= n proxies of d values: n * d floats were in the file */
    float *centroids = malloc(sizeof(float) * (size_t)(m > 0 ? m * d : 1));
    if (centroids == NULL) {
        npy_free(&features);
        return say(EXIT_RUNTIME, "out of memory (%lld x %lld centroids)", (long long)m,
                   (long long)d);
    }
    rlcc_centroid_options copts;
    rlcc_centroid_options_init(&copts, sizeof copts);
    copts.norm = a->norm;
    rc = m > 0 ? rlcc_centroids_opts(features.data, n, d, d, proxy, m, &copts, centroids, d)
               : RLCC_OK;
    npy_free(&features);
    if (rc != RLCC_OK) {
        free(centroids);
        return library_error("proxies", rc);
    }
    *out = centroids;
    *d_out = d;
    return 0;
}

/* The proxies of L.npy and C.npy: ids, the (cluster, camera) table and the
 * centroids are all computed before the first output is written, so bad
 * input leaves no output behind. */
static int proxies(const cli_args *a)
{
    npy_array labels, cameras;
    int rc = read_labels(a->labels, &labels);
    if (rc != 0)
        return rc;
    rc = read_labels(a->cameras, &cameras);
    if (rc != 0) {
        npy_free(&labels);
        return rc;
    }
    const int64_t n = labels.rows;
    int32_t *proxy = NULL, *table = NULL, *pairs = NULL;
    float *centroids = NULL;
    int64_t m = 0, d = 0, noise = 0, n_clusters = 0, n_cameras = 0;
    if (cameras.rows != n)
        rc = say(EXIT_INPUT, "--labels and --cameras have different lengths (%lld and %lld)",
                 (long long)n, (long long)cameras.rows);
    if (rc == 0) {
        proxy = malloc(sizeof(int32_t) * (size_t)(n > 0 ? n : 1));
        table = malloc(2 * sizeof(int32_t) * (size_t)(n > 0 ? n : 1));
        pairs = malloc(2 * sizeof(int32_t) * (size_t)(n > 0 ? n : 1));
        if (proxy == NULL || table == NULL || pairs == NULL)
            rc = say(EXIT_RUNTIME, "out of memory (%lld samples)", (long long)n);
    }
    if (rc == 0) {
        rlcc_proxy_options popts;
        rlcc_proxy_options_init(&popts, sizeof popts);
        popts.order = a->order;
        /* each proxy's cluster and camera into the two halves of table */
        const int lib = rlcc_camera_proxies(labels.data, cameras.data, n, &popts, proxy, &m,
                                            table, table + n);
        if (lib != RLCC_OK)
            rc = library_error("proxies", lib);
    }
    if (rc == 0) {
        for (int64_t i = 0; i < n; i++)
            noise += proxy[i] < 0;
        for (int64_t p = 0; p < m; p++) { /* M x 2, row-major */
            pairs[2 * p] = table[p];
            pairs[2 * p + 1] = table[n + p];
        }
        n_clusters = distinct_count(table, m);
        n_cameras = distinct_count(table + n, m);
        if (n_clusters < 0 || n_cameras < 0)
            rc = say(EXIT_RUNTIME, "out of memory (%lld proxies)", (long long)m);
    }
    npy_free(&cameras);
    npy_free(&labels);
    free(table);
    if (rc == 0 && a->features != NULL)
        rc = proxy_centroids(a, proxy, n, m, &centroids, &d);
    if (rc == 0)
        rc = write_npy(a->output, NPY_I4, n, 0, proxy);
    if (rc == 0 && a->table != NULL)
        rc = write_npy(a->table, NPY_I4, m, 2, pairs);
    if (rc == 0 && centroids != NULL)
        rc = write_npy(a->centroids, NPY_F4, m, d, centroids);
    free(centroids);
    free(pairs);
    free(proxy);
    if (rc != 0)
        return rc;
    progress_finish(&progress);
    printf("%lld samples: %lld proxies of %lld clusters over %lld cameras, %lld noise -> %s\n",
           (long long)n, (long long)m, (long long)n_clusters, (long long)n_cameras,
           (long long)noise, a->output);
    return 0;
}

/* Half of physical memory, the library's default max_bytes. */
static double memory_budget(void)
{
    const long pages = sysconf(_SC_PHYS_PAGES), page = sysconf(_SC_PAGESIZE);
    return pages > 0 && page > 0 ? 0.5 * (double)pages * (double)page : 1e18;
}

static int refine_arrays(const cli_args *a, const npy_array *prev, const npy_array *cur,
                         npy_array *probs)
{
    const int64_t n = prev->rows;
    if (cur->rows != n)
        return say(EXIT_INPUT, "--prev and --cur have different lengths (%lld and %lld)",
                   (long long)n, (long long)cur->rows);
    const int64_t k_prev = class_count(prev->data, n), k_cur = class_count(cur->data, n);
    if (k_prev < 1 || k_cur < 1)
        return say(EXIT_INPUT, "%s: every label is -1: nothing to refine",
                   k_prev < 1 ? a->prev : a->cur);
    /* the targets are dense, N x K_cur: a stray huge label asks for more
     * than the machine has, refused before anything is allocated */
    const double target_bytes = 4.0 * (double)n * (double)k_cur;
    if (target_bytes > memory_budget() || target_bytes > (double)(SIZE_MAX / 2))
        return say(EXIT_RUNTIME,
                   "%s: the targets would be %lld x %lld float32 (%.1f GiB; the largest label "
                   "is %lld), more than half of this machine's memory",
                   a->cur, (long long)n, (long long)k_cur, target_bytes / 1073741824.0,
                   (long long)(k_cur - 1));
    if (a->probs != NULL) {
        char error[600];
        int rc = read_npy(a->probs, probs);
        if (rc != 0)
            return rc;
        if (probs->ndim != 2 || probs->rows != n || probs->cols != k_prev)
            return say(EXIT_INPUT,
                       "%s: --probs must be N x K_prev = %lld x %lld (K_prev = max previous "
                       "label + 1), not %lld x %lld",
                       a->probs, (long long)n, (long long)k_prev, (long long)probs->rows,
                       (long long)(probs->ndim == 2 ? probs->cols : 1));
        if (npy_as_float32(probs, error, sizeof error) != 0)
            return say(EXIT_INPUT, "%s: %s", a->probs, error);
    }
    char label[160];
    snprintf(label, sizeof label, "targets %lld x %lld", (long long)n, (long long)k_cur);
    progress_update(&progress, label, 0.0, NULL);
    progress_start(&progress);
    float *targets = malloc(sizeof(float) * (size_t)(n * k_cur > 0 ? n * k_cur : 1));
    if (targets == NULL)
        return say(EXIT_RUNTIME, "out of memory (targets %lld x %lld float32)", (long long)n,
                   (long long)k_cur);
    rlcc_csr *chat = NULL;
    int code = rlcc_consensus_csr(prev->data, cur->data, n, k_prev, k_cur, RLCC_CONSENSUS_IOU,
                                  RLCC_NORMALIZE_SUM, &chat);
    if (code == RLCC_OK)
        code = rlcc_propagate(prev->data, n, rlcc_csr_indptr(chat), rlcc_csr_indices(chat),
                              rlcc_csr_data(chat), k_prev, k_cur, probs->data, k_prev,
                              probs->data ? a->w : 0.0f, probs->data ? a->beta : 1.0f, NULL, n,
                              targets, k_cur);
    if (code == RLCC_OK)
        code = rlcc_blend(cur->data, n, k_cur, targets, k_cur, a->alpha, NULL, n, targets, k_cur);
    progress_stop(&progress);
    rlcc_csr_free(chat);
    int rc = 0;
    if (code != RLCC_OK)
        rc = library_error("refine", code);
    if (rc == 0) {
        progress_update(&progress, label, 1.0, NULL);
        rc = write_npy(a->output, NPY_F4, n, k_cur, targets);
    }
    free(targets);
    if (rc == 0) {
        progress_finish(&progress);
        printf("%lld samples: %lld previous classes, %lld current classes -> %s\n",
               (long long)n, (long long)k_prev, (long long)k_cur, a->output);
    }
    return rc;
}

static int refine(const cli_args *a)
{
    npy_array prev = {0}, cur = {0}, probs = {0};
    int rc = read_labels(a->prev, &prev);
    if (rc == 0)
        rc = read_labels(a->cur, &cur);
    if (rc == 0)
        rc = refine_arrays(a, &prev, &cur, &probs);
    npy_free(&prev);
    npy_free(&cur);
    npy_free(&probs);
    return rc;
}

int main(int argc, char **argv)
{
    cli_args args;
    char message[600];
    if (cli_parse(argc, argv, &args, message, sizeof message) != 0) {
        fprintf(stderr, "rlcc: %s\n", message);
        if (argc < 2) {
            usage(CLI_NONE, stderr);
        } else {
            fputs(SYNOPSIS[args.command], stderr);
            fprintf(stderr, "%s%s --help: every option and its range\n",
                    args.command == CLI_NONE ? "" : "rlcc ", cli_command_name(args.command));
        }
        return EXIT_USAGE;
    }
    if (args.version) {
        printf("rlcc %s\n", rlcc_version_string());
        return 0;
    }
    if (args.help) {
        usage(args.command, stdout);
        return 0;
    }
    out_install_cleanup();
    progress_init(&progress, args.progress);
    int rc = args.command == CLI_CLUSTER   ? cluster(&args)
             : args.command == CLI_REFINE  ? refine(&args)
             : args.command == CLI_PROXIES ? proxies(&args)
                                           : rlcc_demo(args.n, (int)args.generations, &progress);
    progress_finish(&progress);
    return rc;
}
