//! Raw declarations of librlcc's functions and structs (`rlcc.h`: 1.2,
//! 1.3's block kNN and the caller's kNN lists, 1.4's options twins, matrix
//! step and refiner memory, 1.5's `rlcc_dbscan_options.algorithm`, and 1.6's
//! refiner checkpoints). Each struct is `#[repr(C)]` with the header's fields
//! in the header's order; `tests/vs_c.rs` holds every size and offset to what
//! the C compiler gives (tests/bindings/reference.c).
#![allow(non_camel_case_types)]
use std::os::raw::{c_char, c_int, c_uint, c_void};

#[repr(C)]
#[derive(Clone, Copy, Default)]
/// `algorithm` and `reserved` (1.5) end the struct (32 bytes on LP64; 24 in
/// 1.0-1.4): `struct_size` (the size of this struct, as the crate passes it
/// to `rlcc_dbscan_options_init`) covers them, so the library reads them.
pub struct rlcc_dbscan_options {
    pub struct_size: usize, pub metric: i32, pub n_threads: i32, pub max_bytes: i64,
    /// Since 1.5: [`RLCC_DBSCAN_AUTO`] (default), `_BRUTE`, `_GRID` or `_TREE`.
    pub algorithm: i32,
    /// Since 1.5: reserved, must be 0.
    pub reserved: i32,
}

/// `rlcc_dbscan_options.algorithm` (1.5): how `rlcc_dbscan_features` finds
/// neighbours. Every choice gives the same labels.
pub const RLCC_DBSCAN_AUTO: i32 = 0;
/// Every pair, from the float32 Gram matrix (the 1.0-1.4 path).
pub const RLCC_DBSCAN_BRUTE: i32 = 1;
/// Cells of side about eps / sqrt(d); euclidean, d <= [`RLCC_DBSCAN_GRID_MAX_DIM`].
pub const RLCC_DBSCAN_GRID: i32 = 2;
/// A kd-tree; euclidean, any d.
pub const RLCC_DBSCAN_TREE: i32 = 3;
/// The largest d `RLCC_DBSCAN_GRID` accepts (1.5).
pub const RLCC_DBSCAN_GRID_MAX_DIM: i64 = 5;
#[repr(C)]
#[derive(Clone, Copy, Default)]
pub struct rlcc_dbscan_stats {
    pub struct_size: usize, pub n_neighbor_pairs: i64, pub n_core: i64, pub n_noise: i64,
    pub n_redecided: i64, pub peak_bytes: i64,
}
#[repr(C)]
#[derive(Clone, Copy, Default)]
pub struct rlcc_knn_options { pub struct_size: usize, pub n_threads: i32, pub reserved: i32, pub max_bytes: i64 }
#[repr(C)]
#[derive(Clone, Copy, Default)]
pub struct rlcc_knn_stats {
    pub struct_size: usize, pub n_updates: i64, pub n_redecided: i64, pub n_fallback_rows: i64,
    pub peak_bytes: i64,
}
#[repr(C)]
#[derive(Clone, Copy, Default)]
pub struct rlcc_jaccard_options {
    pub struct_size: usize, pub k1: i32, pub k2: i32, pub variant: i32, pub normalize: i32,
    pub n_threads: i32, pub cutoff: f32, pub max_bytes: i64,
}
/// `knn` (1.3), then `method` and `reserved2` (1.4), then the InfoMap and
/// k-means fields (1.7) end the struct (192 bytes on LP64): `struct_size`
/// (the size of this struct, as the crate passes it to
/// `rlcc_pseudo_options_init`) covers them, so the library reads them.
#[repr(C)]
#[derive(Clone, Copy)]
pub struct rlcc_pseudo_options {
    pub struct_size: usize, pub metric: i32, pub k1: i32, pub k2: i32, pub variant: i32,
    pub normalize: i32, pub outliers: i32, pub reliability: i32, pub guard: i32,
    pub n_threads: i32, pub n_eps: i32, pub cutoff: f32, pub reserved: i32, pub eps: [f64; 3],
    pub threshold: f64, pub min_samples: i64, pub max_bytes: i64,
    /// Since 1.3: the caller's `n x k1` kNN lists, or null (librlcc's own).
    pub knn: *const i64,
    /// Since 1.4: the pseudo-labeler, [`RLCC_PSEUDO_DBSCAN`] (0), [`RLCC_PSEUDO_INFOMAP`] or
    /// [`RLCC_PSEUDO_KMEANS`] (1.7).
    pub method: i32,
    /// Since 1.4: reserved, must be 0.
    pub reserved2: i32,
    /// Since 1.7: the options of [`RLCC_PSEUDO_INFOMAP`] and [`RLCC_PSEUDO_KMEANS`].
    pub infomap_k: i32, pub infomap_cluster_num: i32, pub infomap_min_sim: f64,
    pub infomap_seed: u64, pub infomap_trials: i32, pub kmeans_max_iter: i32,
    pub kmeans_k: i64, pub kmeans_tol: f64, pub kmeans_seed: u64, pub kmeans_max_points: i64,
    /// Since 1.7: the caller's `K x d` start centroids, or null (faiss's start rows).
    pub kmeans_init: *const f32,
}

