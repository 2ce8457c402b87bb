/* args.c - see args.h. No I/O here: every refusal is a message. */
#include "args.h"

#include <ctype.h>
#include <errno.h>
#include <getopt.h>
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* Option ids: the short options are their letter, long-only ones from 256. */
enum {
    OPT_HELP = 'h',
    OPT_OUTPUT = 'o',
    OPT_QUIET = 'q',
    OPT_PROGRESS = 256,
    OPT_METRIC,
    OPT_EPS,
    OPT_MIN_SAMPLES,
    OPT_K1,
    OPT_K2,
    OPT_OUTLIERS,
    OPT_THREADS,
    OPT_ALGORITHM,
    OPT_METHOD,
    OPT_K,
    OPT_MIN_SIM,
    OPT_CLUSTER_NUM,
    OPT_CLUSTERS,
    OPT_MAX_ITER,
    OPT_SEED,
    OPT_PREV,
    OPT_CUR,
    OPT_PROBS,
    OPT_ALPHA,
    OPT_W,
    OPT_BETA,
    OPT_N,
    OPT_GENERATIONS,
    OPT_LABELS,
    OPT_CAMERAS,
    OPT_FEATURES,
    OPT_CENTROIDS,
    OPT_TABLE,
    OPT_ORDER,
    OPT_NORM,
    OPT_END, /* the long-only options fit parse_state.given's 64 bits */
};
_Static_assert(OPT_END - OPT_PROGRESS <= 64, "parse_state.given has a bit per option");

#define COMMON_OPTIONS                                                                   \
    {"help", no_argument, NULL, OPT_HELP}, {"quiet", no_argument, NULL, OPT_QUIET},     \
        {"progress", no_argument, NULL, OPT_PROGRESS}

static const struct option CLUSTER_OPTIONS[] = {
    COMMON_OPTIONS,
    {"output", required_argument, NULL, OPT_OUTPUT},
    {"metric", required_argument, NULL, OPT_METRIC},
    {"eps", required_argument, NULL, OPT_EPS},
    {"min-samples", required_argument, NULL, OPT_MIN_SAMPLES},
    {"k1", required_argument, NULL, OPT_K1},
    {"k2", required_argument, NULL, OPT_K2},
    {"outliers", required_argument, NULL, OPT_OUTLIERS},
    {"threads", required_argument, NULL, OPT_THREADS},
    {"algorithm", required_argument, NULL, OPT_ALGORITHM},
    {"method", required_argument, NULL, OPT_METHOD},
    {"k", required_argument, NULL, OPT_K},
    {"similarity", required_argument, NULL, OPT_MIN_SIM},
    {"cluster-num", required_argument, NULL, OPT_CLUSTER_NUM},
    {"clusters", required_argument, NULL, OPT_CLUSTERS},
    {"max-iter", required_argument, NULL, OPT_MAX_ITER},
    {"seed", required_argument, NULL, OPT_SEED},
    {NULL, 0, NULL, 0},
};

static const struct option REFINE_OPTIONS[] = {
    COMMON_OPTIONS,
    {"output", required_argument, NULL, OPT_OUTPUT},
    {"prev", required_argument, NULL, OPT_PREV},
    {"cur", required_argument, NULL, OPT_CUR},
    {"probs", required_argument, NULL, OPT_PROBS},
    {"alpha", required_argument, NULL, OPT_ALPHA},
    {"w", required_argument, NULL, OPT_W},
    {"beta", required_argument, NULL, OPT_BETA},
    {NULL, 0, NULL, 0},
};

static const struct option DEMO_OPTIONS[] = {
    COMMON_OPTIONS,
    {"n", required_argument, NULL, OPT_N},
    {"generations", required_argument, NULL, OPT_GENERATIONS},
    {NULL, 0, NULL, 0},
};

static const struct option PROXIES_OPTIONS[] = {
    COMMON_OPTIONS,
    {"output", required_argument, NULL, OPT_OUTPUT},
    {"labels", required_argument, NULL, OPT_LABELS},
    {"cameras", required_argument, NULL, OPT_CAMERAS},
    {"features", required_argument, NULL, OPT_FEATURES},
    {"centroids", required_argument, NULL, OPT_CENTROIDS},
    {"table", required_argument, NULL, OPT_TABLE},
    {"order", required_argument, NULL, OPT_ORDER},
    {"norm", required_argument, NULL, OPT_NORM},
    {NULL, 0, NULL, 0},
};

