/*
 * checkpoint.c - a refiner's state as bytes and back (rlcc_refiner_save,
 * rlcc_refiner_load; rlcc.h and docs/stability.md give the format).
 *
 * Every field is written and read one by one, little-endian at a fixed
 * place, floats as their IEEE-754 bits: no struct is ever copied as it lies
 * in memory, so the bytes are the same on every machine and a save of a
 * loaded refiner gives back the bytes it came from.
 *
 * Loading trusts nothing. The envelope (magic, size, checksum, format
 * version) is checked before anything is allocated, the header's options
 * with rlcc_refiner_new()'s own checks, and each array with the checks the
 * library applies to the same data from a caller, as it is decoded into the
 * new refiner. The consensus matrix is not stored: it is computed again
 * from the two labelings by the code the step used, so it cannot disagree
 * with them. Until the last check passes the new refiner is nobody's, and
 * any failure frees it whole.
 */
#include <math.h>
#include <string.h>

#include "bytes.h"
#include "refiner.h"

#define LOAD_OPTIONS_SIZE_1_6 (offsetof(rlcc_load_options, max_bytes) + sizeof(int64_t))

/* The envelope, the same in every format version: magic, format version,
 * the writer's RLCC_VERSION_NUMBER, the total size; a CRC-32C at the end. */
static const uint8_t magic[8] = {0x89, 'R', 'L', 'C', 'C', 'R', 'F', 0x1A};
enum {
    AT_FORMAT = 8,
    AT_WRITER = 12,
    AT_SIZE = 16,
    ENVELOPE_SIZE = 24,
    CHECKSUM_SIZE = 4,
    HEADER_SIZE = 192,    /* format 1: the envelope and the fields after it */
    EXTENSION_SIZE = 64,  /* format 2 adds the options of InfoMap and k-means */
};

/* A state is written in the oldest format that holds it: format 1 for a
 * DBSCAN refiner (so librlcc 1.6 reads it), format 2 for the methods of
 * 1.7, whose options follow format 1's header. */
static uint32_t format_of(int32_t method)
{
    return method == RLCC_PSEUDO_DBSCAN ? 1u : 2u;
}

static uint64_t header_size(uint32_t format)
{
    return format >= 2 ? HEADER_SIZE + EXTENSION_SIZE : HEADER_SIZE;
}

/* Format 1's optional arrays. */
enum {
    FLAG_PROBABILITIES = 1u, /* n x k_prev from the logits callback */
    FLAG_FEATURES = 2u,      /* n x d, what the targets read */
    FLAG_KNN = 4u,           /* n x k1 lists for the next step */
    /* no array (since 1.8): the targets read the caller's rows, the latest
     * step having come from rlcc_refiner_step_labels(); librlcc 1.6 and
     * 1.7 refuse such a state (unknown flags) rather than misread it */
    FLAG_CALLER_ROWS = 8u,
    KNOWN_FLAGS = 15u,
};

/* The sizes a state's arrays follow from. */
typedef struct layout {
    int64_t n, d, done, k, k_prev, k1;
    uint32_t flags;
    uint32_t format;
} layout;

static void put_labels(writer *w, const int32_t *labels, int64_t n)
{
    for (int64_t i = 0; i < n; i++)
        put_i32(w, labels[i]);
}

/* rows x cols floats of a matrix with row stride ld, as rows x cols. */
static void put_matrix(writer *w, const float *m, int64_t rows, int64_t cols, int64_t ld)
{
    for (int64_t r = 0; r < rows; r++)
        for (int64_t c = 0; c < cols; c++)
            put_f32(w, m[r * ld + c]);
}

static void take_labels(reader *rd, int32_t *labels, int64_t n)
{
    for (int64_t i = 0; i < n; i++)
        labels[i] = take_i32(rd);
}

static void take_floats(reader *rd, float *m, int64_t count)
{
    for (int64_t e = 0; e < count; e++)
        m[e] = take_f32(rd);
}

