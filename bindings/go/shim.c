/* shim.c - see shim.h. Each wrapper makes one librlcc call and, when it
 * fails, copies rlcc_last_error() before returning to Go. Matrices coming
 * from Go are contiguous, so their row strides are their widths (at least
 * 1, as the library asks even of empty matrices). */
#include <stdio.h>

#include "shim.h"
#include "_cgo_export.h"

static int capture(int code, rlcc_go_error *err)
{
    if (code != RLCC_OK)
        snprintf(err->message, sizeof err->message, "%s", rlcc_last_error());
    return code;
}

static int64_t at_least_one(int64_t width)
{
    return width > 0 ? width : 1;
}

int rlcc_go_dbscan_features(const float *x, int64_t n, int64_t d, double eps, int64_t min_samples,
                            const rlcc_dbscan_options *options, int32_t *labels,
                            int64_t *n_clusters, uint8_t *core, rlcc_dbscan_stats *stats,
                            rlcc_go_error *err)
{
    return capture(rlcc_dbscan_features(x, n, d, d, eps, min_samples, options, labels,
                                        n_clusters, core, stats), err);
}

int rlcc_go_dbscan_dense(const float *dist, int64_t n, double eps, int64_t min_samples,
                         const rlcc_dbscan_options *options, int32_t *labels, int64_t *n_clusters,
                         uint8_t *core, rlcc_dbscan_stats *stats, rlcc_go_error *err)
{
    return capture(rlcc_dbscan_dense(dist, n, at_least_one(n), eps, min_samples, options, labels,
                                     n_clusters, core, stats), err);
}

int rlcc_go_dbscan_csr(int64_t n, const int64_t *indptr, const int32_t *indices, const float *data,
                       double eps, int64_t min_samples, const rlcc_dbscan_options *options,
                       int32_t *labels, int64_t *n_clusters, uint8_t *core,
                       rlcc_dbscan_stats *stats, rlcc_go_error *err)
{
    return capture(rlcc_dbscan_csr(n, indptr, indices, data, eps, min_samples, options, labels,
                                   n_clusters, core, stats), err);
}

int rlcc_go_knn(const float *x, int64_t n, int64_t d, int64_t k, const rlcc_knn_options *options,
                int64_t *indices, float *sqdist, rlcc_go_error *err)
{
    return capture(rlcc_knn(x, n, d, d, k, options, indices, sqdist), err);
}

int rlcc_go_knn_state_new(int64_t n_queries, int64_t query_offset, int64_t d, int64_t k,
                          const rlcc_knn_options *options, rlcc_knn_state **state,
                          rlcc_go_error *err)
{
    return capture(rlcc_knn_state_new(n_queries, query_offset, d, k, options, state), err);
}

/* One leading dimension for both: the same Go slice as queries and refs is
 * the same pointer and stride, so the library sees the triangle. */
int rlcc_go_knn_update(rlcc_knn_state *state, const float *queries, int64_t d, const float *refs,
                       int64_t n_refs, int64_t ref_offset, rlcc_go_error *err)
{
    const int64_t ld = at_least_one(d);
    return capture(rlcc_knn_update(state, queries, ld, refs, n_refs, ld, ref_offset), err);
}

int rlcc_go_knn_merge(rlcc_knn_state *into, const rlcc_knn_state *from, rlcc_go_error *err)
{
    return capture(rlcc_knn_merge(into, from), err);
}

int rlcc_go_knn_finish(rlcc_knn_state *state, int64_t *indices, float *sqdist,
                       rlcc_go_error *err)
{
    return capture(rlcc_knn_finish(state, indices, sqdist), err);
}

int rlcc_go_knn_state_stats(const rlcc_knn_state *state, rlcc_knn_stats *stats,
                            rlcc_go_error *err)
{
    return capture(rlcc_knn_state_stats(state, stats), err);
}

int rlcc_go_jaccard(const float *x, int64_t n, int64_t d, const int64_t *knn,
                    const rlcc_jaccard_options *options, rlcc_csr **out, rlcc_go_error *err)
{
    return capture(rlcc_jaccard(x, n, d, d, knn, options, out), err);
}

