/*
 * internal.h - what the librlcc source files share and the public header
 * does not show: error reporting, the memory budget, thread helpers and
 * argument checks.
 */
#ifndef RLCC_INTERNAL_H
#define RLCC_INTERNAL_H

#include <stddef.h>
#include <stdint.h>

#include "rlcc.h"

/* ---- errors (error.c) ---------------------------------------------------- */

/* Clears this thread's last-error text; every public fallible call does this
 * first, so rlcc_last_error() always speaks of the latest call. */
void rlcc__clear_error(void);

/* Records a printf-style message for rlcc_last_error() and returns code, so
 * a check reads `return rlcc__fail(RLCC_E_..., "x: ...")`. */
int rlcc__fail(int code, const char *fmt, ...)
#if defined(__GNUC__)
    __attribute__((format(printf, 2, 3)))
#endif
    ;

/* Puts prefix before the message recorded last (a check shared with the
 * argument checks, applied to a loaded state: "state: alpha: ...") and
 * returns code. */
int rlcc__fail_prefixed(int code, const char *prefix);

/* ---- memory budget (alloc.c) ----------------------------------------------
 * Every working allocation of a call goes through one budget, so the call
 * can refuse work that would exceed the caller's max_bytes before
 * allocating it, and report its peak. Allocation failures and limit
 * overruns set the error message themselves. */
typedef struct rlcc__budget {
    int64_t limit; /* bytes allowed at once */
    int64_t used;  /* bytes held now */
    int64_t peak;  /* high-water mark of used */
} rlcc__budget;

/* Resolves a caller's max_bytes (0 = default: half of physical memory). */
void rlcc__budget_init(rlcc__budget *budget, int64_t max_bytes);

/* Returns NULL (with the error recorded in *err) when count * size
 * overflows, exceeds the budget or the allocation fails. what names the
 * buffer in the message. */
void *rlcc__alloc(rlcc__budget *budget, int64_t count, size_t size,
                  const char *what, int *err);
void *rlcc__calloc(rlcc__budget *budget, int64_t count, size_t size,
                   const char *what, int *err);
/* Grows p from old_count to new_count elements; on failure p is untouched
 * and still owned by the caller. */
void *rlcc__realloc(rlcc__budget *budget, void *p, int64_t old_count,
                    int64_t new_count, size_t size, const char *what,
                    int *err);
/* Small allocations that are not working memory (the refiner's and a kNN
 * state's handle): zeroed, through the same hook, not charged; free with
 * rlcc__system_free(p, bytes). */
void *rlcc__zalloc(size_t bytes);
/* Frees what the hook allocated, bytes long (NULL is fine): what a caller
 * frees after its call's budget is gone (rlcc_csr_free) goes through it. */
void rlcc__system_free(void *p, size_t bytes);

#ifdef RLCC_FAULT_INJECTION
/* Test builds only: make the k-th allocation from now fail (0 = none), and
 * count the allocations made since arming. */
void rlcc__fault_arm(int64_t k);
int64_t rlcc__fault_seen(void);
/* The counting allocator: bytes librlcc's allocations hold now, and their
 * high-water mark since the last reset. */
int64_t rlcc__alloc_live(void);
int64_t rlcc__alloc_peak(void);
void rlcc__alloc_peak_reset(void);
#endif

/* Frees p, which holds count elements of size bytes (NULL is fine). */
void rlcc__free(rlcc__budget *budget, void *p, int64_t count, size_t size);

/* ---- threads (threads.c) -------------------------------------------------- */

/* Resolves a caller's n_threads (0 = omp_get_max_threads()); never < 1,
 * never more than the machine runs (omp_get_num_procs(), or
 * omp_get_max_threads() when that is larger; OMP_THREAD_LIMIT), and 1 in a
 * child created by fork(). Every parallel region takes its count from here,
 * with if (n_threads > 1). */
int rlcc__resolve_threads(int32_t n_threads);