/* ---- sizes ----------------------------------------------------------------- */

/* *total += count * size, or 0 when it would overflow. */
static int add_bytes(uint64_t *total, uint64_t count, uint64_t size)
{
    if (count != 0 && size > (UINT64_MAX - *total) / count)
        return 0;
    *total += count * size;
    return 1;
}

/* The state's size in bytes, or 0 when it does not fit 64 bits. Every
 * count is at most INT32_MAX, so each product of two fits. */
static int state_bytes(const layout *L, uint64_t *total)
{
    const uint64_t n = (uint64_t)L->n, d = (uint64_t)L->d;
    *total = header_size(L->format) + CHECKSUM_SIZE;
    int ok = 1;
    if (L->done >= 1)
        ok = add_bytes(total, n, 4) && add_bytes(total, (uint64_t)L->k * d, 4);
    if (ok && L->done >= 2)
        ok = add_bytes(total, n, 4) && add_bytes(total, (uint64_t)L->k_prev * d, 4);
    if (ok && (L->flags & FLAG_PROBABILITIES))
        ok = add_bytes(total, n * (uint64_t)L->k_prev, 4);
    if (ok && (L->flags & FLAG_FEATURES))
        ok = add_bytes(total, n * d, 4);
    if (ok && (L->flags & FLAG_KNN))
        ok = add_bytes(total, n * (uint64_t)L->k1, 8);
    return ok;
}

static void layout_of(const rlcc_refiner *r, layout *L)
{
    L->n = r->n;
    L->d = r->d;
    L->done = r->done;
    L->k = r->done >= 1 ? r->cur.k : 0;
    L->k_prev = r->done >= 2 ? r->prev_k : 0;
    L->k1 = rlcc__pseudo_knn_width(&r->pseudo);
    L->format = format_of(r->pseudo.method);
    L->flags = (r->cur.probs != NULL ? FLAG_PROBABILITIES : 0u) |
               (r->x != NULL ? FLAG_FEATURES : 0u) | (r->next_knn != NULL ? FLAG_KNN : 0u) |
               (r->caller_rows ? FLAG_CALLER_ROWS : 0u);
}

/* ---- save ------------------------------------------------------------------ */

static void write_state(const rlcc_refiner *r, const layout *L, uint64_t total, uint8_t *out)
{
    const rlcc_pseudo_options *p = &r->pseudo;
    const rlcc_refiner_options *o = &r->options;
    writer w = {out};
    memcpy(w.at, magic, sizeof magic);
    w.at += sizeof magic;
    put_u32(&w, L->format);
    put_u32(&w, RLCC_VERSION_NUMBER);
    put_u64(&w, total);
    put_u32(&w, L->flags);
    put_u32(&w, 0); /* reserved */
    put_i64(&w, L->n);
    put_i64(&w, L->d);
    put_i64(&w, L->done);
    put_i64(&w, L->k);
    put_i64(&w, L->k_prev);
    put_f64(&w, r->threshold);
    put_f32(&w, o->alpha);
    put_f32(&w, o->w);
    put_f32(&w, o->beta);
    put_f32(&w, o->scale);
    const int32_t ints[10] = {p->metric,   p->k1,       p->k2,          p->variant,
                              p->normalize, p->outliers, p->reliability, p->guard,
                              p->n_threads, p->n_eps};
    for (int f = 0; f < 10; f++)
        put_i32(&w, ints[f]);
    put_f32(&w, p->cutoff);
    put_i32(&w, p->method);
    for (int e = 0; e < 3; e++)
        put_f64(&w, p->eps[e]);
    put_f64(&w, p->threshold);
    put_i64(&w, p->min_samples);
    put_i64(&w, p->max_bytes);
    if (L->format >= 2) {
        put_i32(&w, p->infomap_k);
        put_i32(&w, p->infomap_cluster_num);
        put_f64(&w, p->infomap_min_sim);
        put_u64(&w, p->infomap_seed);
        put_i32(&w, p->infomap_trials);
        put_i32(&w, p->kmeans_max_iter);
        put_i64(&w, p->kmeans_k);
        put_f64(&w, p->kmeans_tol);
        put_u64(&w, p->kmeans_seed);
        put_i64(&w, p->kmeans_max_points);
    }
    if (L->done >= 1) {
        put_labels(&w, r->cur.labels, r->n);
        put_matrix(&w, r->cur.centroids, L->k, r->d, r->d);
    }
    if (L->done >= 2) {
        put_labels(&w, r->prev_labels, r->n);
        put_matrix(&w, r->prev_centroids, L->k_prev, r->d, r->d);
    }
    if (L->flags & FLAG_PROBABILITIES)
        put_matrix(&w, r->cur.probs, r->n, r->cur.probs_cols, r->cur.probs_cols);
    if (L->flags & FLAG_FEATURES)
        put_matrix(&w, r->x, r->n, r->d, r->ldx);
    for (int64_t e = 0; e < r->knn_count; e++)
        put_i64(&w, r->next_knn[e]);
    put_u32(&w, rlcc__crc32c(out, (size_t)(total - CHECKSUM_SIZE)));
}