int rlcc_go_jaccard_dense(const float *x, int64_t n, int64_t d, const int64_t *knn,
                          const rlcc_jaccard_options *options, float *dist, rlcc_go_error *err)
{
    return capture(rlcc_jaccard_dense(x, n, d, d, knn, options, dist, at_least_one(n)), err);
}

int rlcc_go_pseudo_labels(const float *x, int64_t n, int64_t d, const rlcc_pseudo_options *options,
                          const int64_t *knn, const float *init, int32_t *labels,
                          int64_t *n_classes, double *threshold, rlcc_go_error *err)
{
    rlcc_pseudo_options with_knn = *options; /* Go always passes the whole struct */
    with_knn.knn = knn;
    with_knn.kmeans_init = init;
    return capture(rlcc_pseudo_labels(x, n, d, d, &with_knn, labels, n_classes, threshold), err);
}

int rlcc_go_centroids(const float *x, int64_t n, int64_t d, const int32_t *labels, int64_t k,
                      float *centroids, rlcc_go_error *err)
{
    return capture(rlcc_centroids(x, n, d, d, labels, k, centroids, d), err);
}

int rlcc_go_consensus_counts(const int32_t *prev, const int32_t *cur, int64_t n, int64_t k_prev,
                             int64_t k_cur, int64_t *counts, rlcc_go_error *err)
{
    return capture(rlcc_consensus_counts(prev, cur, n, k_prev, k_cur, counts,
                                         at_least_one(k_cur)), err);
}

int rlcc_go_consensus(const int32_t *prev, const int32_t *cur, int64_t n, int64_t k_prev,
                      int64_t k_cur, int32_t kind, int32_t normalize, float *out,
                      rlcc_go_error *err)
{
    return capture(rlcc_consensus(prev, cur, n, k_prev, k_cur, kind, normalize, out,
                                  at_least_one(k_cur)), err);
}

int rlcc_go_consensus_csr(const int32_t *prev, const int32_t *cur, int64_t n, int64_t k_prev,
                          int64_t k_cur, int32_t kind, int32_t normalize, rlcc_csr **out,
                          rlcc_go_error *err)
{
    return capture(rlcc_consensus_csr(prev, cur, n, k_prev, k_cur, kind, normalize, out), err);
}

int rlcc_go_class_probabilities(const float *x, int64_t n, int64_t d, const float *centroids,
                                int64_t k, float scale, const int64_t *rows, int64_t n_rows,
                                float *probs, int32_t n_threads, rlcc_go_error *err)
{
    return capture(rlcc_class_probabilities(x, n, d, d, centroids, k, d, scale, rows, n_rows,
                                            probs, at_least_one(k), n_threads), err);
}

int rlcc_go_propagate(const int32_t *prev, int64_t n, const int64_t *chat_indptr,
                      const int32_t *chat_indices, const float *chat_data, int64_t k_prev,
                      int64_t k_cur, const float *probs, float w, float beta, const int64_t *rows,
                      int64_t n_rows, float *out, rlcc_go_error *err)
{
    return capture(rlcc_propagate(prev, n, chat_indptr, chat_indices, chat_data, k_prev, k_cur,
                                  probs, at_least_one(k_prev), w, beta, rows, n_rows, out,
                                  at_least_one(k_cur)), err);
}

int rlcc_go_blend(const int32_t *cur, int64_t n, int64_t k_cur, const float *s, float alpha,
                  const int64_t *rows, int64_t n_rows, float *out, rlcc_go_error *err)
{
    return capture(rlcc_blend(cur, n, k_cur, s, at_least_one(k_cur), alpha, rows, n_rows, out,
                              at_least_one(k_cur)), err);
}

int rlcc_go_refiner_new(int64_t n, int64_t d, const rlcc_pseudo_options *pseudo,
                        const rlcc_refiner_options *options, rlcc_refiner **out,
                        rlcc_go_error *err)
{
    return capture(rlcc_refiner_new(n, d, pseudo, options, out), err);
}

/* The refiner's callbacks land here and go on to the Go functions exported
 * in refiner.go; user_data carries the cgo.Handle of the step's state, so C
 * never holds a Go pointer. */