const char *cli_command_name(int command)
{
    switch (command) {
    case CLI_CLUSTER: return "cluster";
    case CLI_REFINE: return "refine";
    case CLI_DEMO: return "demo";
    case CLI_PROXIES: return "proxies";
    default: return "rlcc";
    }
}

static int refuse(char *message, size_t size, const char *format, ...)
    __attribute__((format(printf, 3, 4)));
static int refuse(char *message, size_t size, const char *format, ...)
{
    va_list ap;
    va_start(ap, format);
    vsnprintf(message, size, format, ap);
    va_end(ap);
    return CLI_EXIT_USAGE;
}

/* text in single quotes, printable: quotes, backslashes and control or
 * non-ASCII bytes escaped, and shortened after 60 bytes */
static const char *quoted(const char *text, char out[300])
{
    size_t at = 0;
    out[at++] = '\'';
    for (size_t i = 0; text[i] != '\0'; i++) {
        if (i == 60) {
            memcpy(out + at, "...", 3);
            at += 3;
            break;
        }
        const unsigned char c = (unsigned char)text[i];
        if (c == '\'' || c == '\\') {
            out[at++] = '\\';
            out[at++] = (char)c;
        } else if (c < 0x20 || c >= 0x7f) {
            at += (size_t)snprintf(out + at, 5, "\\x%02x", c);
        } else {
            out[at++] = (char)c;
        }
    }
    out[at++] = '\'';
    out[at] = '\0';
    return out;
}

/* The option's name as the user sees it: "--k1", "-o". */
static const char *option_name(const struct option *options, int id, char out[64])
{
    for (const struct option *o = options; o->name != NULL; o++)
        if (o->val == id) {
            snprintf(out, 64, id == OPT_OUTPUT ? "-o" : "--%s", o->name);
            return out;
        }
    snprintf(out, 64, isprint(id) ? "-%c" : "an option", id);
    return out;
}

/* 0: *out is the integer text denotes; -1: not an integer; 1: beyond int64. */
static int read_integer(const char *text, int64_t *out)
{
    if (text[0] == '\0' || isspace((unsigned char)text[0]))
        return -1;
    char *end;
    errno = 0;
    const long long v = strtoll(text, &end, 10);
    if (end == text || *end != '\0')
        return -1;
    if (errno == ERANGE)
        return 1;
    *out = v;
    return 0;
}

/* The number in text[0..len), as a float (single) or a double. 0: done;
 * -1: not a number (NaN included); 1: beyond the type (overflow, or a
 * non-zero value that rounds to 0). */
static int read_real(const char *text, size_t len, int single, double *out)
{
    if (len == 0 || isspace((unsigned char)text[0]))
        return -1;
    char *end;
    errno = 0;
    const double v = single ? (double)strtof(text, &end) : strtod(text, &end);
    if (end != text + len || isnan(v))
        return -1;
    if (errno == ERANGE && (isinf(v) || v == 0.0))
        return 1;
    *out = v;
    return 0;
}

typedef struct parse_state {
    const struct option *options;
    char *message;
    size_t size;
    const char *eps_text, *k1_text, *k2_text;
    uint64_t given; /* given_bit(OPT_x): the option was on the command line */
    const char *text[64]; /* [id - OPT_PROGRESS]: the last value given */
} parse_state;

/* The bit of a long-only option (OPT_PROGRESS and after) in parse_state.given. */
static uint64_t given_bit(int id)
{
    return UINT64_C(1) << (id - OPT_PROGRESS);
}

static int integer_option(parse_state *s, int id, const char *text, int64_t lo, int64_t hi,
                          int64_t *out)
{
    char name[64], q[300];
    int64_t v;
    const int rc = read_integer(text, &v);
    if (rc < 0)
        return refuse(s->message, s->size, "%s: %s is not an integer",
                      option_name(s->options, id, name), quoted(text, q));
    if (rc > 0 || v < lo || v > hi)
        return refuse(s->message, s->size, "%s: %s is out of range (%lld to %lld)",
                      option_name(s->options, id, name), quoted(text, q), (long long)lo,
                      (long long)hi);
    *out = v;
    return 0;
}