/* libomp keeps its workers spinning for KMP_BLOCKTIME after a parallel
 * region, which steals the cores from the OpenBLAS call that follows. A
 * call that alternates BLAS and OpenMP sets the block time to 0 for its
 * duration and restores the caller's value at the end. A no-op with a
 * runtime that lacks kmp_set_blocktime (GCC's libgomp). */
typedef struct rlcc__blocktime_guard {
    int saved;
    int active;
} rlcc__blocktime_guard;
void rlcc__blocktime_enter(rlcc__blocktime_guard *guard);
void rlcc__blocktime_leave(rlcc__blocktime_guard *guard);

/* This thread's number in the current OpenMP team (0 outside one). */
int rlcc__thread_index(void);

/* ---- fixed-order arithmetic (fixed.c) ---------------------------------------
 * Values whose roundings librlcc decides: the same bits on every CPU, BLAS
 * kernel and thread count. Sums run over eight lanes (k mod 8), combined
 * ((l0 + l1) + (l2 + l3)) + ((l4 + l5) + (l6 + l7)). */
double rlcc__sqdist_fixed(const float *a, const float *b, int64_t d);
double rlcc__dot_fixed(const float *a, const float *b, int64_t d);
double rlcc__exp_fixed(double x);

/* ---- shared argument checks (check.c) ---------------------------------------
 * The public layer's checks. Each returns RLCC_OK or records a message
 * naming `name` and returns RLCC_E_INVALID_ARGUMENT. */
/* A number of samples: >= 0 and <= INT32_MAX (labels are int32). */
int rlcc__check_row_count(const char *name, int64_t n);
/* A caller matrix: n rows as above, d >= 1, d <= ld <= INT32_MAX, n x ld
 * within int64, p not NULL unless n == 0. */
int rlcc__check_matrix(const char *name, const void *p, int64_t n, int64_t d,
                       int64_t ld);
int rlcc__check_eps(double eps);
int rlcc__check_min_samples(int64_t min_samples);
int rlcc__check_threads(int32_t n_threads);
int rlcc__check_max_bytes(int64_t max_bytes);
/* The two fields every options struct since 1.4 has. */
int rlcc__check_resources(int32_t n_threads, int64_t max_bytes);
int rlcc__check_struct_size(size_t struct_size, size_t min_size, const char *name);
/* A field documented "reserved, must be 0". */
int rlcc__check_reserved(const char *name, int64_t value);
/* A list of sample indices (rows, n_rows) into n samples; rows == NULL
 * means every sample, and then n_rows must be n. */
int rlcc__check_sample_rows(const int64_t *rows, int64_t n_rows, int64_t n);
int rlcc__check_unit_interval(const char *name, float v);
/* No NaN or Inf in a rows x cols matrix. */
int rlcc__check_finite(const char *name, const float *m, int64_t rows, int64_t cols, int64_t ld);
/* a * b for sizes a, b >= 0, or -1 when the product does not fit int64 (or
 * a factor is negative). Every product of caller sizes is formed through
 * this, or only after each factor has been validated against a bound that
 * keeps it in range. */
int64_t rlcc__mul(int64_t a, int64_t b);
/* The bytes of one caller array: rows of row_bytes bytes, stride bytes
 * apart (a vector is one row). Built from sizes already validated. */
typedef struct rlcc__span {
    const char *name;
    const void *p;
    int64_t rows, row_bytes, stride;
} rlcc__span;
rlcc__span rlcc__matrix_span(const char *name, const void *p, int64_t rows, int64_t cols,
                             int64_t ld, size_t size);
rlcc__span rlcc__vector_span(const char *name, const void *p, int64_t n, size_t size);
/* Refuses an output that shares a byte with an input or with another output,
 * naming both: whether two strided matrices share a byte is decided exactly
 * (interleaved column blocks of one buffer do not), in O(rows) and only when
 * their first-to-last byte ranges meet. */