static int64_t features_trampoline(int64_t start, int64_t count, float *rows, int64_t ld,
                                   void *user_data)
{
    return rlccGoFeatures(start, count, rows, ld, (uintptr_t)user_data);
}

static int64_t logits_trampoline(int64_t start, int64_t count, int64_t k_prev, float *logits,
                                 int64_t ld, void *user_data)
{
    return rlccGoLogits(start, count, k_prev, logits, ld, (uintptr_t)user_data);
}

static int progress_trampoline(int32_t stage, double fraction, void *user_data)
{
    return rlccGoProgress(stage, fraction, (uintptr_t)user_data);
}

int rlcc_go_refiner_step(rlcc_refiner *refiner, uintptr_t handle, int64_t batch, int with_logits,
                         int with_progress, rlcc_go_error *err)
{
    void *state = (void *)handle;
    return capture(rlcc_refiner_step(refiner, features_trampoline, state, batch,
                                     with_logits ? logits_trampoline : NULL, state,
                                     with_progress ? progress_trampoline : NULL, state), err);
}

int rlcc_go_refiner_set_knn(rlcc_refiner *refiner, const int64_t *knn, rlcc_go_error *err)
{
    return capture(rlcc_refiner_set_knn(refiner, knn), err);
}

int rlcc_go_refiner_labels(const rlcc_refiner *refiner, int32_t *labels, rlcc_go_error *err)
{
    return capture(rlcc_refiner_labels(refiner, labels), err);
}

int rlcc_go_refiner_centroids(const rlcc_refiner *refiner, float *centroids, int64_t ld,
                              rlcc_go_error *err)
{
    return capture(rlcc_refiner_centroids(refiner, centroids, ld), err);
}

int rlcc_go_refiner_targets(const rlcc_refiner *refiner, const int64_t *rows, int64_t n_rows,
                            float *out, int64_t k, rlcc_go_error *err)
{
    return capture(rlcc_refiner_targets(refiner, rows, n_rows, out, at_least_one(k)), err);
}

int rlcc_go_centroids_opts(const float *x, int64_t n, int64_t d, const int32_t *labels, int64_t k,
                           const rlcc_centroid_options *options, float *centroids,
                           rlcc_go_error *err)
{
    return capture(rlcc_centroids_opts(x, n, d, at_least_one(d), labels, k, options, centroids,
                                       at_least_one(d)), err);
}

int rlcc_go_consensus_counts_opts(const int32_t *prev, const int32_t *cur, int64_t n,
                                  int64_t k_prev, int64_t k_cur,
                                  const rlcc_consensus_options *options, int64_t *counts,
                                  rlcc_go_error *err)
{
    return capture(rlcc_consensus_counts_opts(prev, cur, n, k_prev, k_cur, options, counts,
                                              at_least_one(k_cur)), err);
}

int rlcc_go_consensus_opts(const int32_t *prev, const int32_t *cur, int64_t n, int64_t k_prev,
                           int64_t k_cur, const rlcc_consensus_options *options, float *out,
                           rlcc_go_error *err)
{
    return capture(rlcc_consensus_opts(prev, cur, n, k_prev, k_cur, options, out,
                                       at_least_one(k_cur)), err);
}

int rlcc_go_consensus_csr_opts(const int32_t *prev, const int32_t *cur, int64_t n, int64_t k_prev,
                               int64_t k_cur, const rlcc_consensus_options *options,
                               rlcc_csr **out, rlcc_go_error *err)
{
    return capture(rlcc_consensus_csr_opts(prev, cur, n, k_prev, k_cur, options, out), err);
}

int rlcc_go_class_probabilities_opts(const float *x, int64_t n, int64_t d, const float *centroids,
                                     int64_t k, const int64_t *rows, int64_t n_rows,
                                     const rlcc_probability_options *options, float *probs,
                                     rlcc_go_error *err)
{
    return capture(rlcc_class_probabilities_opts(x, n, d, at_least_one(d), centroids, k,
                                                 at_least_one(d), rows, n_rows, options, probs,
                                                 at_least_one(k)), err);
}