/* alpha, w, beta: a float in [0, 1] */
static int weight_option(parse_state *s, int id, const char *text, float *out)
{
    char name[64], q[300];
    double v;
    const int rc = read_real(text, strlen(text), 1, &v);
    if (rc < 0)
        return refuse(s->message, s->size, "%s: %s is not a number",
                      option_name(s->options, id, name), quoted(text, q));
    if (rc > 0 || !(v >= 0.0 && v <= 1.0))
        return refuse(s->message, s->size, "%s: %s is out of range (0 to 1)",
                      option_name(s->options, id, name), quoted(text, q));
    *out = (float)v;
    return 0;
}

/* a double in [lo, hi] */
static int real_option(parse_state *s, int id, const char *text, double lo, double hi,
                       double *out)
{
    char name[64], q[300];
    double v;
    const int rc = read_real(text, strlen(text), 0, &v);
    if (rc < 0)
        return refuse(s->message, s->size, "%s: %s is not a number",
                      option_name(s->options, id, name), quoted(text, q));
    if (rc > 0 || !(v >= lo && v <= hi))
        return refuse(s->message, s->size, "%s: %s is out of range (%g to %g)",
                      option_name(s->options, id, name), quoted(text, q), lo, hi);
    *out = v;
    return 0;
}

/* --eps E or --eps T,N,L: every field a number > 0 (the metric's upper
 * bound is checked once every option is read) */
static int eps_option(parse_state *s, const char *text, rlcc_pseudo_options *p)
{
    char q[300];
    double eps[3];
    int count = 0;
    for (const char *field = text;; count++) {
        const char *comma = strchr(field, ',');
        const size_t len = comma != NULL ? (size_t)(comma - field) : strlen(field);
        if (len == 0)
            return refuse(s->message, s->size,
                          "--eps: %s has an empty value (give E, or T,N,L with no empty field)",
                          quoted(text, q));
        if (count == 3)
            return refuse(s->message, s->size,
                          "--eps: %s has more than three values (give E, or T,N,L)",
                          quoted(text, q));
        const int rc = read_real(field, len, 0, &eps[count]);
        if (rc == 0 && eps[count] > 0.0)
            ; /* a radius */
        else if (comma == NULL && count == 0) /* the only value */
            return refuse(s->message, s->size, "--eps: %s %s", quoted(text, q),
                          rc < 0 ? "is not a number" : "is out of range (above 0, finite or inf)");
        else
            return refuse(s->message, s->size, "--eps: %s: value %d %s", quoted(text, q),
                          count + 1,
                          rc < 0 ? "is not a number" : "is out of range (above 0, finite or inf)");
        if (comma == NULL)
            break;
        field = comma + 1;
    }
    count++;
    if (count != 1 && count != 3)
        return refuse(s->message, s->size,
                      "--eps: %s has %d values: give one (E) or three (T,N,L)", quoted(text, q),
                      count);
    memcpy(p->eps, eps, sizeof(double) * (size_t)count);
    p->n_eps = count;
    s->eps_text = text;
    return 0;
}

/* value must be one of names[0..count); *out = ids[i] */
static int choice_option(parse_state *s, int id, const char *text, const char *const *names,
                         const int32_t *ids, int count, int32_t *out)
{
    for (int i = 0; i < count; i++)
        if (strcmp(text, names[i]) == 0) {
            *out = ids[i];
            return 0;
        }
    char name[64], q[300], list[128] = "";
    for (int i = 0; i < count; i++)
        snprintf(list + strlen(list), sizeof list - strlen(list), "%s%s",
                 i == 0 ? "" : i + 1 == count ? " or " : ", ", names[i]);
    return refuse(s->message, s->size, "%s: %s must be %s", option_name(s->options, id, name),
                  quoted(text, q), list);
}

static int path_option(parse_state *s, int id, const char *text, const char **out)
{
    char name[64];
    if (text[0] == '\0')
        return refuse(s->message, s->size, "%s: the file name is empty",
                      option_name(s->options, id, name));
    *out = text;
    return 0;
}