/// `rlcc_pseudo_options.method`: DBSCAN at one or three eps (1.4).
pub const RLCC_PSEUDO_DBSCAN: i32 = 0;
/// `rlcc_pseudo_options.method`: InfoMap on the kNN links (1.7).
pub const RLCC_PSEUDO_INFOMAP: i32 = 1;
/// `rlcc_pseudo_options.method`: k-means from faiss's start rows (1.7).
pub const RLCC_PSEUDO_KMEANS: i32 = 2;
/// All zeros and a null `knn`, as `derive(Default)` gave before 1.3 (a
/// raw pointer has no `Default`); fill it with `rlcc_pseudo_options_init`.
impl Default for rlcc_pseudo_options {
    fn default() -> Self {
        rlcc_pseudo_options {
            struct_size: 0, metric: 0, k1: 0, k2: 0, variant: 0, normalize: 0, outliers: 0,
            reliability: 0, guard: 0, n_threads: 0, n_eps: 0, cutoff: 0.0, reserved: 0,
            eps: [0.0; 3], threshold: 0.0, min_samples: 0, max_bytes: 0, knn: std::ptr::null(),
            method: 0, reserved2: 0, infomap_k: 0, infomap_cluster_num: 0,
            infomap_min_sim: 0.0, infomap_seed: 0, infomap_trials: 0, kmeans_max_iter: 0,
            kmeans_k: 0, kmeans_tol: 0.0, kmeans_seed: 0, kmeans_max_points: 0,
            kmeans_init: std::ptr::null(),
        }
    }
}
#[repr(C)]
#[derive(Clone, Copy, Default)]
pub struct rlcc_refiner_options { pub struct_size: usize, pub alpha: f32, pub w: f32, pub beta: f32, pub scale: f32 }

/// Options of `rlcc_centroids_opts` (1.4).
#[repr(C)]
#[derive(Clone, Copy, Default)]
pub struct rlcc_centroid_options {
    pub struct_size: usize, pub n_threads: i32, pub reserved: i32, pub max_bytes: i64,
    /// Since 1.7: [`RLCC_CENTROID_NORM_DOUBLE`] (default) or [`RLCC_CENTROID_NORM_FLOAT32`].
    pub norm: i32,
    /// Since 1.7: reserved, must be 0.
    pub reserved2: i32,
}
/// Options of the consensus functions' `_opts` twins (1.4).
#[repr(C)]
#[derive(Clone, Copy, Default)]
pub struct rlcc_consensus_options {
    pub struct_size: usize, pub kind: i32, pub normalize: i32, pub n_threads: i32, pub reserved: i32,
    pub max_bytes: i64,
}
/// Options of `rlcc_class_probabilities_opts` (1.4).
#[repr(C)]
#[derive(Clone, Copy, Default)]
pub struct rlcc_probability_options { pub struct_size: usize, pub scale: f32, pub n_threads: i32, pub max_bytes: i64 }
/// Options of `rlcc_propagate_opts` (1.4).
#[repr(C)]
#[derive(Clone, Copy, Default)]
pub struct rlcc_propagate_options {
    pub struct_size: usize, pub w: f32, pub beta: f32, pub n_threads: i32, pub reserved: i32, pub max_bytes: i64,
}
/// Options of `rlcc_blend_opts` (1.4).
#[repr(C)]
#[derive(Clone, Copy, Default)]
pub struct rlcc_blend_options { pub struct_size: usize, pub alpha: f32, pub n_threads: i32, pub max_bytes: i64 }
/// Options of a refiner step (1.4). Holds two callbacks and their user data;
/// all null (and `borrow` 0) in `Default`.
#[repr(C)]
#[derive(Clone, Copy)]
pub struct rlcc_step_options {
    pub struct_size: usize, pub batch: i64, pub logits: rlcc_logits_fn, pub logits_data: *mut c_void,
    pub progress: rlcc_progress_fn, pub progress_data: *mut c_void, pub borrow: i32, pub n_threads: i32,
    pub max_bytes: i64,
}
impl Default for rlcc_step_options {
    fn default() -> Self {
        rlcc_step_options {
            struct_size: 0, batch: 0, logits: None, logits_data: std::ptr::null_mut(), progress: None,
            progress_data: std::ptr::null_mut(), borrow: 0, n_threads: 0, max_bytes: 0,
        }
    }
}
/// Options of `rlcc_refiner_targets_opts` (1.4).
#[repr(C)]
#[derive(Clone, Copy, Default)]
pub struct rlcc_targets_options { pub struct_size: usize, pub n_threads: i32, pub reserved: i32, pub max_bytes: i64 }