int rlcc_go_propagate_opts(const int32_t *prev, int64_t n, const int64_t *chat_indptr,
                           const int32_t *chat_indices, const float *chat_data, int64_t k_prev,
                           int64_t k_cur, const float *probs, const int64_t *rows, int64_t n_rows,
                           const rlcc_propagate_options *options, float *out, rlcc_go_error *err)
{
    return capture(rlcc_propagate_opts(prev, n, chat_indptr, chat_indices, chat_data, k_prev,
                                       k_cur, probs, at_least_one(k_prev), rows, n_rows, options,
                                       out, at_least_one(k_cur)), err);
}

int rlcc_go_blend_opts(const int32_t *cur, int64_t n, int64_t k_cur, const float *s,
                       const int64_t *rows, int64_t n_rows, const rlcc_blend_options *options,
                       float *out, rlcc_go_error *err)
{
    return capture(rlcc_blend_opts(cur, n, k_cur, s, at_least_one(k_cur), rows, n_rows, options,
                                   out, at_least_one(k_cur)), err);
}

/* The options of a step from Go's scalars. */
static void step_options(rlcc_step_options *o, uintptr_t handle, int64_t batch, int with_logits,
                         int with_progress, int32_t n_threads, int64_t max_bytes)
{
    void *state = (void *)handle;
    rlcc_step_options_init(o, sizeof *o);
    o->batch = batch;
    o->logits = with_logits ? logits_trampoline : NULL;
    o->logits_data = state;
    o->progress = with_progress ? progress_trampoline : NULL;
    o->progress_data = state;
    o->n_threads = n_threads;
    o->max_bytes = max_bytes;
}

int rlcc_go_refiner_step_opts(rlcc_refiner *refiner, uintptr_t handle, int64_t batch,
                              int with_logits, int with_progress, int32_t n_threads,
                              int64_t max_bytes, rlcc_go_error *err)
{
    rlcc_step_options o;
    step_options(&o, handle, batch, with_logits, with_progress, n_threads, max_bytes);
    return capture(rlcc_refiner_step_opts(refiner, features_trampoline, (void *)handle, &o), err);
}

int rlcc_go_refiner_step_matrix(rlcc_refiner *refiner, const float *x, int64_t ldx,
                                uintptr_t handle, int64_t batch, int with_logits,
                                int with_progress, int32_t borrow, int32_t n_threads,
                                int64_t max_bytes, rlcc_go_error *err)
{
    rlcc_step_options o;
    step_options(&o, handle, batch, with_logits, with_progress, n_threads, max_bytes);
    o.borrow = borrow;
    return capture(rlcc_refiner_step_matrix(refiner, x, ldx, &o), err);
}

int rlcc_go_refiner_step_labels(rlcc_refiner *refiner, const int32_t *labels, int64_t n_classes,
                                const float *centroids, int64_t ldc, double threshold,
                                uintptr_t handle, int64_t batch, int with_logits,
                                int32_t n_threads, int64_t max_bytes, rlcc_go_error *err)
{
    rlcc_step_options o;
    step_options(&o, handle, batch, with_logits, 1, n_threads, max_bytes);
    return capture(rlcc_refiner_step_labels(refiner, labels, n_classes, centroids, ldc, threshold,
                                            &o),
                   err);
}

int rlcc_go_refiner_targets_rows(const rlcc_refiner *refiner, const int64_t *rows, int64_t n_rows,
                                 const float *x, int64_t ldx, const rlcc_targets_options *options,
                                 float *out, int64_t k, rlcc_go_error *err)
{
    return capture(rlcc_refiner_targets_rows(refiner, rows, n_rows, x, ldx, options, out,
                                             at_least_one(k)), err);
}

int rlcc_go_refiner_targets_opts(const rlcc_refiner *refiner, const int64_t *rows, int64_t n_rows,
                                 const rlcc_targets_options *options, float *out, int64_t k,
                                 rlcc_go_error *err)
{
    return capture(rlcc_refiner_targets_opts(refiner, rows, n_rows, options, out,
                                             at_least_one(k)), err);
}

