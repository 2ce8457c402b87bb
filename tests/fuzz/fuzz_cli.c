/*
 * fuzz_cli.c - the CLI's argument parser (tools/args.c, cli_parse()) on
 * argvs decoded from the bytes. The input is text: its first byte picks the
 * command ('c' cluster, 'r' refine, 'd' demo, 'p' proxies; anything else:
 * the first token is the command), the rest splits at '\n' and '\0' into
 * the arguments.
 * Checks:
 *   - cli_parse() returns 0 or 2 and never crashes;
 *   - a refusal (2) has a printable one-line message that starts with the
 *     option it is about (or says what is wrong with the command line), and
 *     quotes the value when there is one;
 *   - an accepted command line holds every value in its documented range,
 *     and each option has the value its last occurrence's text denotes
 *     (strtoll / strtod / strtof of that text, exactly: nothing truncated,
 *     clamped or partly read), where the argv is simple enough to model
 *     getopt_long (exact long names, -o, -q, -h, "--");
 *   - accepted values round-trip: printed back as a canonical argv
 *     (--opt=value, %.17g / %.9g) they parse to the same cli_args;
 *   - parsing the same argv twice gives the same answer (getopt's state is
 *     reset).
 */
#include <errno.h>
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "args.h"
#include "fuzz_input.h"

enum { MAX_ARGS = 48, MAX_TEXT = 4096 };

typedef struct decoded {
    int argc;
    char *argv[MAX_ARGS + 3];
    char text[MAX_TEXT + MAX_ARGS + 64];
} decoded;

static void decode(const uint8_t *data, size_t size, decoded *d)
{
    static const char *COMMANDS[] = {"cluster", "refine", "demo", "proxies"};
    size_t at = 0, used = 0;
    d->argc = 0;
    d->argv[d->argc++] = strcpy(d->text, "rlcc");
    used = 5;
    const char *pick = size > 0 && data[0] == 'c'   ? COMMANDS[0]
                       : size > 0 && data[0] == 'r' ? COMMANDS[1]
                       : size > 0 && data[0] == 'd' ? COMMANDS[2]
                       : size > 0 && data[0] == 'p' ? COMMANDS[3]
                                                    : NULL;
    if (pick != NULL) {
        d->argv[d->argc++] = strcpy(d->text + used, pick);
        used += strlen(pick) + 1;
    }
    /* the first byte picks; a separator right after it is skipped */
    at = size > 0 ? 1 : 0;
    if (at < size && (data[at] == '\n' || data[at] == '\0'))
        at++;
    while (at < size && d->argc < MAX_ARGS && used + 1 < MAX_TEXT) {
        char *token = d->text + used;
        while (at < size && data[at] != '\n' && data[at] != '\0' && used + 1 < MAX_TEXT)
            d->text[used++] = (char)data[at++];
        d->text[used++] = '\0';
        d->argv[d->argc++] = token;
        at++; /* the separator */
    }
    d->argv[d->argc] = NULL;
}

static int parse(const decoded *d, cli_args *a, char *message, size_t size)
{
    char *argv[MAX_ARGS + 3];
    memcpy(argv, d->argv, sizeof argv); /* getopt may reorder */
    return cli_parse(d->argc, argv, a, message, size);
}

/* ---- what a refusal says --------------------------------------------------------- */
static int printable(const char *s)
{
    for (; *s; s++)
        if ((unsigned char)*s < 0x20 || (unsigned char)*s > 0x7e)
            return 0;
    return 1;
}

static int good_refusal(const char *m)
{
    static const char *GENERAL[] = {
        "unknown option '",  "option '",  "unexpected argument '", "more than one input file ('",
        "needs ",            "no command given", "unknown command '", "FEATURES.npy: the file name is empty",
        "--algorithm brute, grid or kd_tree needs",
    };
    if (m[0] == '\0' || !printable(m))
        return 0;
    for (size_t i = 0; i < sizeof GENERAL / sizeof *GENERAL; i++)
        if (strncmp(m, GENERAL[i], strlen(GENERAL[i])) == 0)
            return 1;
    /* "--name: 'value' ..." or "-o: ...", "--name needs a value", "--name takes no value" */
    if (m[0] != '-')
        return 0;
    const char *end = m + strcspn(m, ": ");
    if (end == m + 1 || *end == '\0')
        return 0;
    if (strncmp(end, " needs a value", 14) == 0 || strncmp(end, " takes no value (got '", 22) == 0 ||
        strncmp(end, ": the file name is empty", 24) == 0)
        return 1;
    return strncmp(end, ": '", 3) == 0; /* the value, quoted */
}