/// Options of `rlcc_refiner_load` (1.6).
#[repr(C)]
#[derive(Clone, Copy, Default)]
pub struct rlcc_load_options { pub struct_size: usize, pub n_threads: i32, pub reserved: i32, pub max_bytes: i64 }
/// The latest checkpoint format version `rlcc_refiner_save` writes (2 since
/// 1.7, for InfoMap and k-means refiners; `RLCC_STATE_FORMAT`).
pub const RLCC_STATE_FORMAT: u32 = 2;

#[repr(C)]
pub struct rlcc_csr { _private: [u8; 0] }
#[repr(C)]
pub struct rlcc_refiner { _private: [u8; 0] }
#[repr(C)]
pub struct rlcc_knn_state { _private: [u8; 0] }

pub type rlcc_features_fn = Option<unsafe extern "C" fn(i64, i64, *mut f32, i64, *mut c_void) -> i64>;
pub type rlcc_logits_fn = Option<unsafe extern "C" fn(i64, i64, i64, *mut f32, i64, *mut c_void) -> i64>;
pub type rlcc_progress_fn = Option<unsafe extern "C" fn(i32, f64, *mut c_void) -> c_int>;

extern "C" {
    pub fn rlcc_version_number() -> c_uint;
    pub fn rlcc_version_string() -> *const c_char;
    pub fn rlcc_strerror(code: c_int) -> *const c_char;
    pub fn rlcc_last_error() -> *const c_char;
    pub fn rlcc_dbscan_options_init(o: *mut rlcc_dbscan_options, size: usize) -> c_int;
    pub fn rlcc_dbscan_stats_init(s: *mut rlcc_dbscan_stats, size: usize) -> c_int;
    pub fn rlcc_dbscan_features(x: *const f32, n: i64, d: i64, ldx: i64, eps: f64, min_samples: i64,
        o: *const rlcc_dbscan_options, labels: *mut i32, n_clusters: *mut i64, core: *mut u8,
        stats: *mut rlcc_dbscan_stats) -> c_int;
    pub fn rlcc_dbscan_dense(dist: *const f32, n: i64, ld: i64, eps: f64, min_samples: i64,
        o: *const rlcc_dbscan_options, labels: *mut i32, n_clusters: *mut i64, core: *mut u8,
        stats: *mut rlcc_dbscan_stats) -> c_int;
    pub fn rlcc_dbscan_csr(n: i64, indptr: *const i64, indices: *const i32, data: *const f32, eps: f64,
        min_samples: i64, o: *const rlcc_dbscan_options, labels: *mut i32, n_clusters: *mut i64,
        core: *mut u8, stats: *mut rlcc_dbscan_stats) -> c_int;
    pub fn rlcc_knn_options_init(o: *mut rlcc_knn_options, size: usize) -> c_int;
    pub fn rlcc_knn(x: *const f32, n: i64, d: i64, ldx: i64, k: i64, o: *const rlcc_knn_options,
        indices: *mut i64, sqdist: *mut f32) -> c_int;
    pub fn rlcc_knn_stats_init(s: *mut rlcc_knn_stats, size: usize) -> c_int;
    pub fn rlcc_knn_state_new(n_queries: i64, query_offset: i64, d: i64, k: i64,
        o: *const rlcc_knn_options, state: *mut *mut rlcc_knn_state) -> c_int;
    pub fn rlcc_knn_state_free(s: *mut rlcc_knn_state);
    pub fn rlcc_knn_update(s: *mut rlcc_knn_state, queries: *const f32, ldq: i64, refs: *const f32,
        n_refs: i64, ldr: i64, ref_offset: i64) -> c_int;
    pub fn rlcc_knn_merge(into: *mut rlcc_knn_state, from: *const rlcc_knn_state) -> c_int;
    pub fn rlcc_knn_finish(s: *mut rlcc_knn_state, indices: *mut i64, sqdist: *mut f32) -> c_int;
    pub fn rlcc_knn_state_stats(s: *const rlcc_knn_state, stats: *mut rlcc_knn_stats) -> c_int;
    pub fn rlcc_csr_rows(m: *const rlcc_csr) -> i64;
    pub fn rlcc_csr_cols(m: *const rlcc_csr) -> i64;
    pub fn rlcc_csr_nnz(m: *const rlcc_csr) -> i64;
    pub fn rlcc_csr_indptr(m: *const rlcc_csr) -> *const i64;
    pub fn rlcc_csr_indices(m: *const rlcc_csr) -> *const i32;
    pub fn rlcc_csr_data(m: *const rlcc_csr) -> *const f32;
    pub fn rlcc_csr_free(m: *mut rlcc_csr);
    pub fn rlcc_jaccard_options_init(o: *mut rlcc_jaccard_options, size: usize) -> c_int;
    pub fn rlcc_jaccard(x: *const f32, n: i64, d: i64, ldx: i64, knn: *const i64,
        o: *const rlcc_jaccard_options, out: *mut *mut rlcc_csr) -> c_int;
    pub fn rlcc_jaccard_dense(x: *const f32, n: i64, d: i64, ldx: i64, knn: *const i64,
        o: *const rlcc_jaccard_options, dist: *mut f32, ld: i64) -> c_int;
    pub fn rlcc_pseudo_options_init(o: *mut rlcc_pseudo_options, size: usize) -> c_int;
    pub fn rlcc_pseudo_labels(x: *const f32, n: i64, d: i64, ldx: i64, o: *const rlcc_pseudo_options,
        labels: *mut i32, n_classes: *mut i64, threshold: *mut f64) -> c_int;
    pub fn rlcc_centroids(x: *const f32, n: i64, d: i64, ldx: i64, labels: *const i32, k: i64,
        centroids: *mut f32, ldc: i64) -> c_int;
    pub fn rlcc_consensus_counts(prev: *const i32, cur: *const i32, n: i64, k_prev: i64, k_cur: i64,
        counts: *mut i64, ld: i64) -> c_int;
    pub fn rlcc_consensus(prev: *const i32, cur: *const i32, n: i64, k_prev: i64, k_cur: i64,
        kind: i32, normalize: i32, out: *mut f32, ld: i64) -> c_int;
    pub fn rlcc_consensus_csr(prev: *const i32, cur: *const i32, n: i64, k_prev: i64, k_cur: i64,
        kind: i32, normalize: i32, out: *mut *mut rlcc_csr) -> c_int;
    pub fn rlcc_class_probabilities(x: *const f32, n: i64, d: i64, ldx: i64, c: *const f32, k: i64,
        ldc: i64, scale: f32, rows: *const i64, n_rows: i64, probs: *mut f32, ldp: i64,
        n_threads: i32) -> c_int;
    pub fn rlcc_propagate(prev: *const i32, n: i64, indptr: *const i64, indices: *const i32,
        data: *const f32, k_prev: i64, k_cur: i64, probs: *const f32, ldp: i64, w: f32, beta: f32,
        rows: *const i64, n_rows: i64, out: *mut f32, ldo: i64) -> c_int;
    pub fn rlcc_blend(cur: *const i32, n: i64, k_cur: i64, s: *const f32, lds: i64, alpha: f32,
        rows: *const i64, n_rows: i64, out: *mut f32, ldo: i64) -> c_int;
    pub fn rlcc_refiner_options_init(o: *mut rlcc_refiner_options, size: usize) -> c_int;
    pub fn rlcc_refiner_new(n: i64, d: i64, p: *const rlcc_pseudo_options,
        o: *const rlcc_refiner_options, out: *mut *mut rlcc_refiner) -> c_int;
    pub fn rlcc_refiner_free(r: *mut rlcc_refiner);
    pub fn rlcc_refiner_step(r: *mut rlcc_refiner, features: rlcc_features_fn, fd: *mut c_void,
        batch: i64, logits: rlcc_logits_fn, ld: *mut c_void, progress: rlcc_progress_fn,
        pd: *mut c_void) -> c_int;
    pub fn rlcc_refiner_set_knn(r: *mut rlcc_refiner, knn: *const i64) -> c_int;
    pub fn rlcc_refiner_generation(r: *const rlcc_refiner) -> i64;
    pub fn rlcc_refiner_n_classes(r: *const rlcc_refiner) -> i64;
    pub fn rlcc_refiner_threshold(r: *const rlcc_refiner) -> f64;
    pub fn rlcc_refiner_labels(r: *const rlcc_refiner, labels: *mut i32) -> c_int;
    pub fn rlcc_refiner_centroids(r: *const rlcc_refiner, c: *mut f32, ld: i64) -> c_int;
    pub fn rlcc_refiner_targets(r: *const rlcc_refiner, rows: *const i64, n_rows: i64, out: *mut f32,
        ld: i64) -> c_int;

    // 1.4
    pub fn rlcc_centroid_options_init(o: *mut rlcc_centroid_options, size: usize) -> c_int;
    pub fn rlcc_centroids_opts(x: *const f32, n: i64, d: i64, ldx: i64, labels: *const i32, k: i64,
        o: *const rlcc_centroid_options, centroids: *mut f32, ldc: i64) -> c_int;
    pub fn rlcc_consensus_options_init(o: *mut rlcc_consensus_options, size: usize) -> c_int;
    pub fn rlcc_consensus_counts_opts(prev: *const i32, cur: *const i32, n: i64, k_prev: i64, k_cur: i64,
        o: *const rlcc_consensus_options, counts: *mut i64, ld: i64) -> c_int;
    pub fn rlcc_consensus_opts(prev: *const i32, cur: *const i32, n: i64, k_prev: i64, k_cur: i64,
        o: *const rlcc_consensus_options, out: *mut f32, ld: i64) -> c_int;
    pub fn rlcc_consensus_csr_opts(prev: *const i32, cur: *const i32, n: i64, k_prev: i64, k_cur: i64,
        o: *const rlcc_consensus_options, out: *mut *mut rlcc_csr) -> c_int;
    pub fn rlcc_probability_options_init(o: *mut rlcc_probability_options, size: usize) -> c_int;
    pub fn rlcc_class_probabilities_opts(x: *const f32, n: i64, d: i64, ldx: i64, c: *const f32, k: i64,
        ldc: i64, rows: *const i64, n_rows: i64, o: *const rlcc_probability_options, probs: *mut f32,
        ldp: i64) -> c_int;
    pub fn rlcc_propagate_options_init(o: *mut rlcc_propagate_options, size: usize) -> c_int;
    pub fn rlcc_propagate_opts(prev: *const i32, n: i64, indptr: *const i64, indices: *const i32,
        data: *const f32, k_prev: i64, k_cur: i64, probs: *const f32, ldp: i64, rows: *const i64,
        n_rows: i64, o: *const rlcc_propagate_options, out: *mut f32, ldo: i64) -> c_int;
    pub fn rlcc_blend_options_init(o: *mut rlcc_blend_options, size: usize) -> c_int;
    pub fn rlcc_blend_opts(cur: *const i32, n: i64, k_cur: i64, s: *const f32, lds: i64, rows: *const i64,
        n_rows: i64, o: *const rlcc_blend_options, out: *mut f32, ldo: i64) -> c_int;
    pub fn rlcc_step_options_init(o: *mut rlcc_step_options, size: usize) -> c_int;
    pub fn rlcc_refiner_step_opts(r: *mut rlcc_refiner, features: rlcc_features_fn, fd: *mut c_void,
        o: *const rlcc_step_options) -> c_int;
    pub fn rlcc_refiner_step_matrix(r: *mut rlcc_refiner, x: *const f32, ldx: i64,
        o: *const rlcc_step_options) -> c_int;
    pub fn rlcc_refiner_bytes(r: *const rlcc_refiner) -> i64;
    pub fn rlcc_targets_options_init(o: *mut rlcc_targets_options, size: usize) -> c_int;
    pub fn rlcc_refiner_targets_opts(r: *const rlcc_refiner, rows: *const i64, n_rows: i64,
        o: *const rlcc_targets_options, out: *mut f32, ld: i64) -> c_int;
    // 1.8: a generation from the caller's labels, targets from its rows
    pub fn rlcc_refiner_step_labels(r: *mut rlcc_refiner, labels: *const i32, n_classes: i64,
        centroids: *const f32, ldc: i64, threshold: f64, o: *const rlcc_step_options) -> c_int;
    pub fn rlcc_refiner_targets_rows(r: *const rlcc_refiner, rows: *const i64, n_rows: i64,
        x: *const f32, ldx: i64, o: *const rlcc_targets_options, out: *mut f32, ld: i64) -> c_int;

    // 1.6
    pub fn rlcc_refiner_save(r: *const rlcc_refiner, buffer: *mut c_void, capacity: usize,
        size: *mut usize) -> c_int;
    pub fn rlcc_load_options_init(o: *mut rlcc_load_options, size: usize) -> c_int;
    pub fn rlcc_refiner_load(state: *const c_void, size: usize, o: *const rlcc_load_options,
        out: *mut *mut rlcc_refiner) -> c_int;
}

