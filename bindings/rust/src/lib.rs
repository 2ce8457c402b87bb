//! Safe Rust bindings for librlcc: DBSCAN with scikit-learn's labels, the
//! k-reciprocal Jaccard distance, and RLCC's pseudo labels and refiner.
//!
//! Matrices are row-major `&[f32]` slices with their row count and
//! dimension; every call returns `Result<_, rlcc::Error>` carrying the
//! library's message.
//!
//! ```
//! let x = [0.0f32, 0.5, 1.0, 10.0, 10.5, 40.0]; // six points, d = 1
//! let result = rlcc::dbscan_features(&x, 6, 1, 0.6, 2, &rlcc::DbscanOptions::default()).unwrap();
//! assert_eq!(result.labels, vec![0, 0, 0, 1, 1, -1]);
//! ```

pub mod sys;

use std::ffi::CStr;
use std::fmt;
use std::os::raw::c_void;
use std::panic::{catch_unwind, AssertUnwindSafe};
use std::ptr;

/// An error reported by librlcc: its pinned code and its message.
#[derive(Debug, Clone, PartialEq)]
pub struct Error {
    /// `RLCC_E_*` (negative).
    pub code: i32,
    /// The detail, e.g. "x: row 17 has NaN at column 3".
    pub message: String,
}

/// Pinned error codes (`rlcc.h`).
pub mod code {
    pub const INVALID_ARGUMENT: i32 = -1;
    pub const OUT_OF_MEMORY: i32 = -2;
    pub const MEMORY_LIMIT: i32 = -3;
    pub const CANCELED: i32 = -4;
    pub const CALLBACK: i32 = -5;
}

impl fmt::Display for Error {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "rlcc error {}: {}", self.code, self.message)
    }
}

impl std::error::Error for Error {}

fn check(rc: i32) -> Result<(), Error> {
    if rc == 0 {
        return Ok(());
    }
    // read on the same thread, right after the call: the message is thread-local
    let message = unsafe { CStr::from_ptr(sys::rlcc_last_error()) }.to_string_lossy().into_owned();
    Err(Error { code: rc, message })
}

fn invalid(message: &str) -> Error {
    Error { code: code::INVALID_ARGUMENT, message: message.to_string() }
}

/// The loaded library's version, e.g. "1.2.0".
///
/// ```
/// assert!(rlcc::version().starts_with("1."));
/// ```
pub fn version() -> String {
    unsafe { CStr::from_ptr(sys::rlcc_version_string()) }.to_string_lossy().into_owned()
}

fn matrix_len(name: &str, len: usize, rows: usize, cols: usize) -> Result<(), Error> {
    if rows.checked_mul(cols) != Some(len) {
        return Err(invalid(&format!("{}: {} values, expected {} x {}", name, len, rows, cols)));
    }
    Ok(())
}

/// Feature-space metrics for [`dbscan_features`].
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Metric {
    Euclidean,
    Cosine,
}

/// Options of the DBSCAN calls.
#[derive(Clone, Copy, Debug)]
pub struct DbscanOptions {
    pub metric: Metric,
    /// 0 = all OpenMP threads.
    pub n_threads: i32,
    /// 0 = half of physical memory.
    pub max_bytes: i64,
}

impl Default for DbscanOptions {
    fn default() -> Self {
        DbscanOptions { metric: Metric::Euclidean, n_threads: 0, max_bytes: 0 }
    }
}

impl DbscanOptions {
    fn raw(&self) -> sys::rlcc_dbscan_options {
        let mut o = sys::rlcc_dbscan_options::default();
        unsafe { sys::rlcc_dbscan_options_init(&mut o, std::mem::size_of::<sys::rlcc_dbscan_options>()) };
        o.metric = match self.metric { Metric::Euclidean => 0, Metric::Cosine => 1 };
        o.n_threads = self.n_threads;
        o.max_bytes = self.max_bytes;
        o
    }
}

/// DBSCAN labels (-1 = noise), cluster count and core flags.
#[derive(Clone, Debug, PartialEq)]
pub struct Dbscan {
    pub labels: Vec<i32>,
    pub n_clusters: i64,
    pub core: Vec<bool>,
}