static int cluster_option(parse_state *s, int id, const char *value, cli_args *a)
{
    static const char *const METRICS[] = {"jaccard", "euclidean", "cosine"};
    static const int32_t METRIC_IDS[] = {RLCC_METRIC_JACCARD, RLCC_METRIC_EUCLIDEAN,
                                         RLCC_METRIC_COSINE};
    static const char *const OUTLIERS[] = {"keep", "singleton"};
    static const int32_t OUTLIER_IDS[] = {RLCC_OUTLIERS_KEEP, RLCC_OUTLIERS_SINGLETON};
    static const char *const ALGORITHMS[] = {"auto", "brute", "grid", "kd_tree"};
    static const int32_t ALGORITHM_IDS[] = {RLCC_DBSCAN_AUTO, RLCC_DBSCAN_BRUTE, RLCC_DBSCAN_GRID,
                                            RLCC_DBSCAN_TREE};
    static const char *const METHODS[] = {"dbscan", "infomap", "kmeans"};
    static const int32_t METHOD_IDS[] = {RLCC_PSEUDO_DBSCAN, RLCC_PSEUDO_INFOMAP,
                                         RLCC_PSEUDO_KMEANS};
    rlcc_pseudo_options *p = &a->pseudo;
    int64_t v;
    double real;
    int rc;
    s->given |= given_bit(id);
    s->text[id - OPT_PROGRESS] = value;
    switch (id) {
    case OPT_METHOD: return choice_option(s, id, value, METHODS, METHOD_IDS, 3, &p->method);
    case OPT_K:
        rc = integer_option(s, id, value, 1, INT32_MAX, &v);
        if (rc == 0)
            p->infomap_k = (int32_t)v;
        return rc;
    case OPT_MIN_SIM:
        rc = real_option(s, id, value, -1.0, 1.0, &real);
        if (rc == 0)
            p->infomap_min_sim = real;
        return rc;
    case OPT_CLUSTER_NUM:
        rc = integer_option(s, id, value, 0, INT32_MAX, &v);
        if (rc == 0)
            p->infomap_cluster_num = (int32_t)v;
        return rc;
    case OPT_CLUSTERS: return integer_option(s, id, value, 1, INT64_MAX, &p->kmeans_k);
    case OPT_MAX_ITER:
        rc = integer_option(s, id, value, 1, INT32_MAX, &v);
        if (rc == 0)
            p->kmeans_max_iter = (int32_t)v;
        return rc;
    case OPT_SEED:
        rc = integer_option(s, id, value, 0, INT64_MAX, &v);
        if (rc == 0)
            p->infomap_seed = p->kmeans_seed = (uint64_t)v;
        return rc;
    case OPT_METRIC: return choice_option(s, id, value, METRICS, METRIC_IDS, 3, &p->metric);
    case OPT_EPS: return eps_option(s, value, p);
    case OPT_MIN_SAMPLES: return integer_option(s, id, value, 1, INT64_MAX, &p->min_samples);
    case OPT_OUTLIERS: return choice_option(s, id, value, OUTLIERS, OUTLIER_IDS, 2, &p->outliers);
    case OPT_ALGORITHM:
        return choice_option(s, id, value, ALGORITHMS, ALGORITHM_IDS, 4, &a->algorithm);
    case OPT_K1:
    case OPT_K2:
        rc = integer_option(s, id, value, 1, INT32_MAX, &v);
        if (rc == 0 && id == OPT_K1) {
            p->k1 = (int32_t)v;
            s->k1_text = value;
        } else if (rc == 0) {
            p->k2 = (int32_t)v;
            s->k2_text = value;
        }
        return rc;
    case OPT_THREADS:
        rc = integer_option(s, id, value, 0, CLI_MAX_THREADS, &v);
        if (rc == 0)
            p->n_threads = (int32_t)v;
        return rc;
    default: return refuse(s->message, s->size, "internal error: option %d unhandled", id);
    }
}

static int refine_option(parse_state *s, int id, const char *value, cli_args *a)
{
    switch (id) {
    case OPT_PREV: return path_option(s, id, value, &a->prev);
    case OPT_CUR: return path_option(s, id, value, &a->cur);
    case OPT_PROBS: return path_option(s, id, value, &a->probs);
    case OPT_ALPHA: return weight_option(s, id, value, &a->alpha);
    case OPT_W: return weight_option(s, id, value, &a->w);
    case OPT_BETA: return weight_option(s, id, value, &a->beta);
    default: return refuse(s->message, s->size, "internal error: option %d unhandled", id);
    }
}

static int demo_option(parse_state *s, int id, const char *value, cli_args *a)
{
    switch (id) {
    case OPT_N: return integer_option(s, id, value, CLI_DEMO_MIN_N, CLI_DEMO_MAX_N, &a->n);
    case OPT_GENERATIONS:
        return integer_option(s, id, value, 1, CLI_DEMO_MAX_GENERATIONS, &a->generations);
    default: return refuse(s->message, s->size, "internal error: option %d unhandled", id);
    }
}