// ---- InfoMap pseudo labels (issue #15 item 2), 1.7 ----
#[repr(C)]
#[derive(Clone, Copy, Default)]
pub struct rlcc_infomap_options {
    pub struct_size: usize, pub k: i32, pub cluster_num: i32, pub min_sim: f64, pub seed: u64,
    pub trials: i32, pub normalize: i32, pub n_threads: i32, pub reserved: i32, pub max_bytes: i64,
}
extern "C" {
    pub fn rlcc_infomap_options_init(o: *mut rlcc_infomap_options, size: usize) -> c_int;
    pub fn rlcc_infomap_labels(x: *const f32, n: i64, d: i64, ldx: i64, knn: *const i64,
        knn_dist: *const f32, modules: *const i32, o: *const rlcc_infomap_options, labels: *mut i32,
        n_classes: *mut i64, codelength: *mut f64) -> c_int;
    pub fn rlcc_infomap_links(x: *const f32, n: i64, d: i64, ldx: i64, knn: *const i64,
        knn_dist: *const f32, o: *const rlcc_infomap_options, src: *mut i64, dst: *mut i64,
        weight: *mut f64, n_links: *mut i64) -> c_int;
    pub fn rlcc_map_codelength(n_nodes: i64, src: *const i64, dst: *const i64, weight: *const f64,
        n_links: i64, modules: *const i32, codelength: *mut f64) -> c_int;
}