fn dbscan_outputs(n: usize) -> (Vec<i32>, Vec<u8>) {
    (vec![0; n], vec![0; n])
}

/// DBSCAN over `n x d` features, scikit-learn's labels.
///
/// ```
/// let x = [0.0f32, 0.0, 0.0, 1.0, 9.0, 9.0];
/// let r = rlcc::dbscan_features(&x, 3, 2, 1.0, 2, &Default::default()).unwrap();
/// assert_eq!(r.labels, vec![0, 0, -1]);
/// ```
pub fn dbscan_features(x: &[f32], n: usize, d: usize, eps: f64, min_samples: i64,
                       options: &DbscanOptions) -> Result<Dbscan, Error> {
    matrix_len("x", x.len(), n, d)?;
    let (mut labels, mut core) = dbscan_outputs(n);
    let mut k = 0i64;
    let o = options.raw();
    check(unsafe {
        sys::rlcc_dbscan_features(x.as_ptr(), n as i64, d as i64, d.max(1) as i64, eps, min_samples,
                                  &o, labels.as_mut_ptr(), &mut k, core.as_mut_ptr(), ptr::null_mut())
    })?;
    Ok(Dbscan { labels, n_clusters: k, core: core.into_iter().map(|c| c != 0).collect() })
}

/// DBSCAN over a dense `n x n` precomputed distance matrix.
///
/// ```
/// let dist = [0.0f32, 0.5, 9.0, 0.5, 0.0, 9.0, 9.0, 9.0, 0.0];
/// let r = rlcc::dbscan_dense(&dist, 3, 1.0, 2, &Default::default()).unwrap();
/// assert_eq!(r.labels, vec![0, 0, -1]);
/// ```
pub fn dbscan_dense(dist: &[f32], n: usize, eps: f64, min_samples: i64,
                    options: &DbscanOptions) -> Result<Dbscan, Error> {
    matrix_len("dist", dist.len(), n, n)?;
    let (mut labels, mut core) = dbscan_outputs(n);
    let mut k = 0i64;
    let o = options.raw();
    check(unsafe {
        sys::rlcc_dbscan_dense(dist.as_ptr(), n as i64, n.max(1) as i64, eps, min_samples, &o,
                               labels.as_mut_ptr(), &mut k, core.as_mut_ptr(), ptr::null_mut())
    })?;
    Ok(Dbscan { labels, n_clusters: k, core: core.into_iter().map(|c| c != 0).collect() })
}

/// DBSCAN over a sparse precomputed graph in CSR form (e.g. a [`Csr`]).
///
/// ```
/// let g = rlcc::Csr::from_parts(vec![0, 1, 2], vec![1, 0], vec![0.5, 0.5]);
/// let r = rlcc::dbscan_csr(&g.indptr(), g.indices(), g.data(), 1.0, 2, &Default::default()).unwrap();
/// assert_eq!(r.labels, vec![0, 0]);
/// ```
pub fn dbscan_csr(indptr: &[i64], indices: &[i32], data: &[f32], eps: f64, min_samples: i64,
                  options: &DbscanOptions) -> Result<Dbscan, Error> {
    if indptr.is_empty() {
        return Err(invalid("indptr: needs n + 1 entries"));
    }
    let n = indptr.len() - 1;
    let nnz = indptr[n];
    if nnz < 0 || indices.len() as i64 != nnz || data.len() as i64 != nnz {
        return Err(invalid("indices and data: need indptr[n] entries each"));
    }
    let (mut labels, mut core) = dbscan_outputs(n);
    let mut k = 0i64;
    let o = options.raw();
    check(unsafe {
        sys::rlcc_dbscan_csr(n as i64, indptr.as_ptr(), indices.as_ptr(), data.as_ptr(), eps,
                             min_samples, &o, labels.as_mut_ptr(), &mut k, core.as_mut_ptr(),
                             ptr::null_mut())
    })?;
    Ok(Dbscan { labels, n_clusters: k, core: core.into_iter().map(|c| c != 0).collect() })
}