static int proxies_option(parse_state *s, int id, const char *value, cli_args *a)
{
    static const char *const ORDERS[] = {"camera", "cluster"};
    static const int32_t ORDER_IDS[] = {RLCC_PROXIES_CAMERA_MAJOR, RLCC_PROXIES_CLUSTER_MAJOR};
    static const char *const NORMS[] = {"double", "float32"};
    static const int32_t NORM_IDS[] = {RLCC_CENTROID_NORM_DOUBLE, RLCC_CENTROID_NORM_FLOAT32};
    switch (id) {
    case OPT_LABELS: return path_option(s, id, value, &a->labels);
    case OPT_CAMERAS: return path_option(s, id, value, &a->cameras);
    case OPT_FEATURES: return path_option(s, id, value, &a->features);
    case OPT_CENTROIDS: return path_option(s, id, value, &a->centroids);
    case OPT_TABLE: return path_option(s, id, value, &a->table);
    case OPT_ORDER: return choice_option(s, id, value, ORDERS, ORDER_IDS, 2, &a->order);
    case OPT_NORM:
        s->given |= given_bit(id);
        s->text[id - OPT_PROGRESS] = value;
        return choice_option(s, id, value, NORMS, NORM_IDS, 2, &a->norm);
    default: return refuse(s->message, s->size, "internal error: option %d unhandled", id);
    }
}

/* proxies: the three inputs and -o; --features and --centroids together */
static int check_proxies(parse_state *s, const cli_args *a)
{
    if (a->labels == NULL || a->cameras == NULL || a->output == NULL)
        return refuse(s->message, s->size, "needs --labels, --cameras and -o PROXY.npy");
    if ((a->features == NULL) != (a->centroids == NULL))
        return refuse(s->message, s->size,
                      "needs both --features and --centroids, or neither (the centroids are "
                      "the features' proxy means)");
    char q[300];
    if (a->centroids == NULL && (s->given & given_bit(OPT_NORM)))
        return refuse(s->message, s->size, "--norm: %s needs --features and --centroids",
                      quoted(s->text[OPT_NORM - OPT_PROGRESS], q));
    return 0;
}

/* What getopt_long refused: an unknown, ambiguous or value-taking option. */
static int bad_option(parse_state *s, int argc, char **argv, int c)
{
    char name[64], q[300];
    const char *text = optind >= 1 && optind <= argc ? argv[optind - 1] : "";
    if (c == ':')
        return refuse(s->message, s->size, "%s needs a value", option_name(s->options, optopt, name));
    if (optopt != 0 && optopt != '?') {
        for (const struct option *o = s->options; o->name != NULL; o++)
            if (o->val == optopt)
                return refuse(s->message, s->size, "%s takes no value (got %s)",
                              option_name(s->options, optopt, name), quoted(text, q));
        char letter[3] = {'-', (char)optopt, '\0'};
        return refuse(s->message, s->size, "unknown option %s", quoted(letter, q));
    }
    /* a long option: list the ones it abbreviates, if several */
    const char *given = strncmp(text, "--", 2) == 0 ? text + 2 : text;
    const size_t len = strcspn(given, "=");
    char matches[160] = "";
    int count = 0;
    for (const struct option *o = s->options; o->name != NULL; o++)
        if (len > 0 && strncmp(o->name, given, len) == 0) {
            snprintf(matches + strlen(matches), sizeof matches - strlen(matches), "%s--%s",
                     count++ ? ", " : "", o->name);
        }
    if (count > 1)
        return refuse(s->message, s->size, "option %s is ambiguous (%s)", quoted(text, q),
                      matches);
    return refuse(s->message, s->size, "unknown option %s", quoted(text, q));
}