int rlcc_go_refiner_save(const rlcc_refiner *refiner, void *buffer, size_t capacity,
                         size_t *size, rlcc_go_error *err)
{
    return capture(rlcc_refiner_save(refiner, buffer, capacity, size), err);
}

int rlcc_go_refiner_load(const void *state, size_t size, const rlcc_load_options *options,
                         rlcc_refiner **out, rlcc_go_error *err)
{
    return capture(rlcc_refiner_load(state, size, options, out), err);
}

/* InfoMap pseudo labels (issue #15 item 2) */
int rlcc_go_infomap_labels(const float *x, int64_t n, int64_t d, const int64_t *knn,
                           const float *knn_dist, const int32_t *modules,
                           const rlcc_infomap_options *options, int32_t *labels,
                           int64_t *n_classes, double *codelength, rlcc_go_error *err)
{
    return capture(rlcc_infomap_labels(x, n, d, d, knn, knn_dist, modules, options, labels,
                                       n_classes, codelength),
                   err);
}

int rlcc_go_infomap_links(const float *x, int64_t n, int64_t d, const int64_t *knn,
                          const float *knn_dist, const rlcc_infomap_options *options,
                          int64_t *src, int64_t *dst, double *weight, int64_t *n_links,
                          rlcc_go_error *err)
{
    return capture(rlcc_infomap_links(x, n, d, d, knn, knn_dist, options, src, dst, weight,
                                      n_links),
                   err);
}

int rlcc_go_map_codelength(int64_t n_nodes, const int64_t *src, const int64_t *dst,
                           const double *weight, int64_t n_links, const int32_t *modules,
                           double *codelength, rlcc_go_error *err)
{
    return capture(rlcc_map_codelength(n_nodes, src, dst, weight, n_links, modules, codelength),
                   err);
}

/* librlcc 1.7, k-means (issue #15 item 3) */
int rlcc_go_kmeans(const float *x, int64_t n, int64_t d, const float *init, int64_t k,
                   const rlcc_kmeans_options *options, float *centroids, int32_t *labels,
                   int64_t *n_iter, rlcc_go_error *err)
{
    return capture(rlcc_kmeans(x, n, d, at_least_one(d), init, k, at_least_one(d), options,
                               centroids, at_least_one(d), labels, n_iter), err);
}

int rlcc_go_kmeans_init_faiss(int64_t n, int64_t k, uint64_t seed, int64_t max_points_per_centroid,
                              int64_t *start, int64_t *train, int64_t *n_train,
                              rlcc_go_error *err)
{
    return capture(rlcc_kmeans_init_faiss(n, k, seed, max_points_per_centroid, start, train,
                                          n_train), err);
}

/* ---- 1.7 (#15 items 1, 4, 5): camera proxies, cross-agreement, eps from a quantile ---- */
#include <stdlib.h>

int rlcc_go_camera_proxies(const int32_t *labels, const int32_t *cameras, int64_t n,
                           const rlcc_proxy_options *options, int32_t *proxy, int64_t *n_proxies,
                           int32_t *proxy_cluster, int32_t *proxy_camera, rlcc_go_error *err)
{
    return capture(rlcc_camera_proxies(labels, cameras, n, options, proxy, n_proxies,
                                       proxy_cluster, proxy_camera), err);
}

int rlcc_go_cross_agreement(const float *global, int64_t n, int64_t d_global, const float *parts,
                            int64_t n_parts, int64_t d_part,
                            const rlcc_agreement_options *options, float *scores,
                            rlcc_go_error *err)
{
    /* the Go side checked n_parts x n x d_part against its slice */
    const float *few[8];
    const float **pointers = n_parts <= 8 ? few : malloc(sizeof *pointers * (size_t)n_parts);
    if (pointers == NULL) {
        snprintf(err->message, sizeof err->message, "parts: out of memory");
        return RLCC_E_OUT_OF_MEMORY;
    }
    for (int64_t p = 0; p < n_parts; p++)
        pointers[p] = parts != NULL ? parts + p * n * d_part : NULL;
    int code = capture(rlcc_cross_agreement(global, n, d_global, at_least_one(d_global),
                                            n_parts > 0 ? pointers : NULL, n_parts, d_part,
                                            at_least_one(d_part), options, scores), err);
    if (pointers != few)
        free(pointers);
    return code;
}