int rlcc_refiner_save(const rlcc_refiner *refiner, void *buffer, size_t capacity, size_t *size)
{
    rlcc__clear_error();
    const rlcc_refiner *r = refiner;
    if (r == NULL)
        return rlcc__fail(RLCC_E_INVALID_ARGUMENT, "refiner: is NULL");
    if (size == NULL)
        return rlcc__fail(RLCC_E_INVALID_ARGUMENT, "size: is NULL");
    int err = rlcc__refiner_enter_reader(r);
    if (err != RLCC_OK)
        return err;
    layout L;
    layout_of(r, &L);
    uint64_t total = 0;
    if (!state_bytes(&L, &total) || total > SIZE_MAX) {
        err = rlcc__fail(RLCC_E_INVALID_ARGUMENT,
                         "refiner: its state is larger than size_t can count");
    } else if (buffer == NULL) {
        *size = (size_t)total;
    } else if (capacity < total) {
        *size = (size_t)total;
        err = rlcc__fail(RLCC_E_INVALID_ARGUMENT,
                         "capacity: %zu bytes, below the %zu the state needs (a NULL buffer "
                         "asks for the size)",
                         capacity, (size_t)total);
    } else {
        write_state(r, &L, total, buffer);
        *size = (size_t)total;
    }
    rlcc__refiner_leave_reader(r);
    return err;
}

/* ---- load: the envelope and the header --------------------------------------- */

static int refuse(const char *what)
{
    return rlcc__fail(RLCC_E_INVALID_ARGUMENT, "state: %s", what);
}