int rlcc__check_no_overlap(const rlcc__span *outputs, int n_outputs, const rlcc__span *inputs,
                           int n_inputs);
/* Labels in [-1, *k); *k == 0 becomes max label + 1. */
int rlcc__check_labels(const char *name, const int32_t *labels, int64_t n, int64_t *k);
/* Reads a caller's options struct src (NULL: keep dst) over dst, which
 * holds the defaults: refuses a struct_size below min_size and a newer
 * caller's struct whose bytes beyond dst_size are not all zero, copies no
 * more than the caller's struct_size nor than dst_size bytes, and sets
 * dst->struct_size to dst_size. */
int rlcc__read_struct(void *dst, size_t dst_size, const void *src, size_t min_size,
                      const char *name);

/* Writes a result struct (stats) into a caller's dst: the fields after
 * struct_size that both know, bytes [sizeof(size_t), min(dst->struct_size,
 * src_size)), and nothing else: not dst->struct_size, and never a byte
 * beyond what this librlcc knows, whatever size the caller claims. */
void rlcc__write_struct(void *dst, const void *src, size_t src_size);

/* The body of every rlcc_*_options_init(): copies defaults (whose first
 * field is struct_size) into dst, writing exactly struct_size bytes. */
int rlcc__init_struct(void *dst, size_t struct_size, const void *defaults,
                      size_t defaults_size, size_t min_size, const char *name);

/* Largest squared row norm a feature matrix may have: keeps every float32
 * product, Gram entry and |a|^2 + |b|^2 - 2ab far from overflow. */
#define RLCC_MAX_SQUARED_NORM 0x1p120

/* Squared row norms in double, refusing NaN/Inf (naming the first bad row
 * and column) and rows above RLCC_MAX_SQUARED_NORM. */
int rlcc__row_norms(const char *name, const float *x, int64_t n, int64_t d,
                    int64_t ldx, int n_threads, double *norm2);

/* A CSR n x n matrix's structure, as rlcc_dbscan_csr() documents it:
 * indptr[0] == 0 and non-decreasing, columns in [0, n) strictly ascending
 * in each row (a duplicate or unsorted column refused by name), indices and
 * data present when anything is stored. The values are the caller's to
 * check. */
int rlcc__check_csr_structure(int64_t n, const int64_t *indptr, const int32_t *indices,
                              const float *data);

/* Rows divided by their norms (norm2: squared, > 0): out is n x d, row
 * i = (float)(x_i * (1 / sqrt(norm2[i]))) in double, the one normalisation
 * every option `normalize` applies; out_norm2 (may be NULL) gets the new
 * squared norms. */
void rlcc__normalize_rows(const float *x, int64_t n, int64_t d, int64_t ldx,
                          const double *norm2, float *out, double *out_norm2);
/* A normalised copy of the rows (n x d, charged to budget), refusing
 * NaN/Inf, huge and all-zero rows with a message naming `name`. */
float *rlcc__normalized_copy(const char *name, const float *x, int64_t n, int64_t d,
                             int64_t ldx, int n_threads, rlcc__budget *budget, int *err);

/* ---- the neighbour graph (graph.c) -------------------------------------------
 * Directed neighbourhoods in CSR form: row i's neighbours are
 * indices[indptr[i] .. indptr[i+1]). Built row block by row block: rows are
 * appended in ascending order with rlcc__graph_append_rows(). */
typedef struct rlcc__graph {
    int64_t n;        /* rows */
    int64_t rows;     /* rows appended so far */
    int64_t *indptr;  /* n + 1 */
    int32_t *indices; /* capacity entries */
    int64_t capacity;
} rlcc__graph;

int rlcc__graph_init(rlcc__graph *g, int64_t n, rlcc__budget *budget);
/* Makes room for `extra` more entries, growing geometrically. */
int rlcc__graph_reserve(rlcc__graph *g, int64_t extra, rlcc__budget *budget);
void rlcc__graph_free(rlcc__graph *g, rlcc__budget *budget);