int rlcc_go_part_weights(const float *scores, int64_t n, int64_t n_parts, float *weights,
                         rlcc_go_error *err)
{
    return capture(rlcc_part_weights(scores, n, n_parts, weights), err);
}

int rlcc_go_eps_from_quantile(const float *dist, int64_t n, double rho,
                              const rlcc_quantile_options *options, double *eps,
                              rlcc_go_error *err)
{
    return capture(rlcc_eps_from_quantile(dist, n, at_least_one(n), rho, options, eps), err);
}

int rlcc_go_eps_from_quantile_csr(int64_t n, const int64_t *indptr, const int32_t *indices,
                                  const float *data, double rho,
                                  const rlcc_quantile_options *options, double *eps,
                                  rlcc_go_error *err)
{
    return capture(rlcc_eps_from_quantile_csr(n, indptr, indices, data, rho, options, eps), err);
}
/* ---- end of 1.7 items 1, 4, 5 ---- */

/* librlcc 1.8 */
int rlcc_go_knn_update_pair(rlcc_knn_state *a, const float *rows_a, int64_t d_a, rlcc_knn_state *b,
                            const float *rows_b, int64_t d_b, rlcc_go_error *err)
{
    return capture(rlcc_knn_update_pair(a, rows_a, at_least_one(d_a), b, rows_b, at_least_one(d_b)),
                   err);
}

int rlcc_go_knn_state_save(const rlcc_knn_state *state, void *buffer, size_t capacity,
                           size_t *size, rlcc_go_error *err)
{
    return capture(rlcc_knn_state_save(state, buffer, capacity, size), err);
}

int rlcc_go_knn_state_load(const void *buffer, size_t size, const rlcc_knn_options *options,
                           rlcc_knn_state **state, rlcc_go_error *err)
{
    static const unsigned char none[1] = {0}; /* no bytes: the size is refused, not a NULL buffer */
    return capture(rlcc_knn_state_load(buffer != NULL ? buffer : none, size, options, state), err);
}

int rlcc_go_jaccard_plan_new(const int64_t *knn, int64_t n, int64_t row0, int64_t row1, int64_t d,
                             const rlcc_jaccard_options *options, rlcc_jaccard_plan **plan,
                             rlcc_go_error *err)
{
    return capture(rlcc_jaccard_plan_new(knn, n, row0, row1, d, options, plan), err);
}

int rlcc_go_jaccard_plan_offer(rlcc_jaccard_plan *plan, const float *rows, const float *refs,
                               int64_t n_refs, int64_t d, int64_t ref_offset, rlcc_go_error *err)
{
    const int64_t ld = at_least_one(d);
    return capture(rlcc_jaccard_plan_offer(plan, rows, ld, refs, n_refs, ld, ref_offset), err);
}

int rlcc_go_jaccard_plan_weights(const rlcc_jaccard_plan *plan, rlcc_csr **weights,
                                 rlcc_go_error *err)
{
    return capture(rlcc_jaccard_plan_weights(plan, weights), err);
}

int rlcc_go_jaccard_rows(int64_t n, const int64_t *indptr, const int32_t *indices,
                         const float *data, const int64_t *knn, int64_t row0, int64_t row1,
                         const rlcc_jaccard_options *options, rlcc_csr **out, rlcc_go_error *err)
{
    return capture(rlcc_jaccard_rows(n, indptr, indices, data, knn, row0, row1, options, out), err);
}

int rlcc_go_pseudo_labels_graph(int64_t n, const int64_t *indptr, const int32_t *indices,
                                const float *data, const rlcc_pseudo_options *options,
                                int32_t *labels, int64_t *n_classes, double *threshold,
                                rlcc_go_error *err)
{
    rlcc_pseudo_options plain = *options; /* no caller lists or start rows: not read here */
    plain.knn = NULL;
    plain.kmeans_init = NULL;
    return capture(rlcc_pseudo_labels_graph(n, indptr, indices, data, &plain, labels, n_classes,
                                            threshold), err);
}