/* ---- ranges of an accepted command line ---------------------------------------- */
static int in_range(const cli_args *a)
{
    if (a->help || a->version)
        return a->help == 1 || a->version == 1;
    const rlcc_pseudo_options *p = &a->pseudo;
    int ok = a->progress >= CLI_PROGRESS_AUTO && a->progress <= CLI_PROGRESS_ON;
    switch (a->command) {
    case CLI_CLUSTER:
        ok &= a->input != NULL && a->input[0] != '\0' && a->output != NULL && a->output[0] != '\0';
        ok &= p->metric == RLCC_METRIC_JACCARD || p->metric == RLCC_METRIC_EUCLIDEAN ||
              p->metric == RLCC_METRIC_COSINE;
        ok &= p->n_eps == 1 || p->n_eps == 3;
        for (int e = 0; ok && e < p->n_eps; e++)
            ok &= p->eps[e] > 0.0 &&
                  (p->metric != RLCC_METRIC_JACCARD || p->eps[e] < (double)p->cutoff);
        ok &= p->min_samples >= 1 && p->k1 >= 1 && p->k2 >= 1;
        ok &= p->metric != RLCC_METRIC_JACCARD || p->k2 <= p->k1;
        ok &= p->n_threads >= 0 && p->n_threads <= CLI_MAX_THREADS;
        ok &= p->outliers == RLCC_OUTLIERS_KEEP || p->outliers == RLCC_OUTLIERS_SINGLETON;
        ok &= a->algorithm == RLCC_DBSCAN_AUTO ||
              ((a->algorithm == RLCC_DBSCAN_BRUTE || a->algorithm == RLCC_DBSCAN_GRID ||
                a->algorithm == RLCC_DBSCAN_TREE) &&
               p->metric != RLCC_METRIC_JACCARD && p->n_eps == 1);
        ok &= p->normalize == 1;
        /* the other methods' options: in range, and the method's own only */
        ok &= p->infomap_k >= 1 && p->infomap_min_sim >= -1.0 && p->infomap_min_sim <= 1.0 &&
              p->infomap_cluster_num >= 0 && p->kmeans_k >= 1 && p->kmeans_max_iter >= 1 &&
              ((p->infomap_seed == p->kmeans_seed && p->kmeans_seed <= (uint64_t)INT64_MAX) ||
               (p->infomap_seed == 123 && p->kmeans_seed == 1234)); /* --seed, or not */
        if (p->method == RLCC_PSEUDO_DBSCAN) /* the others' options untouched */
            return ok && p->reliability == (p->n_eps == 3 && p->outliers == RLCC_OUTLIERS_SINGLETON) &&
                   p->infomap_seed == 123 && p->kmeans_seed == 1234 && p->infomap_k == 15 &&
                   p->kmeans_k == 500;
        ok &= p->reliability == 0 && a->algorithm == RLCC_DBSCAN_AUTO;
        if (p->method == RLCC_PSEUDO_KMEANS)
            return ok && p->outliers == RLCC_OUTLIERS_KEEP; /* the CLI's default, never set */
        return ok && p->method == RLCC_PSEUDO_INFOMAP;
    case CLI_PROXIES:
        ok &= a->labels != NULL && a->cameras != NULL && a->output != NULL;
        ok &= (a->features == NULL) == (a->centroids == NULL);
        ok &= a->order == RLCC_PROXIES_CAMERA_MAJOR || a->order == RLCC_PROXIES_CLUSTER_MAJOR;
        ok &= a->norm == RLCC_CENTROID_NORM_DOUBLE ||
              (a->norm == RLCC_CENTROID_NORM_FLOAT32 && a->centroids != NULL);
        return ok;
    case CLI_REFINE:
        ok &= a->prev != NULL && a->cur != NULL && a->output != NULL;
        ok &= a->alpha >= 0.0f && a->alpha <= 1.0f && a->w >= 0.0f && a->w <= 1.0f &&
              a->beta >= 0.0f && a->beta <= 1.0f;
        return ok;
    case CLI_DEMO:
        return ok && a->n >= CLI_DEMO_MIN_N && a->n <= CLI_DEMO_MAX_N && a->generations >= 1 &&
               a->generations <= CLI_DEMO_MAX_GENERATIONS;
    default: return 0;
    }
}