/* ---- sparse matrices (csr.c) ------------------------------------------------
 * The opaque public rlcc_csr, also the working form of V, Q and the
 * inverted index: row i is indices/data[indptr[i] .. indptr[i+1]). */
struct rlcc_csr {
    int64_t n;        /* rows */
    int64_t cols;     /* columns (n for a Jaccard result) */
    int64_t *indptr;  /* n + 1 */
    int32_t *indices; /* capacity */
    float *data;      /* capacity */
    int64_t capacity;
};

/* An empty n-row matrix with room for capacity entries. */
int rlcc__csr_init(rlcc_csr *m, int64_t n, int64_t capacity, rlcc__budget *budget);
/* Changes the room to exactly capacity entries (grow or shrink). */
int rlcc__csr_resize(rlcc_csr *m, int64_t capacity, rlcc__budget *budget);
void rlcc__csr_release(rlcc_csr *m, rlcc__budget *budget);
/* Rows were written at positions slot[i] with count[i] entries each, slots
 * ascending: moves them together and sets indptr. */
void rlcc__csr_compact(rlcc_csr *m, const int64_t *slot, const int64_t *count);

/* ---- DBSCAN labelling (dbscan.c) ------------------------------------------ */

/* scikit-learn's dbscan_inner over a complete neighbour graph: fills labels
 * (n), core (n bytes, or NULL when the caller wants no flags) and
 * *n_clusters; its scratch comes from budget (RLCC_E_OUT_OF_MEMORY or
 * RLCC_E_MEMORY_LIMIT when it cannot). */
int rlcc__dbscan_label(const rlcc__graph *g, int64_t min_samples, rlcc__budget *budget,
                       int32_t *labels, uint8_t *core, int64_t *n_clusters);

/* Gram panels (gram.c): rows [i0, i1) against rows [i0, n) into tile,
 * (i1 - i0) x (n - i0) floats, of which only entries (r, c) with
 * i0 + r <= i0 + c, the upper triangle, are written; panel_rows() sizes
 * the tile within the budget (at most 112 MiB, at least 16 rows). */
int64_t rlcc__panel_rows(int64_t n, const rlcc__budget *budget);
void rlcc__gram_panel(const float *x, int64_t n, int64_t d, int64_t ldx, int64_t i0,
                      int64_t i1, float *tile);
/* The same pairs laid out by column: tile[c][r] = x_{i0+c} . x_{i0+r},
 * (n - i0) x (i1 - i0) floats, every entry written; a reader of the
 * diagonal block (c < i1 - i0) takes r >= c, so it sees each pair once. */
void rlcc__gram_panel_columns(const float *x, int64_t n, int64_t d, int64_t ldx, int64_t i0,
                              int64_t i1, float *tile);

/* The k nearest rows (knn.c): indices n x k int32, sqdist n x k or NULL,
 * exactly as rlcc_knn() decides them. Inputs already validated. */
int rlcc__knn(const float *x, int64_t n, int64_t d, int64_t ldx,
              const double *norm2, int64_t k, int n_threads, rlcc__budget *budget,
              int32_t *indices, float *sqdist);

/* ---- the internal layer -------------------------------------------------------
 * What the public entry points call once they have validated their
 * arguments: these trust their inputs (shapes, options, labels, lists),
 * take the call's one budget, and never call a public entry point. Where
 * they are the first to read the caller's feature values they refuse
 * NaN/Inf there, in that one pass. */

/* Replaces a row of k scores by their softmax (consensus.c). */
void rlcc__softmax_row(float *row, int64_t k);

/* DBSCAN over a CSR distance matrix that is known to be well formed
 * (dbscan.c): stored entries <= (float)eps are neighbours. */
int rlcc__dbscan_csr(int64_t n, const int64_t *indptr, const int32_t *indices, const float *data,
                     double eps, int64_t min_samples, rlcc__budget *budget, int32_t *labels,
                     uint8_t *core, int64_t *n_clusters);