/* Magic, size, checksum and format version, before anything is read. */
static int check_envelope(const uint8_t *s, size_t size)
{
    if (size < sizeof magic)
        return rlcc__fail(RLCC_E_INVALID_ARGUMENT,
                          "state: %zu bytes, too few for a refiner state (its header alone "
                          "is %d)",
                          size, HEADER_SIZE);
    if (memcmp(s, magic, sizeof magic) != 0)
        return refuse("not a librlcc refiner state (the first 8 bytes are not its magic "
                      "number)");
    if (size < ENVELOPE_SIZE + CHECKSUM_SIZE)
        return rlcc__fail(RLCC_E_INVALID_ARGUMENT,
                          "state: truncated: %zu bytes, fewer than its header's %d", size,
                          HEADER_SIZE);
    const uint64_t declared = get_u64(s + AT_SIZE);
    if (declared != size)
        return rlcc__fail(RLCC_E_INVALID_ARGUMENT,
                          declared > size
                              ? "state: truncated: %zu bytes of the %llu its header declares"
                              : "state: %zu bytes, but its header declares %llu (bytes after "
                                "the end)",
                          size, (unsigned long long)declared);
    const uint32_t stored = get_u32(s + size - CHECKSUM_SIZE);
    const uint32_t computed = rlcc__crc32c(s, size - CHECKSUM_SIZE);
    if (stored != computed)
        return rlcc__fail(RLCC_E_INVALID_ARGUMENT,
                          "state: checksum mismatch (stored 0x%08x, computed 0x%08x): the "
                          "bytes are corrupted",
                          (unsigned)stored, (unsigned)computed);
    const uint32_t format = get_u32(s + AT_FORMAT), writer_version = get_u32(s + AT_WRITER);
    if (format == 0 || format > RLCC_STATE_FORMAT)
        return rlcc__fail(RLCC_E_INVALID_ARGUMENT,
                          "state: format version %u, written by librlcc %u.%u.%u; this librlcc "
                          "(%s) reads format versions 1 to %d",
                          (unsigned)format, (unsigned)(writer_version / 10000),
                          (unsigned)(writer_version / 100 % 100), (unsigned)(writer_version % 100),
                          RLCC_VERSION_STRING, RLCC_STATE_FORMAT);
    if (size < header_size(format) + CHECKSUM_SIZE)
        return rlcc__fail(RLCC_E_INVALID_ARGUMENT,
                          "state: %zu bytes, fewer than the %d of a format %u header and checksum",
                          size, (int)(header_size(format) + CHECKSUM_SIZE), (unsigned)format);
    return RLCC_OK;
}

/* What the header says, read as the caller's arguments would be. */
typedef struct header {
    layout L;
    uint32_t reserved;
    double threshold;
    rlcc_pseudo_options pseudo;
    rlcc_refiner_options options;
} header;

static void read_header(reader *rd, header *h)
{
    h->L.format = get_u32(rd->at + AT_FORMAT);
    rd->at += ENVELOPE_SIZE;
    h->L.flags = take_u32(rd);
    h->reserved = take_u32(rd);
    h->L.n = take_i64(rd);
    h->L.d = take_i64(rd);
    h->L.done = take_i64(rd);
    h->L.k = take_i64(rd);
    h->L.k_prev = take_i64(rd);
    h->threshold = take_f64(rd);
    rlcc_refiner_options *o = &h->options;
    rlcc_refiner_options_init(o, sizeof *o);
    o->alpha = take_f32(rd);
    o->w = take_f32(rd);
    o->beta = take_f32(rd);
    o->scale = take_f32(rd);
    rlcc_pseudo_options *p = &h->pseudo;
    rlcc_pseudo_options_init(p, sizeof *p); /* knn NULL, reserved 0 */
    int32_t *const ints[10] = {&p->metric,    &p->k1,       &p->k2,          &p->variant,
                               &p->normalize, &p->outliers, &p->reliability, &p->guard,
                               &p->n_threads, &p->n_eps};
    for (int f = 0; f < 10; f++)
        *ints[f] = take_i32(rd);
    p->cutoff = take_f32(rd);
    p->method = take_i32(rd);
    for (int e = 0; e < 3; e++)
        p->eps[e] = take_f64(rd);
    p->threshold = take_f64(rd);
    p->min_samples = take_i64(rd);
    p->max_bytes = take_i64(rd);
    if (h->L.format >= 2) {
        p->infomap_k = take_i32(rd);
        p->infomap_cluster_num = take_i32(rd);
        p->infomap_min_sim = take_f64(rd);
        p->infomap_seed = take_u64(rd);
        p->infomap_trials = take_i32(rd);
        p->kmeans_max_iter = take_i32(rd);
        p->kmeans_k = take_i64(rd);
        p->kmeans_tol = take_f64(rd);
        p->kmeans_seed = take_u64(rd);
        p->kmeans_max_points = take_i64(rd);
    }
    h->L.k1 = rlcc__pseudo_knn_width(p);
}