/* ---- the last text of each option, where getopt_long is easy to model ----------- */
typedef struct option_model {
    const char *name; /* long name, or "o" */
    int takes_value;
    const char *last; /* the last value given, NULL: none */
    int given;        /* a flag */
} option_model;

static const char *const CLUSTER_NAMES[] = {"output",  "metric",      "eps",      "min-samples",
                                            "k1",      "k2",          "outliers", "threads",
                                            "algorithm", "method",    "k",        "similarity",
                                            "cluster-num", "clusters", "max-iter", "seed", NULL};
static const char *const PROXIES_NAMES[] = {"output", "labels", "cameras", "features",
                                            "centroids", "table", "order", "norm", NULL};
static const char *const REFINE_NAMES[] = {"output", "prev", "cur", "probs", "alpha", "w", "beta",
                                           NULL};
static const char *const DEMO_NAMES[] = {"n", "generations", NULL};

static option_model *find(option_model *m, int count, const char *name, size_t len)
{
    for (int i = 0; i < count; i++)
        if (strlen(m[i].name) == len && strncmp(m[i].name, name, len) == 0)
            return &m[i];
    return NULL;
}

/* 1 when the argv was modelled; m[] then holds each option's last value */
static int model(const decoded *d, const char *const *names, option_model *m, int *count)
{
    *count = 0;
    for (int i = 0; names[i] != NULL; i++)
        m[(*count)++] = (option_model){names[i], 1, NULL, 0};
    m[(*count)++] = (option_model){"help", 0, NULL, 0};
    m[(*count)++] = (option_model){"quiet", 0, NULL, 0};
    m[(*count)++] = (option_model){"progress", 0, NULL, 0};
    for (int i = 2; i < d->argc; i++) {
        const char *t = d->argv[i];
        if (strcmp(t, "--") == 0)
            return 1;
        if (strncmp(t, "--", 2) == 0) {
            const size_t len = strcspn(t + 2, "=");
            option_model *o = find(m, *count, t + 2, len);
            if (o == NULL)
                return 0; /* an abbreviation, or unknown */
            if (!o->takes_value) {
                o->given = 1;
                continue;
            }
            if (t[2 + len] == '=')
                o->last = t + 3 + len;
            else if (i + 1 < d->argc)
                o->last = d->argv[++i];
            else
                return 0;
        } else if (t[0] == '-' && t[1] != '\0') {
            if (t[1] == 'o' && names != DEMO_NAMES) {
                option_model *o = find(m, *count, "output", 6);
                if (t[2] != '\0')
                    o->last = t + 2;
                else if (i + 1 < d->argc)
                    o->last = d->argv[++i];
                else
                    return 0;
            } else if (strcmp(t, "-q") == 0 || strcmp(t, "-h") == 0) {
                find(m, *count, t[1] == 'q' ? "quiet" : "help", t[1] == 'q' ? 5 : 4)->given = 1;
            } else {
                return 0;
            }
        }
    }
    return 1;
}

static const char *last(option_model *m, int count, const char *name)
{
    return find(m, count, name, strlen(name))->last;
}

/* the value text denotes, read independently of args.c */
static int same_integer(const char *text, int64_t value)
{
    char *end;
    errno = 0;
    const long long v = strtoll(text, &end, 10);
    return *text != '\0' && *end == '\0' && errno == 0 && v == value;
}

static int same_double(const char *text, double value)
{
    char *end;
    const double v = strtod(text, &end);
    return *text != '\0' && *end == '\0' && v == value;
}

static int same_float(const char *text, float value)
{
    char *end;
    const float v = strtof(text, &end);
    return *text != '\0' && *end == '\0' && v == value;
}

