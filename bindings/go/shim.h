/* shim.h - C side of the Go binding.
 *
 * rlcc_last_error() is thread-local, and a goroutine may move to another OS
 * thread between two cgo calls. So every fallible function is called through
 * a wrapper that copies the message into the caller's rlcc_go_error inside
 * the same cgo call, on the thread that produced it. */
#ifndef RLCC_GO_SHIM_H
#define RLCC_GO_SHIM_H

#include <stdint.h>
#include <rlcc.h>

typedef struct rlcc_go_error {
    char message[1024];
} rlcc_go_error;

int rlcc_go_dbscan_features(const float *x, int64_t n, int64_t d, double eps, int64_t min_samples,
                            const rlcc_dbscan_options *options, int32_t *labels,
                            int64_t *n_clusters, uint8_t *core, rlcc_dbscan_stats *stats,
                            rlcc_go_error *err);
int rlcc_go_dbscan_dense(const float *dist, int64_t n, double eps, int64_t min_samples,
                         const rlcc_dbscan_options *options, int32_t *labels, int64_t *n_clusters,
                         uint8_t *core, rlcc_dbscan_stats *stats, rlcc_go_error *err);
int rlcc_go_dbscan_csr(int64_t n, const int64_t *indptr, const int32_t *indices, const float *data,
                       double eps, int64_t min_samples, const rlcc_dbscan_options *options,
                       int32_t *labels, int64_t *n_clusters, uint8_t *core,
                       rlcc_dbscan_stats *stats, rlcc_go_error *err);
int rlcc_go_knn(const float *x, int64_t n, int64_t d, int64_t k, const rlcc_knn_options *options,
                int64_t *indices, float *sqdist, rlcc_go_error *err);
/* the block kNN: queries and refs are contiguous, n_queries x d and n_refs x d */
int rlcc_go_knn_state_new(int64_t n_queries, int64_t query_offset, int64_t d, int64_t k,
                          const rlcc_knn_options *options, rlcc_knn_state **state,
                          rlcc_go_error *err);
int rlcc_go_knn_update(rlcc_knn_state *state, const float *queries, int64_t d, const float *refs,
                       int64_t n_refs, int64_t ref_offset, rlcc_go_error *err);
int rlcc_go_knn_merge(rlcc_knn_state *into, const rlcc_knn_state *from, rlcc_go_error *err);
int rlcc_go_knn_finish(rlcc_knn_state *state, int64_t *indices, float *sqdist,
                       rlcc_go_error *err);
int rlcc_go_knn_state_stats(const rlcc_knn_state *state, rlcc_knn_stats *stats,
                            rlcc_go_error *err);
int rlcc_go_jaccard(const float *x, int64_t n, int64_t d, const int64_t *knn,
                    const rlcc_jaccard_options *options, rlcc_csr **out, rlcc_go_error *err);
int rlcc_go_jaccard_dense(const float *x, int64_t n, int64_t d, const int64_t *knn,
                          const rlcc_jaccard_options *options, float *dist, rlcc_go_error *err);
/* knn (n x k1, or NULL) is set in a copy of *options here, on the C side:
 * the struct Go passes never holds a Go pointer (cgo forbids passing Go
 * memory that contains one) */
int rlcc_go_pseudo_labels(const float *x, int64_t n, int64_t d, const rlcc_pseudo_options *options,
                          const int64_t *knn, const float *init, int32_t *labels,
                          int64_t *n_classes, double *threshold, rlcc_go_error *err);
int rlcc_go_centroids(const float *x, int64_t n, int64_t d, const int32_t *labels, int64_t k,
                      float *centroids, rlcc_go_error *err);
int rlcc_go_consensus_counts(const int32_t *prev, const int32_t *cur, int64_t n, int64_t k_prev,
                             int64_t k_cur, int64_t *counts, rlcc_go_error *err);