/// The `k` nearest rows of every row (itself included): `(indices, squared
/// distances)`, each `n x k` row-major.
///
/// ```
/// let x = [0.0f32, 1.0, 3.0];
/// let (idx, dist) = rlcc::knn(&x, 3, 1, 2, 0).unwrap();
/// assert_eq!(idx, vec![0, 1, 1, 0, 2, 1]);
/// assert_eq!(dist[1], 1.0);
/// ```
pub fn knn(x: &[f32], n: usize, d: usize, k: usize, n_threads: i32) -> Result<(Vec<i64>, Vec<f32>), Error> {
    matrix_len("x", x.len(), n, d)?;
    let mut o = sys::rlcc_knn_options::default();
    unsafe { sys::rlcc_knn_options_init(&mut o, std::mem::size_of::<sys::rlcc_knn_options>()) };
    o.n_threads = n_threads;
    let mut idx = vec![0i64; n * k];
    let mut dist = vec![0f32; n * k];
    check(unsafe {
        sys::rlcc_knn(x.as_ptr(), n as i64, d as i64, d.max(1) as i64, k as i64, &o,
                      idx.as_mut_ptr(), dist.as_mut_ptr())
    })?;
    Ok((idx, dist))
}

/// A sparse matrix: owned by librlcc (a Jaccard or consensus result, freed
/// on drop) or built from Rust vectors.
pub struct Csr {
    handle: *mut sys::rlcc_csr,
    owned: Option<(Vec<i64>, Vec<i32>, Vec<f32>)>,
}

impl Csr {
    /// A matrix from CSR parts.
    pub fn from_parts(indptr: Vec<i64>, indices: Vec<i32>, data: Vec<f32>) -> Csr {
        Csr { handle: ptr::null_mut(), owned: Some((indptr, indices, data)) }
    }

    /// Row pointers (rows + 1 entries).
    pub fn indptr(&self) -> &[i64] {
        match &self.owned {
            Some(p) => &p.0,
            None => unsafe {
                std::slice::from_raw_parts(sys::rlcc_csr_indptr(self.handle), sys::rlcc_csr_rows(self.handle) as usize + 1)
            },
        }
    }

    /// Column indices, ascending within each row.
    pub fn indices(&self) -> &[i32] {
        match &self.owned {
            Some(p) => &p.1,
            None => unsafe {
                std::slice::from_raw_parts(sys::rlcc_csr_indices(self.handle), sys::rlcc_csr_nnz(self.handle) as usize)
            },
        }
    }

    /// Values.
    pub fn data(&self) -> &[f32] {
        match &self.owned {
            Some(p) => &p.2,
            None => unsafe {
                std::slice::from_raw_parts(sys::rlcc_csr_data(self.handle), sys::rlcc_csr_nnz(self.handle) as usize)
            },
        }
    }

    /// Rows.
    pub fn rows(&self) -> usize {
        self.indptr().len() - 1
    }
}

impl Drop for Csr {
    fn drop(&mut self) {
        unsafe { sys::rlcc_csr_free(self.handle) } // NULL is fine
    }
}

/// Options of [`jaccard`] (the trainers' defaults: k1 30, k2 6, dot, cutoff 1).
#[derive(Clone, Copy, Debug)]
pub struct JaccardOptions {
    pub k1: i32,
    pub k2: i32,
    /// false: `2 - 2 x.y` (unit rows); true: `|x|^2 + |y|^2 - 2 x.y`.
    pub sqeuclidean: bool,
    pub normalize: bool,
    pub cutoff: f32,
    pub n_threads: i32,
}

impl Default for JaccardOptions {
    fn default() -> Self {
        JaccardOptions { k1: 30, k2: 6, sqeuclidean: false, normalize: false, cutoff: 1.0, n_threads: 0 }
    }
}