/* Jaccard options read and checked for n rows (jaccard.c). */
int rlcc__check_jaccard_options(const rlcc_jaccard_options *options, int64_t n,
                                rlcc_jaccard_options *out);
/* Caller kNN lists: n x k1, entries in [0, n), no repeats within a row. */
int rlcc__check_knn_lists(const int64_t *knn, int64_t n, int64_t k1, rlcc__budget *budget);
/* The Jaccard distance of n >= 1 rows into *result (an n x n CSR charged
 * to budget until the caller releases it) or, when dense != NULL, into
 * dense (ld); knn: checked caller lists or NULL. */
int rlcc__jaccard(const float *x, int64_t n, int64_t d, int64_t ldx, const int64_t *knn,
                  const rlcc_jaccard_options *opts, rlcc__budget *budget, rlcc_csr *result,
                  float *dense, int64_t ld);

/* Pseudo-label options read and checked for n rows, eps sorted
 * (pseudo.c). */
int rlcc__check_pseudo_options(const rlcc_pseudo_options *options, int64_t n,
                               rlcc_pseudo_options *out);
/* The pseudo labels of n rows by opts->method, into labels (n). */
int rlcc__pseudo_labels(const float *x, int64_t n, int64_t d, int64_t ldx,
                        const rlcc_pseudo_options *opts, rlcc__budget *budget, int32_t *labels,
                        int64_t *n_classes, double *threshold);
/* The width of the kNN lists options->knn holds for opts->method: k1
 * (DBSCAN on the Jaccard distance), infomap_k (InfoMap), else 0 (pseudo.c). */
int64_t rlcc__pseudo_knn_width(const rlcc_pseudo_options *opts);

/* Class centroids of labels in [-1, k) (pseudo.c). */
int rlcc__centroids(const float *x, int64_t n, int64_t d, int64_t ldx, const int32_t *labels,
                    int64_t k, int n_threads, rlcc__budget *budget, float *centroids,
                    int64_t ldc);

/* ---- 1.7 camera proxies, cross-agreement, eps from a quantile (#15 items 1, 4, 5) ----
 * rlcc__centroids() with the norm of rlcc_centroid_options.norm (pseudo.c). */
int rlcc__centroids_norm(const float *x, int64_t n, int64_t d, int64_t ldx,
                         const int32_t *labels, int64_t k, int32_t norm, int n_threads,
                         rlcc__budget *budget, float *centroids, int64_t ldc);
/* NumPy's float32 pairwise sum (np.add.reduce of a contiguous float32
 * vector), of v and of the float32 squares v * v (quantile.c). */
float rlcc__pairwise_sum_f32(const float *v, int64_t n);
float rlcc__pairwise_sumsq_f32(const float *v, int64_t n);

/* The consensus of two labelings in [-1, k_prev) and [-1, k_cur) as a
 * k_prev x k_cur CSR charged to budget (consensus.c); normalize is NONE or
 * SUM. */
int rlcc__consensus_csr(const int32_t *prev, const int32_t *cur, int64_t n, int64_t k_prev,
                        int64_t k_cur, int32_t kind, int32_t normalize, rlcc__budget *budget,
                        rlcc_csr *out);
/* The rows a probabilities call reads (rows, or 0 .. n_rows-1) are finite
 * with squared norms <= RLCC_MAX_SQUARED_NORM; else the first bad one is
 * refused, whatever the thread count (consensus.c). */
int rlcc__check_probability_rows(const char *name, const float *x, int64_t d, int64_t ldx,
                                 const int64_t *rows, int64_t n_rows, int n_threads);
/* softmax(scale x_i . c_a) for the samples in rows (NULL: 0 .. n_rows-1). */
int rlcc__class_probabilities(const float *x, int64_t d, int64_t ldx, const float *centroids,
                              int64_t k, int64_t ldc, float scale, const int64_t *rows,
                              int64_t n_rows, int n_threads, rlcc__budget *budget, float *probs,
                              int64_t ldp);