// ---- 1.7, k-means (issue #15 item 3) ----
#[repr(C)]
#[derive(Clone, Copy, Default)]
/// `rlcc_kmeans_options` (1.7): 32 bytes on LP64.
pub struct rlcc_kmeans_options {
    pub struct_size: usize, pub max_iter: i32, pub n_threads: i32, pub tol: f64, pub max_bytes: i64,
}
extern "C" {
    pub fn rlcc_kmeans_options_init(o: *mut rlcc_kmeans_options, size: usize) -> c_int;
    pub fn rlcc_kmeans(x: *const f32, n: i64, d: i64, ldx: i64, init: *const f32, k: i64, ldi: i64,
        o: *const rlcc_kmeans_options, centroids: *mut f32, ldc: i64, labels: *mut i32,
        n_iter: *mut i64) -> c_int;
    pub fn rlcc_kmeans_init_faiss(n: i64, k: i64, seed: u64, max_points_per_centroid: i64,
        start_rows: *mut i64, train_rows: *mut i64, n_train: *mut i64) -> c_int;
}
// ---- end of k-means ----

// ---- 1.7 (#15 items 1, 4, 5): camera proxies, cross-agreement, eps from a quantile ----

/// `rlcc_centroid_options.norm` (1.7): the norm of the mean in double.
pub const RLCC_CENTROID_NORM_DOUBLE: i32 = 0;
/// The norm in float32 as NumPy (CAP's and ICE's bytes).
pub const RLCC_CENTROID_NORM_FLOAT32: i32 = 1;
/// `rlcc_proxy_options.order` (1.7): cameras, then clusters (CAP, ICE).
pub const RLCC_PROXIES_CAMERA_MAJOR: i32 = 0;
/// Clusters, then cameras (O2CAP, PPLR).
pub const RLCC_PROXIES_CLUSTER_MAJOR: i32 = 1;
/// `rlcc_quantile_options.summation` (1.7): NumPy's float32 pairwise sum.
pub const RLCC_SUM_NUMPY: i32 = 0;
/// A sequential double sum.
pub const RLCC_SUM_DOUBLE: i32 = 1;
#[repr(C)]
#[derive(Clone, Copy, Default)]
pub struct rlcc_proxy_options { pub struct_size: usize, pub order: i32, pub reserved: i32, pub max_bytes: i64 }
#[repr(C)]
#[derive(Clone, Copy, Default)]
pub struct rlcc_agreement_options {
    pub struct_size: usize, pub k: i32, pub exclude_self: i32, pub n_threads: i32, pub reserved: i32,
    pub max_bytes: i64,
}
#[repr(C)]
#[derive(Clone, Copy, Default)]
pub struct rlcc_quantile_options { pub struct_size: usize, pub summation: i32, pub reserved: i32, pub max_bytes: i64 }