/// The k-reciprocal Jaccard distance as a sparse matrix (pairs below the
/// cutoff, diagonal included).
///
/// ```
/// let x = [1.0f32, 0.0, 0.99, 0.141, 0.0, 1.0, 0.141, 0.99];
/// let o = rlcc::JaccardOptions { k1: 2, k2: 1, ..Default::default() };
/// let g = rlcc::jaccard(&x, 4, 2, None, &o).unwrap();
/// assert_eq!(g.rows(), 4);
/// ```
pub fn jaccard(x: &[f32], n: usize, d: usize, knn: Option<&[i64]>, options: &JaccardOptions) -> Result<Csr, Error> {
    matrix_len("x", x.len(), n, d)?;
    if let Some(lists) = knn {
        matrix_len("knn", lists.len(), n, options.k1.max(0) as usize)?;
    }
    let mut o = sys::rlcc_jaccard_options::default();
    unsafe { sys::rlcc_jaccard_options_init(&mut o, std::mem::size_of::<sys::rlcc_jaccard_options>()) };
    o.k1 = options.k1;
    o.k2 = options.k2;
    o.variant = options.sqeuclidean as i32;
    o.normalize = options.normalize as i32;
    o.cutoff = options.cutoff;
    o.n_threads = options.n_threads;
    let mut handle = ptr::null_mut();
    check(unsafe {
        sys::rlcc_jaccard(x.as_ptr(), n as i64, d as i64, d.max(1) as i64,
                          knn.map_or(ptr::null(), |l| l.as_ptr()), &o, &mut handle)
    })?;
    Ok(Csr { handle, owned: None })
}

/// Results of one refiner generation.
#[derive(Clone, Debug)]
pub struct Generation {
    pub labels: Vec<i32>,
    pub n_classes: i64,
    pub threshold: f64,
    pub generation: i64,
}

/// RLCC across generations with RLCC's shipped defaults (Jaccard, DBSCAN at
/// 0.58/0.60/0.62, singletons, reliability; alpha 0.9, w 0.9, scale 30).
///
/// ```
/// // 60 unit vectors in three directions (k1 = 30 needs at least 30 samples)
/// let x: Vec<f32> = (0..60).flat_map(|i| {
///     let a = (i % 3) as f32 * 2.0 + i as f32 * 0.001;
///     vec![a.cos(), a.sin()]
/// }).collect();
/// let mut r = rlcc::Refiner::new(60, 2).unwrap();
/// let g = r.step(|start, rows| rows.copy_from_slice(&x[start * 2..start * 2 + rows.len()]), 16).unwrap();
/// assert_eq!(g.n_classes, 3);
/// let targets = r.targets(&[0, 1]).unwrap(); // 2 x 3, the hard labels at generation 0
/// assert_eq!(targets.len(), 6);
/// ```
pub struct Refiner {
    handle: *mut sys::rlcc_refiner,
    n: usize,
    d: usize,
}

struct FeatureSource<'a> {
    fill: &'a mut dyn FnMut(usize, &mut [f32]),
    d: usize,
    panicked: bool,
}

unsafe extern "C" fn features_trampoline(start: i64, count: i64, rows: *mut f32, ld: i64, data: *mut c_void) -> i64 {
    let source = &mut *(data as *mut FeatureSource);
    let d = source.d;
    let result = catch_unwind(AssertUnwindSafe(|| {
        let mut block = vec![0f32; count as usize * d];
        (source.fill)(start as usize, &mut block);
        for i in 0..count as usize {
            std::ptr::copy_nonoverlapping(block.as_ptr().add(i * d), rows.add(i * ld as usize), d);
        }
    }));
    match result {
        Ok(()) => count,
        Err(_) => {
            source.panicked = true;
            -1
        }
    }
}

impl Refiner {
    /// A refiner for `n` samples of dimension `d`.
    pub fn new(n: usize, d: usize) -> Result<Refiner, Error> {
        let mut handle = ptr::null_mut();
        check(unsafe { sys::rlcc_refiner_new(n as i64, d as i64, ptr::null(), ptr::null(), &mut handle) })?;
        Ok(Refiner { handle, n, d })
    }