/* An option of another method than --method's: refused, never ignored. */
static int check_method_options(parse_state *s, const rlcc_pseudo_options *p)
{
    enum { DBSCAN = 1u << RLCC_PSEUDO_DBSCAN, INFOMAP = 1u << RLCC_PSEUDO_INFOMAP,
           KMEANS = 1u << RLCC_PSEUDO_KMEANS };
    /* the methods that read each method-specific option */
    static const struct {
        int id;
        unsigned methods;
        const char *which; /* the methods, as the message names them */
    } READERS[] = {
        {OPT_METRIC, DBSCAN, "dbscan"},       {OPT_EPS, DBSCAN, "dbscan"},
        {OPT_MIN_SAMPLES, DBSCAN, "dbscan"},  {OPT_K1, DBSCAN, "dbscan"},
        {OPT_K2, DBSCAN, "dbscan"},           {OPT_ALGORITHM, DBSCAN, "dbscan"},
        {OPT_K, INFOMAP, "infomap"},          {OPT_MIN_SIM, INFOMAP, "infomap"},
        {OPT_CLUSTER_NUM, INFOMAP, "infomap"}, {OPT_CLUSTERS, KMEANS, "kmeans"},
        {OPT_MAX_ITER, KMEANS, "kmeans"},     {OPT_SEED, INFOMAP | KMEANS, "infomap and kmeans"},
        /* k-means labels every sample: no outliers to keep or number */
        {OPT_OUTLIERS, DBSCAN | INFOMAP, "dbscan and infomap"},
    };
    static const char *const METHOD[] = {"dbscan", "infomap", "kmeans"};
    for (size_t i = 0; i < sizeof READERS / sizeof READERS[0]; i++) {
        const int id = READERS[i].id;
        if (!(s->given & given_bit(id)) || (READERS[i].methods & (1u << p->method)))
            continue;
        char name[64], q[300];
        return refuse(s->message, s->size, "%s: %s is an option of --method %s, not of %s",
                      option_name(s->options, id, name),
                      quoted(s->text[id - OPT_PROGRESS], q), READERS[i].which,
                      METHOD[p->method]);
    }
    return 0;
}

/* Checks that need every option: the method's options, the metric's eps
 * range, k2 <= k1, the algorithm's metric and eps, the files. */
static int check_cluster(parse_state *s, cli_args *a)
{
    rlcc_pseudo_options *p = &a->pseudo;
    char q[300], q2[300];
    const int rc = check_method_options(s, p);
    if (rc != 0)
        return rc;
    if (p->method != RLCC_PSEUDO_DBSCAN) {
        if (a->input == NULL || a->output == NULL)
            return refuse(s->message, s->size, "needs FEATURES.npy and -o LABELS.npy");
        p->reliability = 0;
        p->normalize = 1; /* Cluster Contrast and OpenUnReID cluster unit rows */
        return 0;
    }
    if (p->metric == RLCC_METRIC_JACCARD)
        for (int e = 0; e < p->n_eps; e++)
            if (!(p->eps[e] < (double)p->cutoff))
                return refuse(s->message, s->size,
                              "--eps: %s must be below %g with --metric jaccard (Jaccard "
                              "distances are kept below %g)",
                              quoted(s->eps_text != NULL ? s->eps_text : "", q),
                              (double)p->cutoff, (double)p->cutoff);
    if (p->metric == RLCC_METRIC_JACCARD && p->k2 > p->k1) {
        char k1[32], k2[32];
        snprintf(k1, sizeof k1, "%d", (int)p->k1);
        snprintf(k2, sizeof k2, "%d", (int)p->k2);
        return refuse(s->message, s->size, "--k2: %s%s must not exceed --k1 %s%s",
                      quoted(s->k2_text != NULL ? s->k2_text : k2, q),
                      s->k2_text != NULL ? "" : " (the default)",
                      quoted(s->k1_text != NULL ? s->k1_text : k1, q2),
                      s->k1_text != NULL ? "" : " (the default)");
    }
    /* Jaccard's DBSCAN runs on its sparse graph, and three eps on one pass
     * of rlcc_pseudo_labels(): no neighbour search of the features to choose */
    const int plain = p->metric != RLCC_METRIC_JACCARD && p->n_eps == 1;
    if (!plain && a->algorithm != RLCC_DBSCAN_AUTO)
        return refuse(s->message, s->size,
                      "--algorithm brute, grid or kd_tree needs --metric euclidean or cosine "
                      "and one eps");
    if (a->input == NULL || a->output == NULL)
        return refuse(s->message, s->size, "needs FEATURES.npy and -o LABELS.npy");
    p->reliability = p->n_eps == 3 && p->outliers == RLCC_OUTLIERS_SINGLETON;
    p->normalize = 1;
    return 0;
}