int rlcc_go_consensus(const int32_t *prev, const int32_t *cur, int64_t n, int64_t k_prev,
                      int64_t k_cur, int32_t kind, int32_t normalize, float *out,
                      rlcc_go_error *err);
int rlcc_go_consensus_csr(const int32_t *prev, const int32_t *cur, int64_t n, int64_t k_prev,
                          int64_t k_cur, int32_t kind, int32_t normalize, rlcc_csr **out,
                          rlcc_go_error *err);
int rlcc_go_class_probabilities(const float *x, int64_t n, int64_t d, const float *centroids,
                                int64_t k, float scale, const int64_t *rows, int64_t n_rows,
                                float *probs, int32_t n_threads, rlcc_go_error *err);
int rlcc_go_propagate(const int32_t *prev, int64_t n, const int64_t *chat_indptr,
                      const int32_t *chat_indices, const float *chat_data, int64_t k_prev,
                      int64_t k_cur, const float *probs, float w, float beta, const int64_t *rows,
                      int64_t n_rows, float *out, rlcc_go_error *err);
int rlcc_go_blend(const int32_t *cur, int64_t n, int64_t k_cur, const float *s, float alpha,
                  const int64_t *rows, int64_t n_rows, float *out, rlcc_go_error *err);
int rlcc_go_refiner_new(int64_t n, int64_t d, const rlcc_pseudo_options *pseudo,
                        const rlcc_refiner_options *options, rlcc_refiner **out,
                        rlcc_go_error *err);
/* callbacks: the handle of the Go-side step state (a runtime/cgo.Handle),
 * and which optional callbacks to install */
int rlcc_go_refiner_step(rlcc_refiner *refiner, uintptr_t handle, int64_t batch, int with_logits,
                         int with_progress, rlcc_go_error *err);
int rlcc_go_refiner_set_knn(rlcc_refiner *refiner, const int64_t *knn, rlcc_go_error *err);
int rlcc_go_refiner_labels(const rlcc_refiner *refiner, int32_t *labels, rlcc_go_error *err);
int rlcc_go_refiner_centroids(const rlcc_refiner *refiner, float *centroids, int64_t ld,
                              rlcc_go_error *err);
/* out is n_rows x k, contiguous */
int rlcc_go_refiner_targets(const rlcc_refiner *refiner, const int64_t *rows, int64_t n_rows,
                            float *out, int64_t k, rlcc_go_error *err);

/* librlcc 1.4: the _opts twins; options are Go-allocated C structs that hold
 * no pointer. Matrices are contiguous, as above. */
int rlcc_go_centroids_opts(const float *x, int64_t n, int64_t d, const int32_t *labels, int64_t k,
                           const rlcc_centroid_options *options, float *centroids,
                           rlcc_go_error *err);
int rlcc_go_consensus_counts_opts(const int32_t *prev, const int32_t *cur, int64_t n,
                                  int64_t k_prev, int64_t k_cur,
                                  const rlcc_consensus_options *options, int64_t *counts,
                                  rlcc_go_error *err);
int rlcc_go_consensus_opts(const int32_t *prev, const int32_t *cur, int64_t n, int64_t k_prev,
                           int64_t k_cur, const rlcc_consensus_options *options, float *out,
                           rlcc_go_error *err);
int rlcc_go_consensus_csr_opts(const int32_t *prev, const int32_t *cur, int64_t n, int64_t k_prev,
                               int64_t k_cur, const rlcc_consensus_options *options,
                               rlcc_csr **out, rlcc_go_error *err);
int rlcc_go_class_probabilities_opts(const float *x, int64_t n, int64_t d, const float *centroids,
                                     int64_t k, const int64_t *rows, int64_t n_rows,
                                     const rlcc_probability_options *options, float *probs,
                                     rlcc_go_error *err);