/* A class count for a generation that has one (1 .. top) or has not (0). */
static int check_classes(const char *name, int64_t k, int has, int64_t top, int64_t done)
{
    if (has ? (k >= 1 && k <= top) : k == 0)
        return RLCC_OK;
    return rlcc__fail(RLCC_E_INVALID_ARGUMENT,
                      has ? "state: %s is %lld after %lld generations; must be in [1, %lld]"
                          : "state: %s is %lld after %lld generations; must be 0",
                      name, (long long)k, (long long)done, (long long)top);
}

/* The header against itself: the checks of rlcc_refiner_new(), then the
 * sizes, flags and threshold a refiner with these options can have, then
 * the size they add up to. p and o receive the checked options. */
static int check_header(const header *h, size_t size, rlcc_pseudo_options *p,
                        rlcc_refiner_options *o)
{
    const layout *L = &h->L;
    if (L->flags & ~(uint32_t)KNOWN_FLAGS)
        return rlcc__fail(RLCC_E_INVALID_ARGUMENT,
                          "state: flags 0x%x has bits this librlcc does not know",
                          (unsigned)L->flags);
    if (h->reserved != 0)
        return rlcc__fail(RLCC_E_INVALID_ARGUMENT, "state: reserved field is %u, must be 0",
                          (unsigned)h->reserved);
    if (L->format != format_of(h->pseudo.method))
        return rlcc__fail(RLCC_E_INVALID_ARGUMENT,
                          "state: format %u, but a refiner of method %d is written in format %u",
                          (unsigned)L->format, (int)h->pseudo.method,
                          (unsigned)format_of(h->pseudo.method));
    if (rlcc__refiner_check_setup(L->n, L->d, &h->pseudo, &h->options, p, o) != RLCC_OK)
        return rlcc__fail_prefixed(RLCC_E_INVALID_ARGUMENT, "state: ");
    if (memcmp(p->eps, h->pseudo.eps, sizeof p->eps) != 0)
        return rlcc__fail(RLCC_E_INVALID_ARGUMENT,
                          "state: eps %g, %g, %g are not in ascending order (a refiner keeps "
                          "them sorted)",
                          h->pseudo.eps[0], h->pseudo.eps[1], h->pseudo.eps[2]);
    if (L->done < 0)
        return rlcc__fail(RLCC_E_INVALID_ARGUMENT, "state: generations %lld is negative",
                          (long long)L->done);
    /* at most one class a sample, but SpCL's criterion without its guard
     * gives each sample it ejects a class of its own beside the one it
     * leaves (which may be left empty) */
    const int64_t top = p->reliability && !p->guard ? 2 * L->n : L->n;
    int err = check_classes("classes", L->k, L->done >= 1, top, L->done);
    if (err == RLCC_OK)
        err = check_classes("previous classes", L->k_prev, L->done >= 2, top, L->done);
    if (err != RLCC_OK)
        return err;
    const int probs = (L->flags & FLAG_PROBABILITIES) != 0;
    const int features = (L->flags & FLAG_FEATURES) != 0;
    const int caller_rows = (L->flags & FLAG_CALLER_ROWS) != 0;
    if (probs && L->done < 2)
        return refuse("logits' probabilities before generation 2, which never has them");
    if (features && !(L->done >= 2 && o->beta < 1.0f && !probs))
        return refuse("features where the targets never read them (they do from generation 2 "
                      "on, with beta < 1 and no logits)");
    if (caller_rows && !(L->done >= 2 && o->beta < 1.0f && !probs && !features))
        return refuse("the caller's rows where the targets read no features (they do from "
                      "generation 2 on, with beta < 1 and no logits)");
    if (L->done >= 2 && o->beta < 1.0f && !probs && !features && !caller_rows)
        return refuse("no features and no logits' probabilities, but the targets read one "
                      "(generation 2 on, beta < 1)");
    if ((L->flags & FLAG_KNN) && L->k1 == 0)
        return refuse("kNN lists, but only DBSCAN on the Jaccard distance and InfoMap read "
                      "them");
    err = rlcc__refiner_check_threshold("state: threshold", h->threshold, L->done, p);
    if (err != RLCC_OK)
        return err;
    uint64_t want = 0;
    if (!state_bytes(L, &want) || want != size)
        return rlcc__fail(RLCC_E_INVALID_ARGUMENT,
                          "state: %zu bytes, but the sizes in its header make %llu", size,
                          (unsigned long long)want);
    return RLCC_OK;
}