/* Propagation and blending (spec section 4) for the samples in rows. */
void rlcc__propagate(const int32_t *prev, const int64_t *chat_indptr, const int32_t *chat_indices,
                     const float *chat_data, int64_t k_prev, int64_t k_cur, const float *probs,
                     int64_t ldp, float w, float beta, const int64_t *rows, int64_t n_rows,
                     int n_threads, float *out, int64_t ldo);
void rlcc__blend(const int32_t *cur, int64_t k_cur, const float *s, int64_t lds, float alpha,
                 const int64_t *rows, int64_t n_rows, int n_threads, float *out, int64_t ldo);

/* ---- exact DBSCAN without a Gram matrix (grid.c, kdtree.c) ------------------
 * Euclidean features only; every pair is decided as the brute path decides
 * it, rlcc__squared_distance(x_i, x_j) <= eps * eps (distance.h), so labels,
 * core flags and counts equal the brute path's. x must already have passed
 * rlcc__check_feature_values(). They fill labels (n), core (n bytes, or
 * NULL) and *n_clusters, and, when n_neighbor_pairs is not NULL, count the
 * directed neighbour entries the brute path's graph would hold (O(pairs)
 * time, O(1) memory). Working memory is O(n d), from budget. */
int rlcc__dbscan_grid(const float *x, int64_t n, int64_t d, int64_t ldx, double eps,
                      int64_t min_samples, int n_threads, rlcc__budget *budget, int32_t *labels,
                      uint8_t *core, int64_t *n_clusters, int64_t *n_neighbor_pairs);
/* max_share > 0 is RLCC_DBSCAN_AUTO's probe: once built, the tree runs the
 * neighbour counts of a fixed sample of 256 rows and, if they would examine
 * more than max_share of the rows one by one, frees itself, sets *declined
 * and returns RLCC_OK with the outputs untouched (the caller runs brute).
 * Deterministic. max_share = 0: no probe, declined may be NULL. */
int rlcc__dbscan_tree(const float *x, int64_t n, int64_t d, int64_t ldx, double eps,
                      int64_t min_samples, int n_threads, double max_share,
                      rlcc__budget *budget, int32_t *labels, uint8_t *core, int64_t *n_clusters,
                      int64_t *n_neighbor_pairs, int *declined);
/* The feature checks of the brute path without its norms: NaN/Inf (naming
 * the first bad row and column) and rows above RLCC_MAX_SQUARED_NORM, with
 * the same messages (check.c). */
int rlcc__check_feature_values(const char *name, const float *x, int64_t n, int64_t d,
                               int64_t ldx, int n_threads, rlcc__budget *budget);

/* Builds the feature-space neighbour graph (features.c). */
#define RLCC_MAX_RADII 3
/* One graph per radius (eps ascending, n_eps <= RLCC_MAX_RADII) from a
 * single pass over the Gram matrix; each equals rlcc__feature_graph() at
 * that radius. On error nothing is left allocated. */
int rlcc__feature_graphs(const float *x, int64_t n, int64_t d, int64_t ldx, const double *eps,
                         int n_eps, int32_t metric, int n_threads, rlcc__budget *budget,
                         rlcc__graph *out, int64_t *n_redecided);
int rlcc__feature_graph(const float *x, int64_t n, int64_t d, int64_t ldx,
                        double eps, int32_t metric, int n_threads,
                        rlcc__budget *budget, rlcc__graph *out,
                        int64_t *n_redecided);

/* ---- k-means (kmeans.c), issue #15 item 3 ----------------------------------
 * Options read and checked (max_iter >= 1, tol finite >= 0, resources). */
int rlcc__check_kmeans_options(const rlcc_kmeans_options *options, rlcc_kmeans_options *out);
/* rlcc_kmeans() over validated inputs: xn2 the squared row norms in double
 * (rlcc__row_norms), init's values checked; n_decided (may be NULL) counts
 * the rows whose label the float32 screen left to the double decision,
 * summed over the steps. */