extern "C" {
    pub fn rlcc_proxy_options_init(o: *mut rlcc_proxy_options, size: usize) -> c_int;
    pub fn rlcc_camera_proxies(labels: *const i32, cameras: *const i32, n: i64,
        o: *const rlcc_proxy_options, proxy: *mut i32, n_proxies: *mut i64, proxy_cluster: *mut i32,
        proxy_camera: *mut i32) -> c_int;
    pub fn rlcc_agreement_options_init(o: *mut rlcc_agreement_options, size: usize) -> c_int;
    pub fn rlcc_cross_agreement(global: *const f32, n: i64, d_global: i64, ld_global: i64,
        parts: *const *const f32, n_parts: i64, d_part: i64, ld_part: i64,
        o: *const rlcc_agreement_options, scores: *mut f32) -> c_int;
    pub fn rlcc_part_weights(scores: *const f32, n: i64, n_parts: i64, weights: *mut f32) -> c_int;
    pub fn rlcc_quantile_options_init(o: *mut rlcc_quantile_options, size: usize) -> c_int;
    pub fn rlcc_eps_from_quantile(dist: *const f32, n: i64, ld: i64, rho: f64,
        o: *const rlcc_quantile_options, eps: *mut f64) -> c_int;
    pub fn rlcc_eps_from_quantile_csr(n: i64, indptr: *const i64, indices: *const i32, data: *const f32,
        rho: f64, o: *const rlcc_quantile_options, eps: *mut f64) -> c_int;
}
// ---- end of 1.7 items 1, 4, 5 ----