static int same_eps(const char *text, const rlcc_pseudo_options *p)
{
    int count = 0;
    for (const char *field = text;; field = strchr(field, ',') + 1) {
        char one[512];
        const size_t len = strcspn(field, ",");
        if (len >= sizeof one || count == 3)
            return 0;
        memcpy(one, field, len);
        one[len] = '\0';
        if (!same_double(one, p->eps[count++]))
            return 0;
        if (field[len] == '\0')
            break;
    }
    return count == p->n_eps;
}

static int model_agrees(const decoded *d, const cli_args *a)
{
    option_model m[32];
    int count;
    const char *const *names = a->command == CLI_CLUSTER   ? CLUSTER_NAMES
                               : a->command == CLI_REFINE  ? REFINE_NAMES
                               : a->command == CLI_PROXIES ? PROXIES_NAMES
                                                           : DEMO_NAMES;
    if (a->help || a->version || !model(d, names, m, &count))
        return 1;
    const rlcc_pseudo_options *p = &a->pseudo;
    const char *t;
    int ok = 1;
    if (a->command == CLI_CLUSTER) {
        ok &= (t = last(m, count, "output")) == NULL || strcmp(t, a->output) == 0;
        ok &= (t = last(m, count, "eps")) == NULL || same_eps(t, p);
        ok &= (t = last(m, count, "min-samples")) == NULL || same_integer(t, p->min_samples);
        ok &= (t = last(m, count, "k1")) == NULL || same_integer(t, p->k1);
        ok &= (t = last(m, count, "k2")) == NULL || same_integer(t, p->k2);
        ok &= (t = last(m, count, "threads")) == NULL || same_integer(t, p->n_threads);
        ok &= (t = last(m, count, "metric")) == NULL ||
              strcmp(t, p->metric == RLCC_METRIC_JACCARD     ? "jaccard"
                        : p->metric == RLCC_METRIC_EUCLIDEAN ? "euclidean"
                                                             : "cosine") == 0;
        ok &= (t = last(m, count, "outliers")) == NULL ||
              strcmp(t, p->outliers == RLCC_OUTLIERS_KEEP ? "keep" : "singleton") == 0;
        ok &= (t = last(m, count, "method")) == NULL ||
              strcmp(t, p->method == RLCC_PSEUDO_DBSCAN    ? "dbscan"
                        : p->method == RLCC_PSEUDO_INFOMAP ? "infomap"
                                                           : "kmeans") == 0;
        ok &= (t = last(m, count, "k")) == NULL || same_integer(t, p->infomap_k);
        ok &= (t = last(m, count, "similarity")) == NULL || same_double(t, p->infomap_min_sim);
        ok &= (t = last(m, count, "cluster-num")) == NULL ||
              same_integer(t, p->infomap_cluster_num);
        ok &= (t = last(m, count, "clusters")) == NULL || same_integer(t, p->kmeans_k);
        ok &= (t = last(m, count, "max-iter")) == NULL || same_integer(t, p->kmeans_max_iter);
        ok &= (t = last(m, count, "seed")) == NULL || same_integer(t, (int64_t)p->kmeans_seed);
    } else if (a->command == CLI_PROXIES) {
        ok &= (t = last(m, count, "output")) == NULL || strcmp(t, a->output) == 0;
        ok &= (t = last(m, count, "labels")) == NULL || strcmp(t, a->labels) == 0;
        ok &= (t = last(m, count, "cameras")) == NULL || strcmp(t, a->cameras) == 0;
        ok &= (t = last(m, count, "features")) == NULL || strcmp(t, a->features) == 0;
        ok &= (t = last(m, count, "centroids")) == NULL || strcmp(t, a->centroids) == 0;
        ok &= (t = last(m, count, "table")) == NULL || strcmp(t, a->table) == 0;
        ok &= (t = last(m, count, "order")) == NULL ||
              strcmp(t, a->order == RLCC_PROXIES_CAMERA_MAJOR ? "camera" : "cluster") == 0;
        ok &= (t = last(m, count, "norm")) == NULL ||
              strcmp(t, a->norm == RLCC_CENTROID_NORM_DOUBLE ? "double" : "float32") == 0;
    } else if (a->command == CLI_REFINE) {
        ok &= (t = last(m, count, "output")) == NULL || strcmp(t, a->output) == 0;
        ok &= (t = last(m, count, "prev")) == NULL || strcmp(t, a->prev) == 0;
        ok &= (t = last(m, count, "cur")) == NULL || strcmp(t, a->cur) == 0;
        ok &= (t = last(m, count, "probs")) == NULL || strcmp(t, a->probs) == 0;
        ok &= (t = last(m, count, "alpha")) == NULL || same_float(t, a->alpha);
        ok &= (t = last(m, count, "w")) == NULL || same_float(t, a->w);
        ok &= (t = last(m, count, "beta")) == NULL || same_float(t, a->beta);
    } else {
        ok &= (t = last(m, count, "n")) == NULL || same_integer(t, a->n);
        ok &= (t = last(m, count, "generations")) == NULL || same_integer(t, a->generations);
    }
    return ok;
}