    /// One generation; `fill(start, rows)` writes rows `start..start + rows.len() / d`
    /// (row-major, `d` values each). A panic in `fill` makes the step return `Err`
    /// (code CALLBACK) and leaves the refiner as it was.
    pub fn step<F: FnMut(usize, &mut [f32])>(&mut self, mut fill: F, batch: usize) -> Result<Generation, Error> {
        let mut source = FeatureSource { fill: &mut fill, d: self.d, panicked: false };
        let rc = unsafe {
            sys::rlcc_refiner_step(self.handle, Some(features_trampoline), &mut source as *mut FeatureSource as *mut c_void,
                                   batch as i64, None, ptr::null_mut(), None, ptr::null_mut())
        };
        if source.panicked {
            return Err(Error { code: code::CALLBACK, message: "the features closure panicked".into() });
        }
        check(rc)?;
        let mut labels = vec![0i32; self.n];
        check(unsafe { sys::rlcc_refiner_labels(self.handle, labels.as_mut_ptr()) })?;
        Ok(Generation {
            labels,
            n_classes: unsafe { sys::rlcc_refiner_n_classes(self.handle) },
            threshold: unsafe { sys::rlcc_refiner_threshold(self.handle) },
            generation: unsafe { sys::rlcc_refiner_generation(self.handle) },
        })
    }

    /// Training targets of the latest generation for the given samples
    /// (`rows.len() x n_classes`, row-major).
    pub fn targets(&self, rows: &[i64]) -> Result<Vec<f32>, Error> {
        let k = unsafe { sys::rlcc_refiner_n_classes(self.handle) }.max(1) as usize;
        let mut out = vec![0f32; rows.len() * k];
        check(unsafe { sys::rlcc_refiner_targets(self.handle, rows.as_ptr(), rows.len() as i64, out.as_mut_ptr(), k as i64) })?;
        Ok(out)
    }
}

impl Drop for Refiner {
    fn drop(&mut self) {
        unsafe { sys::rlcc_refiner_free(self.handle) }
    }
}

/// Outlier policies for [`PseudoOptions`].
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Outliers {
    /// -1 stays (Cluster Contrast).
    Keep,
    /// Each -1 sample gets a new label (SpCL, OpenUnReID, RLCC).
    Singleton,
}

/// Options of [`pseudo_labels`]; the default is RLCC's shipped configuration.
#[derive(Clone, Debug)]
pub struct PseudoOptions {
    /// One eps (a plain run) or three (tight, normal, loose).
    pub eps: Vec<f64>,
    pub min_samples: i64,
    /// `None`: Jaccard; `Some(metric)`: DBSCAN on the features.
    pub metric: Option<Metric>,
    pub k1: i32,
    pub k2: i32,
    pub cutoff: f32,
    pub outliers: Outliers,
    pub reliability: bool,
    pub guard: bool,
    /// `None`: computed (first generation).
    pub threshold: Option<f64>,
    pub normalize: bool,
    pub n_threads: i32,
}

impl Default for PseudoOptions {
    fn default() -> Self {
        PseudoOptions {
            eps: vec![0.58, 0.60, 0.62], min_samples: 4, metric: None, k1: 30, k2: 6, cutoff: 0.9,
            outliers: Outliers::Singleton, reliability: true, guard: true, threshold: None,
            normalize: false, n_threads: 0,
        }
    }
}

/// Pseudo labels, their class count and the reliability threshold used.
#[derive(Clone, Debug)]
pub struct PseudoLabels {
    pub labels: Vec<i32>,
    pub n_classes: i64,
    pub threshold: f64,
}