// ---- 1.8: block kNN pairs and bytes, block Jaccard, labels of a graph ----
#[repr(C)]
pub struct rlcc_jaccard_plan { _private: [u8; 0] }

extern "C" {
    pub fn rlcc_knn_update_pair(a: *mut rlcc_knn_state, rows_a: *const f32, lda: i64, b: *mut rlcc_knn_state,
        rows_b: *const f32, ldb: i64) -> c_int;
    pub fn rlcc_knn_state_save(s: *const rlcc_knn_state, buffer: *mut c_void, capacity: usize,
        size: *mut usize) -> c_int;
    pub fn rlcc_knn_state_load(buffer: *const c_void, size: usize, o: *const rlcc_knn_options,
        state: *mut *mut rlcc_knn_state) -> c_int;
    pub fn rlcc_jaccard_plan_new(knn: *const i64, n: i64, row0: i64, row1: i64, d: i64,
        o: *const rlcc_jaccard_options, plan: *mut *mut rlcc_jaccard_plan) -> c_int;
    pub fn rlcc_jaccard_plan_free(plan: *mut rlcc_jaccard_plan);
    pub fn rlcc_jaccard_plan_offer(plan: *mut rlcc_jaccard_plan, rows: *const f32, ldr: i64, refs: *const f32,
        n_refs: i64, ldf: i64, ref_offset: i64) -> c_int;
    pub fn rlcc_jaccard_plan_weights(plan: *const rlcc_jaccard_plan, weights: *mut *mut rlcc_csr) -> c_int;
    pub fn rlcc_jaccard_rows(n: i64, indptr: *const i64, indices: *const i32, data: *const f32, knn: *const i64,
        row0: i64, row1: i64, o: *const rlcc_jaccard_options, out: *mut *mut rlcc_csr) -> c_int;
    pub fn rlcc_pseudo_labels_graph(n: i64, indptr: *const i64, indices: *const i32, data: *const f32,
        o: *const rlcc_pseudo_options, labels: *mut i32, n_classes: *mut i64, threshold: *mut f64) -> c_int;
}