/* ---- load: the arrays ---------------------------------------------------------- */

/* Rows of a softmax: finite, in [0, 1], summing to 1 (within 1e-3; the
 * step's rows are within a few float32 roundings of it). */
static int check_loaded_probabilities(const float *probs, int64_t n, int64_t k)
{
    const char *name = "state: probabilities";
    int err = rlcc__check_finite(name, probs, n, k, k);
    for (int64_t i = 0; err == RLCC_OK && i < n; i++) {
        double sum = 0.0;
        for (int64_t a = 0; err == RLCC_OK && a < k; a++) {
            const float p = probs[i * k + a];
            sum += p;
            if (!(p >= 0.0f && p <= 1.0f))
                err = rlcc__fail(RLCC_E_INVALID_ARGUMENT,
                                 "%s: row %lld, column %lld is %g, outside [0, 1]", name,
                                 (long long)i, (long long)a, (double)p);
        }
        if (err == RLCC_OK && fabs(sum - 1.0) > 1e-3)
            err = rlcc__fail(RLCC_E_INVALID_ARGUMENT,
                             "%s: row %lld sums to %g, not 1 (they are softmax rows)", name,
                             (long long)i, sum);
    }
    return err;
}

/* One generation's labels and centroids into *labels and *centroids. */
static int load_generation(rlcc_refiner *r, reader *rd, int64_t k, int32_t **labels,
                           float **centroids, const char *labels_name, const char *centroids_name)
{
    int err;
    *labels = rlcc__alloc(&r->budget, r->n, sizeof **labels, "refiner labels", &err);
    if (*labels == NULL)
        return err;
    take_labels(rd, *labels, r->n);
    err = rlcc__refiner_check_labels(labels_name, *labels, r->n, k, &r->pseudo, &r->budget);
    if (err != RLCC_OK)
        return err;
    *centroids = rlcc__alloc(&r->budget, k * r->d, sizeof **centroids, "refiner centroids", &err);
    if (*centroids == NULL)
        return err;
    take_floats(rd, *centroids, k * r->d);
    return rlcc__refiner_check_centroids(centroids_name, *centroids, k, r->d, r->d);
}

/* The arrays after the header, into r (a new refiner whose header fields
 * are set), each checked as it arrives; on error the caller frees r. */