int rlcc_go_propagate_opts(const int32_t *prev, int64_t n, const int64_t *chat_indptr,
                           const int32_t *chat_indices, const float *chat_data, int64_t k_prev,
                           int64_t k_cur, const float *probs, const int64_t *rows, int64_t n_rows,
                           const rlcc_propagate_options *options, float *out, rlcc_go_error *err);
int rlcc_go_blend_opts(const int32_t *cur, int64_t n, int64_t k_cur, const float *s,
                       const int64_t *rows, int64_t n_rows, const rlcc_blend_options *options,
                       float *out, rlcc_go_error *err);
/* The step's options are built here, on the C side, from scalars: the
 * struct holds the trampolines and the cgo.Handle as user data. x is a Go
 * slice (borrow 0: read during the call only) or C memory (borrow 1: a
 * FeatureMatrix, which the library may read after the call). */
int rlcc_go_refiner_step_opts(rlcc_refiner *refiner, uintptr_t handle, int64_t batch,
                              int with_logits, int with_progress, int32_t n_threads,
                              int64_t max_bytes, rlcc_go_error *err);
int rlcc_go_refiner_step_matrix(rlcc_refiner *refiner, const float *x, int64_t ldx,
                                uintptr_t handle, int64_t batch, int with_logits,
                                int with_progress, int32_t borrow, int32_t n_threads,
                                int64_t max_bytes, rlcc_go_error *err);
/* 1.8: a generation from the caller's labels; targets from the caller's rows */
int rlcc_go_refiner_step_labels(rlcc_refiner *refiner, const int32_t *labels, int64_t n_classes,
                                const float *centroids, int64_t ldc, double threshold,
                                uintptr_t handle, int64_t batch, int with_logits,
                                int32_t n_threads, int64_t max_bytes, rlcc_go_error *err);
int rlcc_go_refiner_targets_rows(const rlcc_refiner *refiner, const int64_t *rows, int64_t n_rows,
                                 const float *x, int64_t ldx, const rlcc_targets_options *options,
                                 float *out, int64_t k, rlcc_go_error *err);
int rlcc_go_refiner_targets_opts(const rlcc_refiner *refiner, const int64_t *rows, int64_t n_rows,
                                 const rlcc_targets_options *options, float *out, int64_t k,
                                 rlcc_go_error *err);


/* librlcc 1.6: refiner checkpoints. buffer and state are Go byte slices (or
 * NULL), read or written during the call only; options holds no pointer.
 * A loaded refiner takes its callbacks at each step, as any other: nothing
 * to install here. */
int rlcc_go_refiner_save(const rlcc_refiner *refiner, void *buffer, size_t capacity,
                         size_t *size, rlcc_go_error *err);
int rlcc_go_refiner_load(const void *state, size_t size, const rlcc_load_options *options,
                         rlcc_refiner **out, rlcc_go_error *err);


/* ---- 1.7 (#15 items 1, 4, 5): camera proxies, cross-agreement, eps from a quantile ----
 * parts: n_parts contiguous n x d_part matrices one after the other (Go
 * cannot hand C an array of pointers into Go memory); the shim builds the
 * pointer array. dist: n x n contiguous. */
int rlcc_go_camera_proxies(const int32_t *labels, const int32_t *cameras, int64_t n,
                           const rlcc_proxy_options *options, int32_t *proxy, int64_t *n_proxies,
                           int32_t *proxy_cluster, int32_t *proxy_camera, rlcc_go_error *err);
int rlcc_go_cross_agreement(const float *global, int64_t n, int64_t d_global, const float *parts,
                            int64_t n_parts, int64_t d_part,
                            const rlcc_agreement_options *options, float *scores,
                            rlcc_go_error *err);
int rlcc_go_part_weights(const float *scores, int64_t n, int64_t n_parts, float *weights,
                         rlcc_go_error *err);
int rlcc_go_eps_from_quantile(const float *dist, int64_t n, double rho,
                              const rlcc_quantile_options *options, double *eps,
                              rlcc_go_error *err);