static void defaults(cli_args *a)
{
    memset(a, 0, sizeof *a);
    rlcc_pseudo_options_init(&a->pseudo, sizeof a->pseudo);
    a->pseudo.outliers = RLCC_OUTLIERS_KEEP;
    a->pseudo.reliability = 0;
    a->pseudo.n_eps = 1;
    a->pseudo.eps[0] = 0.6;
    a->algorithm = RLCC_DBSCAN_AUTO;
    a->alpha = 0.9f;
    a->n = 12936;
    a->generations = 8;
}

int cli_parse(int argc, char **argv, cli_args *a, char *message, size_t size)
{
    defaults(a);
    message[0] = '\0';
    if (argc < 2)
        return refuse(message, size, "no command given");
    const char *command = argv[1];
    if (strcmp(command, "--help") == 0 || strcmp(command, "-h") == 0) {
        a->help = 1;
        return 0;
    }
    if (strcmp(command, "--version") == 0) {
        a->version = 1;
        return 0;
    }
    parse_state s = {NULL, message, size, NULL, NULL, NULL, 0, {NULL}};
    const char *shorts;
    if (strcmp(command, "cluster") == 0) {
        a->command = CLI_CLUSTER;
        s.options = CLUSTER_OPTIONS;
        shorts = "-:ho:q";
    } else if (strcmp(command, "refine") == 0) {
        a->command = CLI_REFINE;
        s.options = REFINE_OPTIONS;
        shorts = "-:ho:q";
    } else if (strcmp(command, "demo") == 0) {
        a->command = CLI_DEMO;
        s.options = DEMO_OPTIONS;
        shorts = "-:hq";
    } else if (strcmp(command, "proxies") == 0) {
        a->command = CLI_PROXIES;
        s.options = PROXIES_OPTIONS;
        shorts = "-:ho:q";
    } else {
        char q[300];
        return refuse(message, size, "unknown command %s", quoted(command, q));
    }
    /* getopt_long over the command's arguments, the command as argv[0];
     * optind = 0 makes glibc start afresh; '-' returns the operands in
     * order (as 1), whatever POSIXLY_CORRECT says; ':' reports a missing
     * value as ':' and opterr = 0 keeps getopt from printing */
    const int sub_argc = argc - 1;
    char **sub_argv = argv + 1;
    optind = 0;
    opterr = 0;
    int c, rc = 0;
    while (rc == 0 && (c = getopt_long(sub_argc, sub_argv, shorts, s.options, NULL)) != -1) {
        char q[300], q2[300];
        if (c == 1) { /* an operand: cluster's FEATURES.npy */
            if (a->command != CLI_CLUSTER)
                rc = refuse(message, size, "unexpected argument %s", quoted(optarg, q));
            else if (a->input != NULL)
                rc = refuse(message, size, "more than one input file (%s after %s)",
                            quoted(optarg, q), quoted(a->input, q2));
            else if (optarg[0] == '\0')
                rc = refuse(message, size, "FEATURES.npy: the file name is empty");
            else
                a->input = optarg;
        } else if (c == '?' || c == ':') {
            rc = bad_option(&s, sub_argc, sub_argv, c);
        } else if (c == OPT_HELP) {
            a->help = 1;
            return 0;
        } else if (c == OPT_QUIET) {
            a->progress = CLI_PROGRESS_OFF;
        } else if (c == OPT_PROGRESS) {
            a->progress = CLI_PROGRESS_ON;
        } else if (c == OPT_OUTPUT) {
            rc = path_option(&s, c, optarg, &a->output);
        } else {
            rc = a->command == CLI_CLUSTER   ? cluster_option(&s, c, optarg, a)
                 : a->command == CLI_REFINE  ? refine_option(&s, c, optarg, a)
                 : a->command == CLI_PROXIES ? proxies_option(&s, c, optarg, a)
                                             : demo_option(&s, c, optarg, a);
        }
    }
    /* what follows "--" */
    for (int i = optind; rc == 0 && i < sub_argc; i++) {
        char q[300];
        if (a->command != CLI_CLUSTER || a->input != NULL || sub_argv[i][0] == '\0')
            rc = refuse(message, size, "unexpected argument %s", quoted(sub_argv[i], q));
        else
            a->input = sub_argv[i];
    }
    if (rc != 0)
        return rc;
    if (a->command == CLI_CLUSTER)
        return check_cluster(&s, a);
    if (a->command == CLI_PROXIES)
        return check_proxies(&s, a);
    if (a->command == CLI_REFINE && (a->prev == NULL || a->cur == NULL || a->output == NULL))
        return refuse(message, size, "needs --prev, --cur and -o");
    return 0;
}