/* ---- canonical argv: the accepted values printed back ---------------------------- */
typedef struct canonical {
    int argc;
    char *argv[32];
    char text[8192];
    size_t used;
} canonical;

static void add(canonical *c, const char *format, ...) __attribute__((format(printf, 2, 3)));
static void add(canonical *c, const char *format, ...)
{
    va_list ap;
    va_start(ap, format);
    char *at = c->text + c->used;
    const int len = vsnprintf(at, sizeof c->text - c->used, format, ap);
    va_end(ap);
    c->used += (size_t)len + 1;
    c->argv[c->argc++] = at;
}

static void render(const cli_args *a, canonical *c)
{
    static const char *METRIC[] = {"euclidean", "cosine", "jaccard"};
    static const char *ALGORITHM[] = {"auto", "brute", "grid", "kd_tree"};
    const rlcc_pseudo_options *p = &a->pseudo;
    c->argc = 0;
    c->used = 0;
    add(c, "rlcc");
    add(c, "%s", cli_command_name(a->command));
    if (a->progress != CLI_PROGRESS_AUTO)
        add(c, a->progress == CLI_PROGRESS_ON ? "--progress" : "--quiet");
    if (a->command == CLI_CLUSTER && p->method != RLCC_PSEUDO_DBSCAN) {
        add(c, "--output=%s", a->output);
        add(c, "--threads=%d", (int)p->n_threads);
        if (p->infomap_seed == p->kmeans_seed) /* --seed sets both; else the defaults */
            add(c, "--seed=%llu", (unsigned long long)p->kmeans_seed);
        if (p->method == RLCC_PSEUDO_INFOMAP) {
            add(c, "--method=infomap");
            add(c, "--k=%d", (int)p->infomap_k);
            add(c, "--similarity=%.17g", p->infomap_min_sim);
            add(c, "--cluster-num=%d", (int)p->infomap_cluster_num);
            add(c, "--outliers=%s", p->outliers == RLCC_OUTLIERS_KEEP ? "keep" : "singleton");
        } else {
            add(c, "--method=kmeans");
            add(c, "--clusters=%lld", (long long)p->kmeans_k);
            add(c, "--max-iter=%d", (int)p->kmeans_max_iter);
        }
        add(c, "--");
        add(c, "%s", a->input);
    } else if (a->command == CLI_PROXIES) {
        add(c, "--labels=%s", a->labels);
        add(c, "--cameras=%s", a->cameras);
        add(c, "-o%s", a->output);
        if (a->table != NULL)
            add(c, "--table=%s", a->table);
        if (a->features != NULL) {
            add(c, "--features=%s", a->features);
            add(c, "--centroids=%s", a->centroids);
            add(c, "--norm=%s", a->norm == RLCC_CENTROID_NORM_DOUBLE ? "double" : "float32");
        }
        add(c, "--order=%s", a->order == RLCC_PROXIES_CAMERA_MAJOR ? "camera" : "cluster");
    } else if (a->command == CLI_CLUSTER) {
        add(c, "--output=%s", a->output);
        add(c, "--metric=%s", METRIC[p->metric]);
        if (p->n_eps == 1)
            add(c, "--eps=%.17g", p->eps[0]);
        else
            add(c, "--eps=%.17g,%.17g,%.17g", p->eps[0], p->eps[1], p->eps[2]);
        add(c, "--min-samples=%lld", (long long)p->min_samples);
        add(c, "--k1=%d", (int)p->k1);
        add(c, "--k2=%d", (int)p->k2);
        add(c, "--outliers=%s", p->outliers == RLCC_OUTLIERS_KEEP ? "keep" : "singleton");
        add(c, "--threads=%d", (int)p->n_threads);
        add(c, "--algorithm=%s", ALGORITHM[a->algorithm]);
        add(c, "--");
        add(c, "%s", a->input);
    } else if (a->command == CLI_REFINE) {
        add(c, "--prev=%s", a->prev);
        add(c, "--cur=%s", a->cur);
        if (a->probs != NULL)
            add(c, "--probs=%s", a->probs);
        add(c, "-o%s", a->output);
        add(c, "--alpha=%.9g", (double)a->alpha);
        add(c, "--w=%.9g", (double)a->w);
        add(c, "--beta=%.9g", (double)a->beta);
    } else {
        add(c, "--n=%lld", (long long)a->n);
        add(c, "--generations=%lld", (long long)a->generations);
    }
    c->argv[c->argc] = NULL;
}