int rlcc_go_eps_from_quantile_csr(int64_t n, const int64_t *indptr, const int32_t *indices,
                                  const float *data, double rho,
                                  const rlcc_quantile_options *options, double *eps,
                                  rlcc_go_error *err);
/* ---- end of 1.7 items 1, 4, 5 ---- */

/* librlcc 1.7, k-means (issue #15 item 3): x n x d and init k x d
 * contiguous; centroids k x d out; train may be NULL. */
int rlcc_go_kmeans(const float *x, int64_t n, int64_t d, const float *init, int64_t k,
                   const rlcc_kmeans_options *options, float *centroids, int32_t *labels,
                   int64_t *n_iter, rlcc_go_error *err);
int rlcc_go_kmeans_init_faiss(int64_t n, int64_t k, uint64_t seed, int64_t max_points_per_centroid,
                              int64_t *start, int64_t *train, int64_t *n_train,
                              rlcc_go_error *err);

/* InfoMap pseudo labels (issue #15 item 2): ldx = d */
int rlcc_go_infomap_labels(const float *x, int64_t n, int64_t d, const int64_t *knn,
                           const float *knn_dist, const int32_t *modules,
                           const rlcc_infomap_options *options, int32_t *labels,
                           int64_t *n_classes, double *codelength, rlcc_go_error *err);
int rlcc_go_infomap_links(const float *x, int64_t n, int64_t d, const int64_t *knn,
                          const float *knn_dist, const rlcc_infomap_options *options,
                          int64_t *src, int64_t *dst, double *weight, int64_t *n_links,
                          rlcc_go_error *err);
int rlcc_go_map_codelength(int64_t n_nodes, const int64_t *src, const int64_t *dst,
                           const double *weight, int64_t n_links, const int32_t *modules,
                           double *codelength, rlcc_go_error *err);

/* librlcc 1.8: the block kNN's pairs and bytes, the block Jaccard and the
 * labels of a gathered graph. Rows are contiguous (strides their widths);
 * buffers are Go byte slices read or written during the call only; options
 * hold no pointer (the shim gives the pseudo options a NULL knn and init). */
int rlcc_go_knn_update_pair(rlcc_knn_state *a, const float *rows_a, int64_t d_a, rlcc_knn_state *b,
                            const float *rows_b, int64_t d_b, rlcc_go_error *err);
int rlcc_go_knn_state_save(const rlcc_knn_state *state, void *buffer, size_t capacity,
                           size_t *size, rlcc_go_error *err);
int rlcc_go_knn_state_load(const void *buffer, size_t size, const rlcc_knn_options *options,
                           rlcc_knn_state **state, rlcc_go_error *err);
int rlcc_go_jaccard_plan_new(const int64_t *knn, int64_t n, int64_t row0, int64_t row1, int64_t d,
                             const rlcc_jaccard_options *options, rlcc_jaccard_plan **plan,
                             rlcc_go_error *err);
int rlcc_go_jaccard_plan_offer(rlcc_jaccard_plan *plan, const float *rows, const float *refs,
                               int64_t n_refs, int64_t d, int64_t ref_offset, rlcc_go_error *err);
int rlcc_go_jaccard_plan_weights(const rlcc_jaccard_plan *plan, rlcc_csr **weights,
                                 rlcc_go_error *err);
int rlcc_go_jaccard_rows(int64_t n, const int64_t *indptr, const int32_t *indices,
                         const float *data, const int64_t *knn, int64_t row0, int64_t row1,
                         const rlcc_jaccard_options *options, rlcc_csr **out, rlcc_go_error *err);
int rlcc_go_pseudo_labels_graph(int64_t n, const int64_t *indptr, const int32_t *indices,
                                const float *data, const rlcc_pseudo_options *options,
                                int32_t *labels, int64_t *n_classes, double *threshold,
                                rlcc_go_error *err);

#endif