int rlcc__kmeans(const float *x, int64_t n, int64_t d, int64_t ldx, const double *xn2,
                 const float *init, int64_t k, int64_t ldi, int32_t max_iter, double tol,
                 int n_threads, rlcc__budget *budget, float *centroids, int64_t ldc,
                 int32_t *labels, int64_t *n_iter, int64_t *n_decided);
/* rlcc_kmeans_init_faiss() over validated inputs; train_rows (room for
 * min(n, max_points x k)) and n_train may be NULL. */
int rlcc__kmeans_init_faiss(int64_t n, int64_t k, uint64_t seed, int64_t max_points,
                            rlcc__budget *budget, int64_t *start_rows, int64_t *train_rows,
                            int64_t *n_train);
/* Every row to its nearest centroid (k x d, stride ldc), as rlcc__kmeans()'s
 * E step decides it (the float32 screen, ties and near-ties in double):
 * the labels of faiss's final assignment in OpenUnReID's generator. x's
 * values and the centroids' are checked. */
int rlcc__kmeans_assign(const float *x, int64_t n, int64_t d, int64_t ldx,
                        const float *centroids, int64_t k, int64_t ldc, int n_threads,
                        rlcc__budget *budget, int32_t *labels);
/* ---- InfoMap (flow.c, infomap.c; issue #15 item 2) ------------------------
 * Infomap's network of a link list: the nodes that end some link, ascending
 * by the caller's id; links sorted by (source, target), repeats merged; the
 * flow of Infomap 1.x --directed (teleportation to links, unrecorded). */
typedef struct rlcc__flow_net {
    int64_t n;          /* network nodes */
    int64_t n_links;    /* distinct links */
    int64_t cap_links;  /* allocated link entries (>= 1) */
    int64_t *id;        /* n: the caller's node id */
    int64_t *out_ptr;   /* n + 1 */
    int32_t *out_dst;   /* links: targets (network indices), row by row */
    double *weight;     /* links */
    double *link_flow;  /* links */
    double *flow;       /* n: node flow */
} rlcc__flow_net;
/* Links already checked (rlcc__check_links); nothing left allocated on
 * error. */
int rlcc__flow_net_build(int64_t n_nodes, const int64_t *src, const int64_t *dst,
                         const double *weight, int64_t n_links, rlcc__budget *budget,
                         rlcc__flow_net *net);
void rlcc__flow_net_free(rlcc__flow_net *net, rlcc__budget *budget);
/* Node ids in [0, n_nodes), no self-link, weights finite and > 0. */
int rlcc__check_links(int64_t n_nodes, const int64_t *src, const int64_t *dst,
                      const double *weight, int64_t n_links);
/* The two-level codelength of module[] (indexed by the caller's node id,
 * values >= 0). Optionally mod_of (net->n: the compact module of each
 * network node, modules numbered by smallest member), module_flow (room for
 * net->n) and *n_modules. */
int rlcc__map_codelength(const rlcc__flow_net *net, const int32_t *module, rlcc__budget *budget,
                         double *codelength, int32_t *mod_of, double *module_flow,
                         int64_t *n_modules);
/* rlcc_infomap_labels() after its checks (n >= 1; options read and
 * checked; caller lists and modules checked for shape, the lists' values
 * are checked here): the pseudo-labeler slot's entry. */
int rlcc__infomap_labels(const float *x, int64_t n, int64_t d, int64_t ldx, const int64_t *knn,
                         const float *knn_dist, const int32_t *modules,
                         const rlcc_infomap_options *options, rlcc__budget *budget,
                         int32_t *labels, int64_t *n_classes, double *codelength);
/* librlcc's two-level Infomap search: a module per network node (compact,
 * into module, net->n entries). */
int rlcc__infomap_search(const rlcc__flow_net *net, uint64_t seed, int32_t trials,
                         rlcc__budget *budget, int32_t *module);

#endif