static int same_string(const char *x, const char *y)
{
    return (x == NULL && y == NULL) || (x != NULL && y != NULL && strcmp(x, y) == 0);
}

static int same_args(const cli_args *x, const cli_args *y)
{
    const rlcc_pseudo_options *p = &x->pseudo, *q = &y->pseudo;
    int ok = x->command == y->command && x->help == y->help && x->version == y->version &&
             x->progress == y->progress;
    ok &= same_string(x->input, y->input) && same_string(x->output, y->output) &&
          same_string(x->prev, y->prev) && same_string(x->cur, y->cur) &&
          same_string(x->probs, y->probs) && same_string(x->labels, y->labels) &&
          same_string(x->cameras, y->cameras) && same_string(x->features, y->features) &&
          same_string(x->centroids, y->centroids) && same_string(x->table, y->table) &&
          x->order == y->order && x->norm == y->norm;
    ok &= p->method == q->method && p->infomap_k == q->infomap_k &&
          p->infomap_min_sim == q->infomap_min_sim &&
          p->infomap_cluster_num == q->infomap_cluster_num && p->infomap_seed == q->infomap_seed &&
          p->kmeans_k == q->kmeans_k && p->kmeans_max_iter == q->kmeans_max_iter &&
          p->kmeans_seed == q->kmeans_seed;
    ok &= p->metric == q->metric && p->n_eps == q->n_eps && p->min_samples == q->min_samples &&
          p->k1 == q->k1 && p->k2 == q->k2 && p->n_threads == q->n_threads &&
          p->outliers == q->outliers && p->reliability == q->reliability &&
          p->normalize == q->normalize && x->algorithm == y->algorithm;
    for (int e = 0; e < p->n_eps; e++)
        ok &= p->eps[e] == q->eps[e];
    ok &= x->alpha == y->alpha && x->w == y->w && x->beta == y->beta;
    ok &= x->n == y->n && x->generations == y->generations;
    return ok;
}

static int round_trips(const cli_args *a)
{
    if (a->help || a->version)
        return 1;
    canonical c;
    cli_args again;
    char message[600];
    render(a, &c);
    if (cli_parse(c.argc, c.argv, &again, message, sizeof message) != 0) {
        fprintf(stderr, "canonical argv refused: %s\n", message);
        return 0;
    }
    return same_args(a, &again);
}

static int check_input(const uint8_t *data, size_t size)
{
    static decoded d;
    cli_args a, b;
    char message[600], again[600];
    decode(data, size, &d);
    const int rc = parse(&d, &a, message, sizeof message);
    if (rc != 0 && rc != CLI_EXIT_USAGE)
        return 1;
    if (parse(&d, &b, again, sizeof again) != rc || strcmp(message, again) != 0)
        return 1;
    if (rc != 0) {
        if (!good_refusal(message)) {
            fprintf(stderr, "refusal: [%s]\n", message);
            return 1;
        }
        return 0;
    }
    if (!same_args(&a, &b) || !in_range(&a))
        return 1;
    if (!model_agrees(&d, &a)) {
        fprintf(stderr, "the accepted values differ from the texts given\n");
        return 1;
    }
    return round_trips(&a) ? 0 : 1;
}
FUZZ_ENTRY(check_input)