/// A trainer's clustering step in one call (see `rlcc_pseudo_labels`).
///
/// ```
/// let x: Vec<f32> = (0..60).flat_map(|i| {
///     let a = (i % 3) as f32 * 2.0 + i as f32 * 0.001;
///     vec![a.cos(), a.sin()]
/// }).collect();
/// let p = rlcc::pseudo_labels(&x, 60, 2, &Default::default()).unwrap();
/// assert_eq!(p.n_classes, 3);
/// ```
pub fn pseudo_labels(x: &[f32], n: usize, d: usize, options: &PseudoOptions) -> Result<PseudoLabels, Error> {
    matrix_len("x", x.len(), n, d)?;
    if options.eps.len() != 1 && options.eps.len() != 3 {
        return Err(invalid("eps: give one value (a plain run) or three (tight, normal, loose)"));
    }
    let mut o = sys::rlcc_pseudo_options::default();
    unsafe { sys::rlcc_pseudo_options_init(&mut o, std::mem::size_of::<sys::rlcc_pseudo_options>()) };
    o.n_eps = options.eps.len() as i32;
    for (slot, e) in o.eps.iter_mut().zip(&options.eps) {
        *slot = *e;
    }
    o.min_samples = options.min_samples;
    o.metric = match options.metric { None => 2, Some(Metric::Euclidean) => 0, Some(Metric::Cosine) => 1 };
    o.k1 = options.k1;
    o.k2 = options.k2;
    o.cutoff = options.cutoff;
    o.outliers = match options.outliers { Outliers::Keep => 0, Outliers::Singleton => 1 };
    o.reliability = options.reliability as i32;
    o.guard = options.guard as i32;
    o.threshold = options.threshold.unwrap_or(-1.0);
    o.normalize = options.normalize as i32;
    o.n_threads = options.n_threads;
    let mut labels = vec![0i32; n];
    let (mut k, mut threshold) = (0i64, 0f64);
    check(unsafe {
        sys::rlcc_pseudo_labels(x.as_ptr(), n as i64, d as i64, d.max(1) as i64, &o, labels.as_mut_ptr(),
                                &mut k, &mut threshold)
    })?;
    Ok(PseudoLabels { labels, n_classes: k, threshold })
}

/// L2-normalised class means (`k x d`, row-major); -1 samples take no part.
///
/// ```
/// let c = rlcc::centroids(&[2.0f32, 0.0, 4.0, 0.0, 0.0, 3.0], 3, 2, &[0, 0, 1], 2).unwrap();
/// assert_eq!(c, vec![1.0, 0.0, 0.0, 1.0]);
/// ```
pub fn centroids(x: &[f32], n: usize, d: usize, labels: &[i32], k: usize) -> Result<Vec<f32>, Error> {
    matrix_len("x", x.len(), n, d)?;
    matrix_len("labels", labels.len(), n, 1)?;
    let mut out = vec![0f32; k * d];
    check(unsafe {
        sys::rlcc_centroids(x.as_ptr(), n as i64, d as i64, d.max(1) as i64, labels.as_ptr(), k as i64,
                            out.as_mut_ptr(), d.max(1) as i64)
    })?;
    Ok(out)
}

/// Row normalisation of the consensus matrix.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Normalize {
    None,
    Sum,
    Softmax,
}

/// The IoU consensus matrix (`k_prev x k_cur`, row-major) between two
/// labelings, row-normalised; `k_prev` / `k_cur` 0 means max label + 1.
///
/// ```
/// let c = rlcc::consensus(&[0, 0, 1], &[0, 1, 1], 0, 0, rlcc::Normalize::None).unwrap();
/// assert_eq!(c, vec![0.5, 1.0 / 3.0, 0.0, 0.5]);
/// ```
pub fn consensus(prev: &[i32], cur: &[i32], k_prev: usize, k_cur: usize, normalize: Normalize) -> Result<Vec<f32>, Error> {
    if prev.len() != cur.len() {
        return Err(invalid("prev and cur: lengths differ"));
    }
    let max_of = |l: &[i32]| l.iter().copied().max().unwrap_or(-1).max(-1) as i64 + 1;
    let kp = if k_prev > 0 { k_prev as i64 } else { max_of(prev) };
    let kc = if k_cur > 0 { k_cur as i64 } else { max_of(cur) };
    let mut out = vec![0f32; (kp.max(0) * kc.max(0)) as usize];
    let norm = match normalize { Normalize::None => 0, Normalize::Sum => 1, Normalize::Softmax => 2 };
    check(unsafe {
        sys::rlcc_consensus(prev.as_ptr(), cur.as_ptr(), prev.len() as i64, kp, kc, 0, norm,
                            out.as_mut_ptr(), kc.max(1))
    })?;
    Ok(out)
}