static int load_arrays(rlcc_refiner *r, const layout *L, reader *rd, int threads)
{
    const int64_t n = r->n, d = r->d;
    rlcc__budget *b = &r->budget;
    int err = RLCC_OK;
    if (L->done >= 1) {
        r->cur.k = L->k;
        err = load_generation(r, rd, L->k, &r->cur.labels, &r->cur.centroids, "state: labels",
                              "state: centroids");
    }
    if (err == RLCC_OK && L->done >= 2) {
        r->prev_k = L->k_prev;
        err = load_generation(r, rd, L->k_prev, &r->prev_labels, &r->prev_centroids,
                              "state: previous labels", "state: previous centroids");
    }
    if (err == RLCC_OK && (L->flags & FLAG_PROBABILITIES)) {
        r->cur.probs = rlcc__alloc(b, n * L->k_prev, sizeof *r->cur.probs, "refiner logits", &err);
        r->cur.probs_cols = L->k_prev;
        if (r->cur.probs != NULL) {
            take_floats(rd, r->cur.probs, n * L->k_prev);
            err = check_loaded_probabilities(r->cur.probs, n, L->k_prev);
        }
    }
    if (err == RLCC_OK && (L->flags & FLAG_FEATURES)) {
        r->x_copy = rlcc__alloc(b, n * d, sizeof *r->x_copy, "refiner features", &err);
        if (r->x_copy != NULL) {
            take_floats(rd, r->x_copy, n * d);
            r->x = r->x_copy;
            r->ldx = d;
            err = rlcc__check_feature_values("state: features", r->x_copy, n, d, d, threads, b);
        }
    }
    r->caller_rows = (L->flags & FLAG_CALLER_ROWS) != 0;
    if (err == RLCC_OK && (L->flags & FLAG_KNN)) {
        /* kept as rlcc_refiner_set_knn() keeps lists: the step checks them */
        r->next_knn = rlcc__alloc(b, n * L->k1, sizeof *r->next_knn, "refiner kNN lists", &err);
        if (r->next_knn != NULL) {
            r->knn_count = n * L->k1;
            for (int64_t e = 0; e < r->knn_count; e++)
                r->next_knn[e] = take_i64(rd);
        }
    }
    if (err == RLCC_OK && L->done >= 2) /* the step's own consensus, computed again */
        err = rlcc__consensus_csr(r->prev_labels, r->cur.labels, n, L->k_prev, L->k,
                                  RLCC_CONSENSUS_IOU, RLCC_NORMALIZE_SUM, b, &r->cur.chat);
    return err;
}

int rlcc_load_options_init(rlcc_load_options *options, size_t struct_size)
{
    rlcc__clear_error();
    const rlcc_load_options defaults = {.struct_size = sizeof defaults};
    return rlcc__init_struct(options, struct_size, &defaults, sizeof defaults,
                             LOAD_OPTIONS_SIZE_1_6, "options");
}

int rlcc_refiner_load(const void *state, size_t size, const rlcc_load_options *options,
                      rlcc_refiner **out)
{
    rlcc__clear_error();
    rlcc_load_options o;
    rlcc_load_options_init(&o, sizeof o);
    int err = out == NULL ? rlcc__fail(RLCC_E_INVALID_ARGUMENT, "out: is NULL") : RLCC_OK;
    if (err == RLCC_OK && state == NULL && size > 0)
        err = rlcc__fail(RLCC_E_INVALID_ARGUMENT, "state: is NULL");
    if (err == RLCC_OK)
        err = rlcc__read_struct(&o, sizeof o, options, LOAD_OPTIONS_SIZE_1_6, "options");
    if (err == RLCC_OK)
        err = rlcc__check_reserved("options.reserved", o.reserved);
    if (err == RLCC_OK)
        err = rlcc__check_resources(o.n_threads, o.max_bytes);
    if (err == RLCC_OK)
        err = check_envelope(state, size);
    header h;
    rlcc_pseudo_options p;
    rlcc_refiner_options ro;
    reader rd = {state};
    if (err == RLCC_OK) {
        read_header(&rd, &h);
        err = check_header(&h, size, &p, &ro);
    }
    if (err != RLCC_OK)
        return err;
    rlcc_refiner *r = rlcc__refiner_create(h.L.n, h.L.d, &p, &ro);
    if (r == NULL)
        return RLCC_E_OUT_OF_MEMORY;
    r->done = h.L.done;
    r->threshold = h.threshold;
    /* the call's bound, as a step's: the refiner keeps its own budget */
    const int64_t limit = r->budget.limit;
    if (o.max_bytes > 0)
        r->budget.limit = o.max_bytes;
    /* the checks run on this call's threads: a state does not choose them */
    err = load_arrays(r, &h.L, &rd, rlcc__resolve_threads(o.n_threads));
    r->budget.limit = limit;
    if (err != RLCC_OK) {
        rlcc__refiner_release(r);
        return err;
    }
    *out = r;
    return RLCC_OK;
}