/// `softmax(scale * x c^T)` row by row (`n x k`).
///
/// ```
/// let p = rlcc::class_probabilities(&[1.0f32, 0.0], 1, 2, &[1.0, 0.0, 0.0, 1.0], 2, 30.0).unwrap();
/// assert!(p[0] > 0.99);
/// ```
pub fn class_probabilities(x: &[f32], n: usize, d: usize, centroids: &[f32], k: usize, scale: f32) -> Result<Vec<f32>, Error> {
    matrix_len("x", x.len(), n, d)?;
    matrix_len("centroids", centroids.len(), k, d)?;
    let mut out = vec![0f32; n * k];
    check(unsafe {
        sys::rlcc_class_probabilities(x.as_ptr(), n as i64, d as i64, d.max(1) as i64, centroids.as_ptr(),
                                      k as i64, d.max(1) as i64, scale, ptr::null(), n as i64,
                                      out.as_mut_ptr(), k.max(1) as i64, 0)
    })?;
    Ok(out)
}

/// Propagation through a normalised consensus matrix `chat` (dense,
/// `k_prev x k_cur`): `beta * chat[prev] + (1 - beta) * (w onehot(prev) + (1 - w) probs) chat`.
/// `probs` (`n x k_prev`) may be `None` only with `beta == 1`.
///
/// ```
/// let s = rlcc::propagate(&[0, 1], &[1.0, 0.0, 0.0, 1.0], 2, 2, None, 0.0, 1.0).unwrap();
/// assert_eq!(s, vec![1.0, 0.0, 0.0, 1.0]);
/// ```
pub fn propagate(prev: &[i32], chat: &[f32], k_prev: usize, k_cur: usize, probs: Option<&[f32]>,
                 w: f32, beta: f32) -> Result<Vec<f32>, Error> {
    matrix_len("chat", chat.len(), k_prev, k_cur)?;
    let n = prev.len();
    if let Some(p) = probs {
        matrix_len("probs", p.len(), n, k_prev)?;
    }
    // the dense matrix as CSR, which is what the library takes
    let mut indptr = vec![0i64];
    let (mut indices, mut data) = (Vec::new(), Vec::new());
    for a in 0..k_prev {
        for b in 0..k_cur {
            let v = chat[a * k_cur + b];
            if v != 0.0 {
                indices.push(b as i32);
                data.push(v);
            }
        }
        indptr.push(indices.len() as i64);
    }
    let mut out = vec![0f32; n * k_cur];
    check(unsafe {
        sys::rlcc_propagate(prev.as_ptr(), n as i64, indptr.as_ptr(), indices.as_ptr(), data.as_ptr(),
                            k_prev as i64, k_cur as i64, probs.map_or(ptr::null(), |p| p.as_ptr()),
                            k_prev.max(1) as i64, w, beta, ptr::null(), n as i64, out.as_mut_ptr(),
                            k_cur.max(1) as i64)
    })?;
    Ok(out)
}

/// Training targets `alpha onehot(cur) + (1 - alpha) s` (`n x k_cur`); zero
/// rows for -1 samples.
///
/// ```
/// let t = rlcc::blend(&[1, -1], &[0.5, 0.5, 0.5, 0.5], 2, 0.9).unwrap();
/// let want = [0.05f32, 0.95, 0.0, 0.0];
/// assert!(t.iter().zip(want).all(|(a, b)| (a - b).abs() < 1e-6));
/// ```
pub fn blend(cur: &[i32], s: &[f32], k_cur: usize, alpha: f32) -> Result<Vec<f32>, Error> {
    let n = cur.len();
    matrix_len("s", s.len(), n, k_cur)?;
    let mut out = vec![0f32; n * k_cur];
    check(unsafe {
        sys::rlcc_blend(cur.as_ptr(), n as i64, k_cur as i64, s.as_ptr(), k_cur.max(1) as i64, alpha,
                        ptr::null(), n as i64, out.as_mut_ptr(), k_cur.max(1) as i64)
    })?;
    Ok(out)
}
