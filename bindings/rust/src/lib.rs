//! Safe Rust bindings for librlcc: DBSCAN with scikit-learn's labels, the
//! exact kNN (of a whole matrix, or of rows held in pieces: [`KnnState`]),
//! the k-reciprocal Jaccard distance (of a whole matrix, or of blocks of rows:
//! [`JaccardPlan`], [`jaccard_rows`]), and RLCC's pseudo labels and refiner
//! (on librlcc's kNN lists or the caller's: [`pseudo_labels_with_knn`],
//! [`Refiner::set_knn`]; on a gathered graph: [`pseudo_labels_graph`]).
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
mod checkpoint;

pub use checkpoint::{LoadOptions, STATE_FORMAT};
// 1.7 (#15 items 1, 4, 5): camera proxies, cross-agreement, eps from a quantile
mod later;
pub use later::{camera_proxies, cross_agreement, eps_from_quantile, eps_from_quantile_csr, part_weights,
                AgreementOptions, CameraProxies, CentroidNorm, ProxyOptions, ProxyOrder, QuantileOptions,
                Summation};
// k-means (1.7, issue #15 item 3)
mod kmeans;
pub use kmeans::{kmeans, kmeans_init_faiss, FaissStart, Kmeans, KmeansOptions};
// 1.8: block kNN pairs and bytes, block Jaccard, the labels of a gathered graph
mod block;
pub use block::{jaccard_rows, pseudo_labels_graph, JaccardPlan};
// InfoMap pseudo labels (issue #15 item 2)
mod infomap;
pub use infomap::{infomap_links, infomap_pseudo_labels, map_codelength, InfomapKnn, InfomapLabels, InfomapLinks,
                  InfomapOptions};

use std::ffi::CStr;
use std::fmt;
use std::os::raw::c_void;
use std::marker::PhantomData;
use std::panic::{catch_unwind, AssertUnwindSafe};
use std::ptr;

/// An error reported by librlcc: its pinned code and its message.
#[derive(Debug, Clone, PartialEq, Eq)]
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

/// The loaded library's version, e.g. "1.5.0".
///
/// ```
/// assert!(rlcc::version().starts_with("1."));
/// ```
pub fn version() -> String {
    unsafe { CStr::from_ptr(sys::rlcc_version_string()) }.to_string_lossy().into_owned()
}

fn matrix_len(name: &str, len: usize, rows: usize, cols: usize) -> Result<(), Error> {
    // with cols = 0 any rows fit an empty slice: both must still fit the C int64
    if rows.checked_mul(cols) != Some(len) || rows > i64::MAX as usize || cols > i64::MAX as usize {
        return Err(invalid(&format!("{}: {} values, expected {} x {}", name, len, rows, cols)));
    }
    Ok(())
}

/// A zeroed output of `rows x cols` values for the library to fill. The
/// size is checked: a product that wrapped around would hand the library a
/// shorter buffer than the one it writes (and one beyond `isize::MAX` bytes
/// would make `vec!` panic).
fn zeros<T: Clone + Default>(name: &str, rows: usize, cols: usize) -> Result<Vec<T>, Error> {
    let bytes = rows.checked_mul(cols).and_then(|len| len.checked_mul(std::mem::size_of::<T>()));
    match bytes {
        Some(b) if b <= isize::MAX as usize => Ok(vec![T::default(); rows * cols]),
        _ => Err(invalid(&format!("{}: {} x {} values overflow", name, rows, cols))),
    }
}

/// CSR parts the library can walk without leaving them: `indptr` has at
/// least one entry, starts at 0 and never decreases, its last entry is the
/// length of `indices` and of `data`, and every column lies in `[0, cols)`
/// (a library that sees only pointers cannot check the lengths itself, and
/// it reads a row's entries as soon as that row's bounds are checked). The
/// order of columns within a row is the library's check where it matters
/// (DBSCAN refuses unsorted and duplicate columns).
fn check_csr(indptr: &[i64], indices: &[i32], data: &[f32], cols: usize) -> Result<(), Error> {
    let last = match (indptr.first(), indptr.last()) {
        (Some(&0), Some(&last)) => last,
        (Some(&first), _) => return Err(invalid(&format!("indptr: indptr[0] = {}, must be 0", first))),
        _ => return Err(invalid("indptr: is empty; it needs rows + 1 entries")),
    };
    if let Some(row) = indptr.windows(2).position(|w| w[1] < w[0]) {
        return Err(invalid(&format!("indptr: decreases at row {} ({} > {})", row, indptr[row], indptr[row + 1])));
    }
    // last >= indptr[0] = 0 here
    if last as u64 != indices.len() as u64 || data.len() != indices.len() {
        return Err(invalid(&format!("indptr: indptr[{}] = {} must equal the length of indices ({}) and data ({})",
                                    indptr.len() - 1, last, indices.len(), data.len())));
    }
    to_i64("cols", cols)?;
    if let Some(e) = indices.iter().position(|&c| c < 0 || c as u64 >= cols as u64) {
        let row = indptr.partition_point(|&p| p <= e as i64) - 1;
        return Err(invalid(&format!("indices: column {} out of range [0, {}) in row {}", indices[e], cols, row)));
    }
    Ok(())
}

/// A slice holding `rows` rows of width `cols` at stride `ld >= cols`: at
/// least `(rows - 1) * ld + cols` values (the last row needs no padding), at
/// most `rows * ld`. What the library reads stays inside it, and `ld` fits
/// int64 (it is at most a slice's length).
fn strided_len(name: &str, len: usize, rows: usize, cols: usize, ld: usize) -> Result<(), Error> {
    if ld < cols.max(1) {
        return Err(invalid(&format!("ld: {} is smaller than d = {}", ld, cols.max(1))));
    }
    let least = match rows {
        0 => Some(0),
        _ => (rows - 1).checked_mul(ld).and_then(|v| v.checked_add(cols)),
    };
    let most = rows.checked_mul(ld);
    let fits = matches!(least, Some(l) if len >= l) && most.map_or(true, |m| len <= m);
    if !fits || ld > i64::MAX as usize {
        return Err(invalid(&format!("{}: {} values, expected {} rows of width {} and stride {}",
                                    name, len, rows, cols, ld)));
    }
    Ok(())
}

/// A raw options struct with the library's defaults, from its `_init`.
fn initialized<T: Default>(init: unsafe extern "C" fn(*mut T, usize) -> std::os::raw::c_int) -> T {
    let mut o = T::default();
    let rc = unsafe { init(&mut o, std::mem::size_of::<T>()) };
    assert_eq!(rc, 0, "an options _init refused this crate's struct size");
    o
}

/// Feature-space metrics for [`dbscan_features`].
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Metric {
    Euclidean,
    Cosine,
}

/// How [`dbscan_features`] finds neighbours (librlcc 1.5,
/// `rlcc_dbscan_options.algorithm`). Every choice gives the same labels,
/// core flags and cluster count, bit for bit; only time and memory differ.
/// The library refuses `Grid` and `KdTree` with [`Metric::Cosine`], and
/// `Grid` with d > 5 ([`sys::RLCC_DBSCAN_GRID_MAX_DIM`]), with
/// [`code::INVALID_ARGUMENT`] and its message. [`dbscan_dense`] and
/// [`dbscan_csr`] ignore it. Later releases may add variants (the enum is
/// `non_exhaustive`, so a `match` on it needs a `_` arm).
///
/// ```
/// let x = [0.0f32, 0.0, 0.0, 1.0, 9.0, 9.0];
/// let o = rlcc::DbscanOptions { algorithm: rlcc::Algorithm::Grid, ..Default::default() };
/// assert_eq!(rlcc::dbscan_features(&x, 3, 2, 1.0, 2, &o).unwrap().labels, vec![0, 0, -1]);
/// assert_eq!(rlcc::DbscanOptions::default().algorithm, rlcc::Algorithm::Auto);
/// ```
#[non_exhaustive]
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash)]
pub enum Algorithm {
    /// The library's choice by metric and d (`RLCC_DBSCAN_AUTO`): cosine
    /// brute; euclidean d <= 3 the grid, 4 <= d <= 7 the tree, up to d = 512
    /// the tree while a probe finds it selective, else brute.
    #[default]
    Auto,
    /// Every pair, from the float32 Gram matrix (`RLCC_DBSCAN_BRUTE`, the
    /// 1.0-1.4 path); the only one for cosine.
    Brute,
    /// Cells of side about eps / sqrt(d) (`RLCC_DBSCAN_GRID`); euclidean,
    /// d <= 5.
    Grid,
    /// A kd-tree (`RLCC_DBSCAN_TREE`); euclidean, any d.
    KdTree,
}

fn algorithm_code(algorithm: Algorithm) -> i32 {
    match algorithm {
        Algorithm::Auto => sys::RLCC_DBSCAN_AUTO,
        Algorithm::Brute => sys::RLCC_DBSCAN_BRUTE,
        Algorithm::Grid => sys::RLCC_DBSCAN_GRID,
        Algorithm::KdTree => sys::RLCC_DBSCAN_TREE,
    }
}

/// Options of the DBSCAN calls. Build one with `..Default::default()` for
/// the fields you leave alone: fields are added over releases (1.5:
/// `algorithm`).
#[derive(Clone, Copy, Debug)]
pub struct DbscanOptions {
    pub metric: Metric,
    /// 0 = all OpenMP threads.
    pub n_threads: i32,
    /// 0 = half of physical memory.
    pub max_bytes: i64,
    /// The neighbour search of [`dbscan_features`] (librlcc 1.5); default
    /// [`Algorithm::Auto`].
    pub algorithm: Algorithm,
}

impl Default for DbscanOptions {
    fn default() -> Self {
        DbscanOptions { metric: Metric::Euclidean, n_threads: 0, max_bytes: 0, algorithm: Algorithm::Auto }
    }
}

impl DbscanOptions {
    fn raw(&self) -> sys::rlcc_dbscan_options {
        let mut o = sys::rlcc_dbscan_options::default();
        unsafe { sys::rlcc_dbscan_options_init(&mut o, std::mem::size_of::<sys::rlcc_dbscan_options>()) };
        o.metric = match self.metric { Metric::Euclidean => 0, Metric::Cosine => 1 };
        o.n_threads = self.n_threads;
        o.max_bytes = self.max_bytes;
        o.algorithm = algorithm_code(self.algorithm);
        o
    }
}

/// DBSCAN labels (-1 = noise), cluster count and core flags.
#[derive(Clone, Debug, PartialEq, Eq)]
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
/// The three slices are checked as [`Csr::try_from_parts`] checks its parts
/// (with `n = indptr.len() - 1` columns) before the library reads them.
///
/// ```
/// let g = rlcc::Csr::from_parts(vec![0, 1, 2], vec![1, 0], vec![0.5, 0.5]);
/// let r = rlcc::dbscan_csr(&g.indptr(), g.indices(), g.data(), 1.0, 2, &Default::default()).unwrap();
/// assert_eq!(r.labels, vec![0, 0]);
/// let e = rlcc::dbscan_csr(&[0, 5, 2], &[1, 0], &[0.5, 0.5], 1.0, 2, &Default::default()).unwrap_err();
/// assert_eq!(e.message, "indptr: decreases at row 1 (5 > 2)");
/// ```
pub fn dbscan_csr(indptr: &[i64], indices: &[i32], data: &[f32], eps: f64, min_samples: i64,
                  options: &DbscanOptions) -> Result<Dbscan, Error> {
    let n = indptr.len().saturating_sub(1);
    check_csr(indptr, indices, data, n)?;
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
    // a k the library refuses (outside [1, n]) gets no output: it is refused before any is written
    let width = if (1..=n).contains(&k) { k } else { 0 };
    let mut idx = zeros("indices", n, width)?;
    let mut dist = zeros("sqdist", n, width)?;
    check(unsafe {
        sys::rlcc_knn(x.as_ptr(), n as i64, d as i64, d.max(1) as i64, to_i64("k", k)?, &o,
                      idx.as_mut_ptr(), dist.as_mut_ptr())
    })?;
    Ok((idx, dist))
}

/// Options of a [`KnnState`]. The default (zeros) is the library's: every
/// OpenMP thread, a budget of half the machine's memory.
///
/// ```
/// let options = rlcc::KnnOptions { n_threads: 2, max_bytes: 1 << 26 };
/// let state = rlcc::KnnState::new(100, 0, 32, 10, &options).unwrap();
/// assert_eq!(state.k(), 10);
/// ```
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct KnnOptions {
    /// Threads of every call on the state; 0 = all OpenMP threads. The
    /// lists never depend on it.
    pub n_threads: i32,
    /// Bound on everything the state holds at once, in bytes: its lists (16
    /// bytes per entry, held until it is dropped) plus each call's working
    /// memory; 0 = half of physical memory.
    pub max_bytes: i64,
}

impl KnnOptions {
    fn raw(&self) -> sys::rlcc_knn_options {
        let mut o = sys::rlcc_knn_options::default();
        unsafe { sys::rlcc_knn_options_init(&mut o, std::mem::size_of::<sys::rlcc_knn_options>()) };
        o.n_threads = self.n_threads;
        o.max_bytes = self.max_bytes;
        o
    }
}

/// What a [`KnnState`] has done (`rlcc_knn_stats`), from [`KnnState::stats`].
///
/// ```
/// let x = [0.0f32, 1.0, 3.0];
/// let mut state = rlcc::KnnState::new(3, 0, 1, 2, &Default::default()).unwrap();
/// state.update(&x, &x, 3, 0).unwrap();
/// let stats: rlcc::KnnStats = state.stats();
/// assert_eq!(stats.n_updates, 1);
/// assert!(stats.peak_bytes > 0);
/// ```
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct KnnStats {
    /// Updates applied, merged states' included.
    pub n_updates: i64,
    /// Candidates decided again in double from the rows.
    pub n_redecided: i64,
    /// Query rows of an update with more near-ties than the screen keeps
    /// (duplicated rows): every reference row of that update was decided in
    /// double for them.
    pub n_fallback_rows: i64,
    /// The largest working memory the state held at once, in bytes.
    pub peak_bytes: i64,
}

/// The kNN of rows held in pieces (`rlcc_knn_state`, librlcc 1.3): the
/// lists of `n_queries` query rows, global indices `query_offset ..
/// query_offset + n_queries`, built from blocks of reference rows offered
/// one at a time ([`update`](KnnState::update)) and from other states for
/// the same queries ([`merge`](KnnState::merge)). Whatever the blocking and
/// the order of updates and merges, [`finish`](KnnState::finish) gives, byte
/// for byte, the rows of [`knn`] over every reference row offered.
///
/// ```
/// // six rows, d = 1; the queries are rows 2, 3 and 4; the references come in two blocks
/// let x = [0.0f32, 1.0, 3.0, 7.0, 8.0, 20.0];
/// let queries = &x[2..5];
/// let mut a = rlcc::KnnState::new(3, 2, 1, 2, &Default::default()).unwrap();
/// let mut b = rlcc::KnnState::new(3, 2, 1, 2, &Default::default()).unwrap();
/// a.update(queries, &x[3..], 3, 3).unwrap(); // rows 3, 4, 5
/// b.update(queries, &x[..3], 3, 0).unwrap(); // rows 0, 1, 2 (on another machine, say)
/// a.merge(&b).unwrap();
/// let (indices, sqdist) = a.finish().unwrap();
/// assert_eq!(indices, vec![2, 1, 3, 4, 4, 3]);
/// let (whole, whole_sqdist) = rlcc::knn(&x, 6, 1, 2, 0).unwrap();
/// assert_eq!(indices, &whole[2 * 2..5 * 2]);
/// assert_eq!(sqdist, &whole_sqdist[2 * 2..5 * 2]);
/// ```
///
/// Freed on drop; not `Clone`. `Send`: a state may move to another thread
/// (it holds only heap memory, and every method reads the library's
/// thread-local message on the thread it runs on). Not `Sync`: librlcc
/// allows one call at a time on a state, and it does not claim the state
/// for [`stats`](KnnState::stats) or for the `other` of a merge, so a
/// `&KnnState` shared between threads could run two calls at once. `&mut
/// self` on update, merge and finish plus the missing `Sync` keep to one
/// call at a time at compile time; share a state through a `Mutex`.
///
/// ```
/// fn sent<T: Send>() {}
/// sent::<rlcc::KnnState>();
/// ```
///
/// ```compile_fail,E0277
/// fn shared<T: Sync>() {}
/// shared::<rlcc::KnnState>(); // not Sync
/// ```
///
/// ```compile_fail,E0599
/// let state = rlcc::KnnState::new(1, 0, 1, 1, &Default::default()).unwrap();
/// let copy = state.clone(); // not Clone
/// ```
pub struct KnnState {
    handle: *mut sys::rlcc_knn_state,
    n_queries: usize,
    query_offset: usize,
    d: usize,
    k: usize,
}

// A state is heap memory the library reaches only through this handle; see
// the type's documentation for why it is Send and not Sync.
unsafe impl Send for KnnState {}

fn to_i64(name: &str, value: usize) -> Result<i64, Error> {
    i64::try_from(value).map_err(|_| invalid(&format!("{}: {} does not fit int64", name, value)))
}

impl KnnState {
    /// A state for `n_queries` query rows of width `d` whose first row has
    /// the global index `query_offset`, keeping `k` neighbours each. The
    /// library refuses `d` or `k` outside `[1, INT32_MAX]`, more than
    /// `INT32_MAX` query rows, and lists beyond `options.max_bytes`.
    ///
    /// ```
    /// let state = rlcc::KnnState::new(100, 200, 32, 10, &Default::default()).unwrap();
    /// assert_eq!((state.n_queries(), state.query_offset(), state.d(), state.k()), (100, 200, 32, 10));
    /// let e = rlcc::KnnState::new(100, 0, 32, 0, &Default::default()).unwrap_err();
    /// assert_eq!(e.code, rlcc::code::INVALID_ARGUMENT);
    /// assert!(e.message.starts_with("k: 0"), "{}", e.message);
    /// ```
    pub fn new(n_queries: usize, query_offset: usize, d: usize, k: usize,
               options: &KnnOptions) -> Result<KnnState, Error> {
        let (nq, offset) = (to_i64("n_queries", n_queries)?, to_i64("query_offset", query_offset)?);
        let (d64, k64) = (to_i64("d", d)?, to_i64("k", k)?);
        let o = options.raw();
        let mut handle = ptr::null_mut();
        check(unsafe { sys::rlcc_knn_state_new(nq, offset, d64, k64, &o, &mut handle) })?;
        Ok(KnnState { handle, n_queries, query_offset, d, k })
    }

    /// Offers `n_refs` reference rows (`refs`, `n_refs x d` row-major), global
    /// indices `ref_offset .. ref_offset + n_refs`, to the query rows
    /// (`queries`, `n_queries x d`, the same rows at every call): each query
    /// row then keeps its `k` nearest among the rows it held and these. A row
    /// offered again changes nothing; `n_refs` may be 0. Passing the same
    /// slice as `queries` and `refs` with `ref_offset == query_offset`
    /// computes each pair once (the triangle). Both lengths are checked
    /// before the library is called; on any error the state is unchanged.
    ///
    /// ```
    /// let x = [0.0f32, 1.0, 3.0, 7.0];
    /// let mut state = rlcc::KnnState::new(4, 0, 1, 2, &Default::default()).unwrap();
    /// state.update(&x, &x, 4, 0).unwrap(); // the rows against themselves
    /// assert_eq!(state.finish().unwrap().0, rlcc::knn(&x, 4, 1, 2, 0).unwrap().0);
    /// let e = state.update(&x[..3], &x, 4, 0).unwrap_err();
    /// assert_eq!(e.message, "queries: 3 values, expected 4 x 1");
    /// let e = state.update(&x, &[0.0, f32::NAN], 2, 4).unwrap_err();
    /// assert!(e.message.contains("NaN"), "{}", e.message);
    /// assert_eq!(state.stats().n_updates, 1);
    /// ```
    pub fn update(&mut self, queries: &[f32], refs: &[f32], n_refs: usize,
                  ref_offset: usize) -> Result<(), Error> {
        matrix_len("queries", queries.len(), self.n_queries, self.d)?;
        matrix_len("refs", refs.len(), n_refs, self.d)?;
        let (nr, offset) = (to_i64("n_refs", n_refs)?, to_i64("ref_offset", ref_offset)?);
        let ld = self.d as i64;
        check(unsafe {
            sys::rlcc_knn_update(self.handle, queries.as_ptr(), ld, refs.as_ptr(), nr, ld, offset)
        })
    }

    /// Merges `other`, a state for the same queries (`n_queries`,
    /// `query_offset`, `d`, `k`) that was offered other (or overlapping)
    /// reference rows: `self` then holds the `k` nearest of both. `other` is
    /// unchanged. States for different queries are refused.
    ///
    /// ```
    /// let x = [0.0f32, 1.0, 3.0, 7.0];
    /// let mut a = rlcc::KnnState::new(4, 0, 1, 2, &Default::default()).unwrap();
    /// let mut b = rlcc::KnnState::new(4, 0, 1, 2, &Default::default()).unwrap();
    /// a.update(&x, &x[..2], 2, 0).unwrap();
    /// b.update(&x, &x[2..], 2, 2).unwrap();
    /// a.merge(&b).unwrap();
    /// assert_eq!(a.finish().unwrap(), rlcc::knn(&x, 4, 1, 2, 0).unwrap());
    /// let other_queries = rlcc::KnnState::new(4, 4, 1, 2, &Default::default()).unwrap();
    /// let e = a.merge(&other_queries).unwrap_err();
    /// assert!(e.message.starts_with("from: a state for 4 query rows at 4"), "{}", e.message);
    /// ```
    pub fn merge(&mut self, other: &KnnState) -> Result<(), Error> {
        check(unsafe { sys::rlcc_knn_merge(self.handle, other.handle) })
    }

    /// The finished lists, as [`knn`] gives them: `(indices, squared
    /// distances)`, each `n_queries x k` row-major, global indices, each row
    /// by ascending distance, ties by lower index. Refused while a query row
    /// has fewer than `k` neighbours (fewer than `k` reference rows
    /// offered). The state stays usable: more updates, another finish.
    ///
    /// ```
    /// let x = [0.0f32, 1.0, 3.0];
    /// let mut state = rlcc::KnnState::new(3, 0, 1, 2, &Default::default()).unwrap();
    /// state.update(&x, &x[..1], 1, 0).unwrap();
    /// let e = state.finish().unwrap_err(); // one reference row, k = 2
    /// assert!(e.message.contains("has 1 of its k = 2 neighbours"), "{}", e.message);
    /// state.update(&x, &x[1..], 2, 1).unwrap();
    /// let (indices, sqdist) = state.finish().unwrap();
    /// assert_eq!(indices, vec![0, 1, 1, 0, 2, 1]);
    /// assert_eq!(sqdist, vec![0.0, 1.0, 0.0, 1.0, 0.0, 4.0]);
    /// ```
    pub fn finish(&mut self) -> Result<(Vec<i64>, Vec<f32>), Error> {
        let (mut indices, mut sqdist) = (zeros("indices", self.n_queries, self.k)?, zeros("sqdist", self.n_queries, self.k)?);
        check(unsafe { sys::rlcc_knn_finish(self.handle, indices.as_mut_ptr(), sqdist.as_mut_ptr()) })?;
        Ok((indices, sqdist))
    }

    /// What the state has done so far.
    ///
    /// ```
    /// let x = [0.0f32, 1.0, 3.0];
    /// let mut a = rlcc::KnnState::new(3, 0, 1, 1, &Default::default()).unwrap();
    /// let mut b = rlcc::KnnState::new(3, 0, 1, 1, &Default::default()).unwrap();
    /// a.update(&x, &x[..1], 1, 0).unwrap();
    /// b.update(&x, &x[1..], 2, 1).unwrap();
    /// a.merge(&b).unwrap();
    /// assert_eq!(a.stats().n_updates, 2); // merged states' updates count
    /// ```
    pub fn stats(&self) -> KnnStats {
        let mut raw = sys::rlcc_knn_stats::default();
        unsafe { sys::rlcc_knn_stats_init(&mut raw, std::mem::size_of::<sys::rlcc_knn_stats>()) };
        let rc = unsafe { sys::rlcc_knn_state_stats(self.handle, &mut raw) };
        // refused only for a NULL state or stats, or a bad struct_size
        assert_eq!(rc, 0, "rlcc_knn_state_stats failed");
        KnnStats { n_updates: raw.n_updates, n_redecided: raw.n_redecided,
                   n_fallback_rows: raw.n_fallback_rows, peak_bytes: raw.peak_bytes }
    }

    /// Query rows.
    ///
    /// ```
    /// let state = rlcc::KnnState::new(5, 10, 2, 3, &Default::default()).unwrap();
    /// assert_eq!(state.n_queries(), 5);
    /// ```
    pub fn n_queries(&self) -> usize {
        self.n_queries
    }

    /// Global index of the first query row.
    ///
    /// ```
    /// let state = rlcc::KnnState::new(5, 10, 2, 3, &Default::default()).unwrap();
    /// assert_eq!(state.query_offset(), 10);
    /// ```
    pub fn query_offset(&self) -> usize {
        self.query_offset
    }

    /// Row width.
    ///
    /// ```
    /// let state = rlcc::KnnState::new(5, 10, 2, 3, &Default::default()).unwrap();
    /// assert_eq!(state.d(), 2);
    /// ```
    pub fn d(&self) -> usize {
        self.d
    }

    /// Neighbours kept per query row.
    ///
    /// ```
    /// let state = rlcc::KnnState::new(5, 10, 2, 3, &Default::default()).unwrap();
    /// assert_eq!(state.k(), 3);
    /// ```
    pub fn k(&self) -> usize {
        self.k
    }
}

impl fmt::Debug for KnnState {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "KnnState {{ n_queries: {}, query_offset: {}, d: {}, k: {}, n_updates: {} }}",
               self.n_queries, self.query_offset, self.d, self.k, self.stats().n_updates)
    }
}

impl Drop for KnnState {
    fn drop(&mut self) {
        unsafe { sys::rlcc_knn_state_free(self.handle) }
    }
}

/// A sparse matrix: owned by librlcc (a Jaccard or consensus result, freed
/// on drop) or built from Rust vectors, whose structure is then checked
/// when it is built ([`Csr::try_from_parts`]): every `Csr` is one the
/// library can walk without leaving its arrays.
pub struct Csr {
    handle: *mut sys::rlcc_csr,
    owned: Option<(Vec<i64>, Vec<i32>, Vec<f32>)>,
    owned_cols: usize,
}

impl Csr {
    /// A `rows x cols` matrix from CSR parts (e.g. a consensus matrix built
    /// elsewhere), `rows = indptr.len() - 1`, or the reason they do not form
    /// one: `indptr` must have at least one entry, start at 0 and never
    /// decrease, its last entry must be the length of `indices` and of
    /// `data`, and every column must lie in `[0, cols)`. (The library sees
    /// only pointers: parts that disagree would make it read past them.)
    /// Columns need not be sorted within a row.
    ///
    /// ```
    /// let c = rlcc::Csr::try_from_parts(vec![0, 1, 1], vec![2], vec![1.0], 3).unwrap();
    /// assert_eq!((c.rows(), c.cols()), (2, 3));
    /// let e = rlcc::Csr::try_from_parts(vec![0, 5, 1], vec![0], vec![1.0], 1).unwrap_err();
    /// assert_eq!(e.message, "indptr: decreases at row 1 (5 > 1)");
    /// let e = rlcc::Csr::try_from_parts(vec![0, 1], vec![3], vec![1.0], 3).unwrap_err();
    /// assert_eq!(e.message, "indices: column 3 out of range [0, 3) in row 0");
    /// ```
    pub fn try_from_parts(indptr: Vec<i64>, indices: Vec<i32>, data: Vec<f32>, cols: usize) -> Result<Csr, Error> {
        check_csr(&indptr, &indices, &data, cols)?;
        Ok(Csr { handle: ptr::null_mut(), owned: Some((indptr, indices, data)), owned_cols: cols })
    }

    /// A square matrix from CSR parts (rows = columns = `indptr.len() - 1`).
    ///
    /// # Panics
    ///
    /// When the parts do not form such a matrix (see
    /// [`try_from_parts`](Csr::try_from_parts), which returns the error
    /// instead).
    ///
    /// ```
    /// let m = rlcc::Csr::from_parts(vec![0, 2, 3], vec![0, 1, 1], vec![0.0, 0.5, 0.0]);
    /// assert_eq!((m.rows(), m.cols()), (2, 2));
    /// ```
    ///
    /// ```should_panic
    /// rlcc::Csr::from_parts(vec![0, 2, 1], vec![0], vec![0.5]); // indptr decreases
    /// ```
    pub fn from_parts(indptr: Vec<i64>, indices: Vec<i32>, data: Vec<f32>) -> Csr {
        let cols = indptr.len().saturating_sub(1);
        Csr::from_parts_with_cols(indptr, indices, data, cols)
    }

    /// A `rows x cols` matrix from CSR parts (e.g. a consensus matrix built elsewhere).
    ///
    /// # Panics
    ///
    /// When the parts do not form such a matrix (see
    /// [`try_from_parts`](Csr::try_from_parts), which returns the error
    /// instead).
    ///
    /// ```
    /// let c = rlcc::Csr::from_parts_with_cols(vec![0, 1], vec![2], vec![1.0], 3);
    /// assert_eq!((c.rows(), c.cols()), (1, 3));
    /// ```
    ///
    /// ```should_panic
    /// rlcc::Csr::from_parts_with_cols(vec![0, 1, 2], vec![0], vec![1.0], 1); // indptr[2] != 1
    /// ```
    pub fn from_parts_with_cols(indptr: Vec<i64>, indices: Vec<i32>, data: Vec<f32>, cols: usize) -> Csr {
        Csr::try_from_parts(indptr, indices, data, cols)
            .unwrap_or_else(|e| panic!("rlcc::Csr: the parts do not form a CSR matrix: {}", e.message))
    }

    fn library_owned(handle: *mut sys::rlcc_csr) -> Csr {
        Csr { handle, owned: None, owned_cols: 0 }
    }

    /// Columns (`n` for a Jaccard result, `k_cur` for a consensus matrix).
    ///
    /// ```
    /// let m = rlcc::Csr::from_parts_with_cols(vec![0, 1], vec![4], vec![1.0], 5);
    /// assert_eq!(m.cols(), 5);
    /// ```
    pub fn cols(&self) -> usize {
        match &self.owned {
            Some(_) => self.owned_cols,
            None => unsafe { sys::rlcc_csr_cols(self.handle) as usize },
        }
    }

    /// Row pointers (rows + 1 entries).
    ///
    /// ```
    /// let m = rlcc::Csr::from_parts(vec![0, 2, 3], vec![0, 1, 1], vec![0.0, 0.5, 0.0]);
    /// assert_eq!(m.indptr(), &[0, 2, 3]);
    /// ```
    pub fn indptr(&self) -> &[i64] {
        match &self.owned {
            Some(p) => &p.0,
            None => unsafe {
                std::slice::from_raw_parts(sys::rlcc_csr_indptr(self.handle), sys::rlcc_csr_rows(self.handle) as usize + 1)
            },
        }
    }

    /// Column indices, ascending within each row.
    ///
    /// ```
    /// let m = rlcc::Csr::from_parts(vec![0, 2, 3], vec![0, 1, 1], vec![0.0, 0.5, 0.0]);
    /// assert_eq!(m.indices(), &[0, 1, 1]);
    /// ```
    pub fn indices(&self) -> &[i32] {
        match &self.owned {
            Some(p) => &p.1,
            None => unsafe {
                std::slice::from_raw_parts(sys::rlcc_csr_indices(self.handle), sys::rlcc_csr_nnz(self.handle) as usize)
            },
        }
    }

    /// Values.
    ///
    /// ```
    /// let m = rlcc::Csr::from_parts(vec![0, 2, 3], vec![0, 1, 1], vec![0.0, 0.5, 0.0]);
    /// assert_eq!(m.data(), &[0.0, 0.5, 0.0]);
    /// ```
    pub fn data(&self) -> &[f32] {
        match &self.owned {
            Some(p) => &p.2,
            None => unsafe {
                std::slice::from_raw_parts(sys::rlcc_csr_data(self.handle), sys::rlcc_csr_nnz(self.handle) as usize)
            },
        }
    }

    /// Rows.
    ///
    /// ```
    /// let m = rlcc::Csr::from_parts(vec![0, 2, 3], vec![0, 1, 1], vec![0.0, 0.5, 0.0]);
    /// assert_eq!(m.rows(), 2);
    /// ```
    pub fn rows(&self) -> usize {
        self.indptr().len().saturating_sub(1)
    }
}

impl fmt::Debug for Csr {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "Csr {{ rows: {}, cols: {}, nnz: {} }}", self.rows(), self.cols(), self.data().len())
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

impl JaccardOptions {
    fn raw(&self) -> sys::rlcc_jaccard_options {
        let mut o = sys::rlcc_jaccard_options::default();
        unsafe { sys::rlcc_jaccard_options_init(&mut o, std::mem::size_of::<sys::rlcc_jaccard_options>()) };
        o.k1 = self.k1;
        o.k2 = self.k2;
        o.variant = self.sqeuclidean as i32;
        o.normalize = self.normalize as i32;
        o.cutoff = self.cutoff;
        o.n_threads = self.n_threads;
        o
    }
}

/// The same distance as a dense `n x n` row-major matrix (1 where two rows
/// share no neighbour): the trainers' dense result.
///
/// ```
/// let x = [1.0f32, 0.0, 0.99, 0.141, 0.0, 1.0, 0.141, 0.99];
/// let o = rlcc::JaccardOptions { k1: 2, k2: 1, ..Default::default() };
/// let dense = rlcc::jaccard_dense(&x, 4, 2, None, &o).unwrap();
/// let sparse = rlcc::jaccard(&x, 4, 2, None, &o).unwrap();
/// for i in 0..4 {
///     for p in sparse.indptr()[i] as usize..sparse.indptr()[i + 1] as usize {
///         assert_eq!(dense[i * 4 + sparse.indices()[p] as usize], sparse.data()[p]);
///     }
/// }
/// ```
pub fn jaccard_dense(x: &[f32], n: usize, d: usize, knn: Option<&[i64]>, options: &JaccardOptions) -> Result<Vec<f32>, Error> {
    matrix_len("x", x.len(), n, d)?;
    if let Some(lists) = knn {
        matrix_len("knn", lists.len(), n, options.k1.max(0) as usize)?;
    }
    let mut dist = zeros("dist", n, n)?;
    check(unsafe {
        sys::rlcc_jaccard_dense(x.as_ptr(), n as i64, d as i64, d.max(1) as i64,
                                knn.map_or(ptr::null(), |l| l.as_ptr()), &options.raw(),
                                dist.as_mut_ptr(), n.max(1) as i64)
    })?;
    Ok(dist)
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
    let o = options.raw();
    let mut handle = ptr::null_mut();
    check(unsafe {
        sys::rlcc_jaccard(x.as_ptr(), n as i64, d as i64, d.max(1) as i64,
                          knn.map_or(ptr::null(), |l| l.as_ptr()), &o, &mut handle)
    })?;
    Ok(Csr::library_owned(handle))
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
/// let g = r.step_matrix(&x, 2).unwrap();
/// assert_eq!(g.n_classes, 3);
/// let targets = r.targets(&[0, 1]).unwrap(); // 2 x 3, the hard labels at generation 0
/// assert_eq!(targets.len(), 6);
/// ```
pub struct Refiner {
    handle: *mut sys::rlcc_refiner,
    n: usize,
    d: usize,
    /// The pseudo options' k1, as the library keeps it: the width of
    /// [`set_knn`](Refiner::set_knn)'s lists.
    k1: i32,
    /// The last step that succeeded borrowed the caller's matrix
    /// ([`step_borrowed`](Refiner::step_borrowed)): the library may still
    /// hold a pointer to it, but this crate no longer holds the borrow, so
    /// the calls that read it (the targets) are refused until a step
    /// succeeds. Only the [`Borrowed`] that step returned reads them.
    borrowed: bool,
}

/// Consensus options of a [`Refiner`] (RLCC's defaults: alpha 0.9, w 0.9,
/// beta 0, scale 30).
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct RefinerOptions {
    /// Momentum of the current hard label.
    pub alpha: f32,
    /// Weight of the previous hard label in P' from generation 2 on.
    pub w: f32,
    /// Share of hard propagation (0: soft only).
    pub beta: f32,
    /// Softmax scale of the centroid similarities.
    pub scale: f32,
}

impl Default for RefinerOptions {
    fn default() -> Self {
        RefinerOptions { alpha: 0.9, w: 0.9, beta: 0.0, scale: 30.0 }
    }
}

/// Stages of a refiner step, reported to a progress closure.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Stage {
    Features,
    Clustering,
    Consensus,
    Done,
}

/// What a refiner closure returns: `Ok(())`, or an error that stops the step
/// (code CALLBACK, with the error's text in the message). `?` works inside.
pub type CallbackResult = Result<(), Box<dyn std::error::Error>>;
/// A features closure: `(start, block)` fills `block` (`count x d`, row-major)
/// with the features of samples `start..start + count`.
pub type FeaturesFn<'a> = &'a mut (dyn FnMut(usize, &mut [f32]) -> CallbackResult + 'a);
/// A logits closure: `(start, k_prev, block)` fills `block` (`count x
/// k_prev`, row-major) with the previous model's class logits of samples
/// `start..start + count`.
pub type LogitsFn<'a> = &'a mut (dyn FnMut(usize, usize, &mut [f32]) -> CallbackResult + 'a);
/// A progress closure: `(stage, fraction)`; return true to cancel the step.
pub type ProgressFn<'a> = &'a mut (dyn FnMut(Stage, f64) -> bool + 'a);

/// What the C callbacks of one step reach through their user data.
struct StepState<'a> {
    /// `None` for a matrix step, which calls no features callback.
    fill: Option<FeaturesFn<'a>>,
    logits: Option<LogitsFn<'a>>,
    progress: Option<ProgressFn<'a>>,
    d: usize,
    /// What stopped the step from a closure: its error or its panic.
    failure: Option<String>,
}

/// The C return value of a closure's outcome: `count` rows filled, or -1
/// with the reason kept in the step state.
fn closure_outcome(outcome: std::thread::Result<CallbackResult>, which: &str, count: i64,
                   failure: &mut Option<String>) -> i64 {
    match outcome {
        Ok(Ok(())) => count,
        Ok(Err(error)) => {
            *failure = Some(format!("the {} closure failed: {}", which, error));
            -1
        }
        Err(_) => {
            *failure = Some(format!("the {} closure panicked", which));
            -1
        }
    }
}

/// Copies a contiguous `count x width` block into rows of stride `ld`.
unsafe fn scatter_rows(block: &[f32], width: usize, rows: *mut f32, ld: i64) {
    for (i, row) in block.chunks(width.max(1)).enumerate() {
        std::ptr::copy_nonoverlapping(row.as_ptr(), rows.add(i * ld as usize), width);
    }
}

unsafe extern "C" fn features_trampoline(start: i64, count: i64, rows: *mut f32, ld: i64, data: *mut c_void) -> i64 {
    let state = &mut *(data as *mut StepState);
    let d = state.d;
    let fill = match state.fill.as_mut() {
        Some(closure) => closure,
        None => return -1,
    };
    let outcome = catch_unwind(AssertUnwindSafe(|| {
        let mut block = vec![0f32; count as usize * d];
        fill(start as usize, &mut block)?;
        scatter_rows(&block, d, rows, ld);
        Ok(())
    }));
    closure_outcome(outcome, "features", count, &mut state.failure)
}

unsafe extern "C" fn logits_trampoline(start: i64, count: i64, k_prev: i64, rows: *mut f32, ld: i64,
                                       data: *mut c_void) -> i64 {
    let state = &mut *(data as *mut StepState);
    let logits = match state.logits.as_mut() {
        Some(closure) => closure,
        None => return -1,
    };
    let outcome = catch_unwind(AssertUnwindSafe(|| {
        let mut block = vec![0f32; count as usize * k_prev as usize];
        logits(start as usize, k_prev as usize, &mut block)?;
        scatter_rows(&block, k_prev as usize, rows, ld);
        Ok(())
    }));
    closure_outcome(outcome, "logits", count, &mut state.failure)
}

unsafe extern "C" fn progress_trampoline(stage: i32, fraction: f64, data: *mut c_void) -> i32 {
    let state = &mut *(data as *mut StepState);
    let progress = match state.progress.as_mut() {
        Some(closure) => closure,
        None => return 0,
    };
    let stage = match stage { 0 => Stage::Features, 1 => Stage::Clustering, 2 => Stage::Consensus, _ => Stage::Done };
    match catch_unwind(AssertUnwindSafe(|| progress(stage, fraction))) {
        Ok(cancel) => cancel as i32,
        Err(_) => {
            state.failure = Some("the progress closure panicked".to_string());
            1
        }
    }
}

impl Refiner {
    /// A refiner for `n` samples of dimension `d`.
    ///
    /// ```
    /// let x: Vec<f32> = (0..60).flat_map(|i| {
    ///     let a = (i % 3) as f32 * 2.0 + i as f32 * 0.001;
    ///     vec![a.cos(), a.sin()]
    /// }).collect();
    /// let mut r = rlcc::Refiner::new(60, 2).unwrap();
    /// r.step_matrix(&x, 2).unwrap();
    /// assert_eq!(r.generation(), 1);
    /// ```
    pub fn new(n: usize, d: usize) -> Result<Refiner, Error> {
        Refiner::with_options(n, d, &PseudoOptions::default(), &RefinerOptions::default())
    }

    /// A refiner with the given clustering and consensus options.
    ///
    /// ```
    /// let pseudo = rlcc::PseudoOptions { k1: 10, k2: 2, ..Default::default() };
    /// let options = rlcc::RefinerOptions { alpha: 0.8, ..Default::default() };
    /// let r = rlcc::Refiner::with_options(30, 2, &pseudo, &options).unwrap();
    /// assert_eq!(r.generation(), 0);
    /// ```
    pub fn with_options(n: usize, d: usize, pseudo: &PseudoOptions, options: &RefinerOptions) -> Result<Refiner, Error> {
        let raw_pseudo = pseudo.raw()?;
        let mut raw = sys::rlcc_refiner_options::default();
        unsafe { sys::rlcc_refiner_options_init(&mut raw, std::mem::size_of::<sys::rlcc_refiner_options>()) };
        raw.alpha = options.alpha;
        raw.w = options.w;
        raw.beta = options.beta;
        raw.scale = options.scale;
        let mut handle = ptr::null_mut();
        check(unsafe { sys::rlcc_refiner_new(to_i64("n", n)?, to_i64("d", d)?, &raw_pseudo, &raw, &mut handle) })?;
        Ok(Refiner { handle, n, d, k1: pseudo.knn_width(), borrowed: false })
    }

    /// One generation; `fill(start, rows)` writes rows `start..start + rows.len() / d`
    /// (row-major, `d` values each). A panic in `fill` makes the step return `Err`
    /// (code CALLBACK) and leaves the refiner as it was.
    ///
    /// ```
    /// let x: Vec<f32> = (0..60).flat_map(|i| {
    ///     let a = (i % 3) as f32 * 2.0 + i as f32 * 0.001;
    ///     vec![a.cos(), a.sin()]
    /// }).collect();
    /// let mut r = rlcc::Refiner::new(60, 2).unwrap();
    /// r.step(|start, rows| rows.copy_from_slice(&x[start * 2..start * 2 + rows.len()]), 16).unwrap();
    /// assert_eq!(r.n_classes(), 3);
    /// ```
    pub fn step<F: FnMut(usize, &mut [f32])>(&mut self, mut fill: F, batch: usize) -> Result<Generation, Error> {
        self.step_with(&mut |start, rows| {
            fill(start, rows);
            Ok(())
        }, batch, None, None)
    }

    /// One generation with fallible closures and the optional ones: `fill`
    /// and `logits` return [`CallbackResult`] (an `Err` stops the step with
    /// code CALLBACK and the error's text), `logits` gives the previous
    /// model's class logits (instead of the centroid similarities),
    /// `progress` is told each stage and may cancel (code CANCELED). A panic
    /// in any closure stops the step too (CALLBACK; CANCELED for `progress`)
    /// and the process goes on; the refiner is left as it was on any error.
    ///
    /// ```
    /// let x: Vec<f32> = (0..30).flat_map(|i| {
    ///     let a = (i % 3) as f32 * 2.0 + i as f32 * 0.001;
    ///     vec![a.cos(), a.sin()]
    /// }).collect();
    /// let pseudo = rlcc::PseudoOptions { k1: 10, k2: 2, ..Default::default() };
    /// let mut r = rlcc::Refiner::with_options(30, 2, &pseudo, &Default::default()).unwrap();
    /// let mut fill = |start: usize, rows: &mut [f32]| -> rlcc::CallbackResult {
    ///     rows.copy_from_slice(&x[start * 2..start * 2 + rows.len()]);
    ///     Ok(())
    /// };
    /// let mut stages = Vec::new();
    /// let mut progress = |stage: rlcc::Stage, _fraction: f64| { stages.push(stage); false };
    /// r.step_with(&mut fill, 8, None, Some(&mut progress)).unwrap();
    /// assert_eq!(stages.last(), Some(&rlcc::Stage::Done));
    /// let mut cancel = |_: rlcc::Stage, _: f64| true;
    /// let err = r.step_with(&mut fill, 8, None, Some(&mut cancel)).unwrap_err();
    /// assert_eq!(err.code, rlcc::code::CANCELED);
    /// assert_eq!(r.generation(), 1);
    /// let mut missing = |_: usize, _: &mut [f32]| -> rlcc::CallbackResult { Err("image 7 is missing".into()) };
    /// let err = r.step_with(&mut missing, 8, None, None).unwrap_err();
    /// assert_eq!(err.code, rlcc::code::CALLBACK);
    /// assert!(err.message.contains("image 7 is missing"));
    /// ```
    pub fn step_with<'a>(&mut self, fill: FeaturesFn<'a>, batch: usize, logits: Option<LogitsFn<'a>>,
                         progress: Option<ProgressFn<'a>>) -> Result<Generation, Error> {
        let batch = to_i64("batch", batch)?;
        let has_logits = logits.is_some();
        let has_progress = progress.is_some();
        let mut state = StepState { fill: Some(fill), logits, progress, d: self.d, failure: None };
        let data = &mut state as *mut StepState as *mut c_void;
        let rc = unsafe {
            sys::rlcc_refiner_step(self.handle, Some(features_trampoline), data, batch,
                                   if has_logits { Some(logits_trampoline) } else { None }, data,
                                   if has_progress { Some(progress_trampoline) } else { None }, data)
        };
        self.finish_step(rc, state.failure, false)
    }

    /// [`step_with`](Refiner::step_with) with the step's options (librlcc
    /// 1.4, `rlcc_refiner_step_opts`): its batch, threads and memory bound.
    /// The same generation, bit for bit, as `step_with` with the same batch.
    ///
    /// ```
    /// let x: Vec<f32> = (0..60).flat_map(|i| {
    ///     let a = (i % 3) as f32 * 2.0 + i as f32 * 0.001;
    ///     vec![a.cos(), a.sin()]
    /// }).collect();
    /// let mut fill = |start: usize, rows: &mut [f32]| -> rlcc::CallbackResult {
    ///     rows.copy_from_slice(&x[start * 2..start * 2 + rows.len()]);
    ///     Ok(())
    /// };
    /// let mut r = rlcc::Refiner::new(60, 2).unwrap();
    /// let options = rlcc::StepOptions { batch: 16, n_threads: 1, ..Default::default() };
    /// let g = r.step_opts(&mut fill, &options, None, None).unwrap();
    /// assert_eq!(g.n_classes, 3);
    /// let tiny = rlcc::StepOptions { max_bytes: 1000, ..options };
    /// let e = r.step_opts(&mut fill, &tiny, None, None).unwrap_err();
    /// assert_eq!(e.code, rlcc::code::MEMORY_LIMIT);
    /// assert_eq!(r.generation(), 1); // as it was
    /// ```
    pub fn step_opts<'a>(&mut self, fill: FeaturesFn<'a>, options: &StepOptions, logits: Option<LogitsFn<'a>>,
                         progress: Option<ProgressFn<'a>>) -> Result<Generation, Error> {
        self.run_step(Some(fill), None, options, logits, progress)
    }

    /// One generation from features in memory (librlcc 1.4,
    /// `rlcc_refiner_step_matrix`): `x` holds the `n` rows, row `i` at
    /// `x[i * ld..i * ld + d]` (`ld >= d`; `ld == d` for a plain `n x d`
    /// matrix), read during the call. No closure and no copy while the step
    /// runs; the refiner copies the rows only when its later targets read
    /// them (`beta < 1`, no logits). The same generation, bit for bit, as
    /// [`step`](Refiner::step) over the same rows. The slice's length is
    /// checked before the library is called (at least `(n - 1) * ld + d`,
    /// at most `n * ld`).
    ///
    /// ```
    /// let x: Vec<f32> = (0..60).flat_map(|i| {
    ///     let a = (i % 3) as f32 * 2.0 + i as f32 * 0.001;
    ///     vec![a.cos(), a.sin()]
    /// }).collect();
    /// let mut r = rlcc::Refiner::new(60, 2).unwrap();
    /// let g = r.step_matrix(&x, 2).unwrap();
    /// assert_eq!((g.generation, g.n_classes), (1, 3));
    /// let e = r.step_matrix(&x[2..], 2).unwrap_err();
    /// assert_eq!(e.message, "x: 118 values, expected 60 rows of width 2 and stride 2");
    /// ```
    pub fn step_matrix(&mut self, x: &[f32], ld: usize) -> Result<Generation, Error> {
        self.step_matrix_with(x, ld, &StepOptions::default(), None, None)
    }

    /// [`step_matrix`](Refiner::step_matrix) with the step's options and the
    /// optional closures of [`step_with`](Refiner::step_with): the previous
    /// model's logits (read in batches of `options.batch` rows) and progress.
    ///
    /// ```
    /// let x: Vec<f32> = (0..60).flat_map(|i| {
    ///     let a = (i % 3) as f32 * 2.0 + i as f32 * 0.001;
    ///     vec![a.cos(), a.sin(), 0.0] // row stride 3, width 2
    /// }).collect();
    /// let mut r = rlcc::Refiner::new(60, 2).unwrap();
    /// let mut stages = Vec::new();
    /// let mut progress = |stage: rlcc::Stage, _: f64| { stages.push(stage); false };
    /// let options = rlcc::StepOptions { n_threads: 2, ..Default::default() };
    /// r.step_matrix_with(&x, 3, &options, None, Some(&mut progress)).unwrap();
    /// assert_eq!(stages.last(), Some(&rlcc::Stage::Done));
    /// ```
    pub fn step_matrix_with<'a>(&mut self, x: &[f32], ld: usize, options: &StepOptions,
                                logits: Option<LogitsFn<'a>>, progress: Option<ProgressFn<'a>>)
                                -> Result<Generation, Error> {
        self.run_step(None, Some((x, ld, false)), options, logits, progress)
    }

    /// [`step_matrix`](Refiner::step_matrix) without any copy (librlcc 1.4,
    /// `rlcc_step_options.borrow`): the refiner keeps a pointer to `x`
    /// instead of copying the rows its targets read, so a trainer holds one
    /// feature matrix, not two. The library reads `x` after the call, until
    /// the next step succeeds; so the step returns the generation together
    /// with a [`Borrowed`], which holds `x` borrowed (nothing can change or
    /// free it while the `Borrowed` lives) and is the way to the targets that
    /// read it. After the `Borrowed` is gone, however it went (dropped,
    /// leaked, forgotten), the refiner's own target calls are refused until a
    /// step succeeds: the matrix may have been freed.
    ///
    /// ```
    /// let x: Vec<f32> = (0..60).flat_map(|i| {
    ///     let a = (i % 3) as f32 * 2.0 + i as f32 * 0.001;
    ///     vec![a.cos(), a.sin()]
    /// }).collect();
    /// let mut r = rlcc::Refiner::new(60, 2).unwrap();
    /// for _epoch in 0..3 {
    ///     let features = x.clone(); // this epoch's features, extracted anew
    ///     let (g, borrowed) = r.step_borrowed(&features, 2).unwrap();
    ///     let t = borrowed.targets(&[0, 1]).unwrap(); // reads `features`
    ///     assert_eq!(t.len(), 2 * g.n_classes as usize);
    /// } // `borrowed`, then `features`, dropped
    /// let e = r.targets(&[0]).unwrap_err(); // the borrowed features may be gone
    /// assert!(e.message.contains("borrowed"), "{}", e.message);
    /// r.step_matrix(&x, 2).unwrap(); // a step that copies: targets again
    /// r.targets(&[0]).unwrap();
    /// ```
    ///
    /// Safe code cannot change or free the matrix while the `Borrowed` lives:
    ///
    /// ```compile_fail,E0505
    /// let x = vec![0.0f32; 60 * 2];
    /// let mut r = rlcc::Refiner::new(60, 2).unwrap();
    /// let (_, borrowed) = r.step_borrowed(&x, 2).unwrap();
    /// drop(x); // x is borrowed
    /// borrowed.targets(&[0]).unwrap();
    /// ```
    ///
    /// ```compile_fail,E0502
    /// let mut x = vec![0.0f32; 60 * 2];
    /// let mut r = rlcc::Refiner::new(60, 2).unwrap();
    /// let (_, borrowed) = r.step_borrowed(&x, 2).unwrap();
    /// x[0] = 1.0; // x is borrowed
    /// borrowed.targets(&[0]).unwrap();
    /// ```
    pub fn step_borrowed<'r, 'x>(&'r mut self, x: &'x [f32], ld: usize) -> Result<(Generation, Borrowed<'r, 'x>), Error> {
        self.step_borrowed_with(x, ld, &StepOptions::default(), None, None)
    }

    /// [`step_borrowed`](Refiner::step_borrowed) with the step's options and
    /// closures, as [`step_matrix_with`](Refiner::step_matrix_with). (With
    /// logits the refiner keeps nothing to borrow; the step is then a plain
    /// matrix step, and the rule on the targets still holds.)
    ///
    /// ```
    /// let x: Vec<f32> = (0..60).flat_map(|i| {
    ///     let a = (i % 3) as f32 * 2.0 + i as f32 * 0.001;
    ///     vec![a.cos(), a.sin()]
    /// }).collect();
    /// let mut r = rlcc::Refiner::new(60, 2).unwrap();
    /// let options = rlcc::StepOptions { n_threads: 1, ..Default::default() };
    /// let (g, borrowed) = r.step_borrowed_with(&x, 2, &options, None, None).unwrap();
    /// assert_eq!(borrowed.targets_all().unwrap().len(), 60 * g.n_classes as usize);
    /// ```
    pub fn step_borrowed_with<'r, 'x, 'a>(&'r mut self, x: &'x [f32], ld: usize, options: &StepOptions,
                                          logits: Option<LogitsFn<'a>>, progress: Option<ProgressFn<'a>>)
                                          -> Result<(Generation, Borrowed<'r, 'x>), Error> {
        let generation = self.run_step(None, Some((x, ld, true)), options, logits, progress)?;
        Ok((generation, Borrowed { refiner: self, _features: PhantomData }))
    }

    /// One step through `rlcc_refiner_step_opts` (a closure) or
    /// `rlcc_refiner_step_matrix` (a matrix, copied or borrowed).
    fn run_step<'a>(&mut self, fill: Option<FeaturesFn<'a>>, matrix: Option<(&[f32], usize, bool)>,
                    options: &StepOptions, logits: Option<LogitsFn<'a>>, progress: Option<ProgressFn<'a>>)
                    -> Result<Generation, Error> {
        if let Some((x, ld, _)) = matrix {
            strided_len("x", x.len(), self.n, self.d, ld)?;
        }
        let mut o = options.raw()?;
        let has_logits = logits.is_some();
        let has_progress = progress.is_some();
        let mut state = StepState { fill, logits, progress, d: self.d, failure: None };
        let data = &mut state as *mut StepState as *mut c_void;
        o.logits = if has_logits { Some(logits_trampoline) } else { None };
        o.logits_data = data;
        o.progress = if has_progress { Some(progress_trampoline) } else { None };
        o.progress_data = data;
        let borrow = matches!(matrix, Some((_, _, true)));
        let rc = match matrix {
            Some((x, ld, borrow)) => {
                o.borrow = borrow as i32;
                // ld fits int64: strided_len checked (n - 1) * ld + d fits a slice length
                unsafe { sys::rlcc_refiner_step_matrix(self.handle, x.as_ptr(), ld as i64, &o) }
            }
            None => unsafe { sys::rlcc_refiner_step_opts(self.handle, Some(features_trampoline), data, &o) },
        };
        self.finish_step(rc, state.failure, borrow)
    }

    /// A step's outcome: the closure's failure, the library's, or the new
    /// generation (and then whether it borrowed its features).
    fn finish_step(&mut self, rc: i32, failure: Option<String>, borrowed: bool) -> Result<Generation, Error> {
        if let Some(message) = failure {
            return Err(Error { code: rc, message });
        }
        check(rc)?;
        // the step succeeded: the library dropped what an earlier borrowed step left
        self.borrowed = borrowed;
        Ok(Generation {
            labels: self.labels()?,
            n_classes: self.n_classes(),
            threshold: self.threshold(),
            generation: self.generation(),
        })
    }

    /// Bytes the refiner holds now (librlcc 1.4, `rlcc_refiner_bytes`), all
    /// charged to its budget ([`PseudoOptions::max_bytes`]): the labels and
    /// centroids of two generations, the consensus matrix, and the features
    /// of the last step only when its targets read them (`beta < 1`, no
    /// logits, not borrowed): `rlcc_refiner_new` in `rlcc.h` has the formula.
    ///
    /// ```
    /// let x: Vec<f32> = (0..60).flat_map(|i| {
    ///     let a = (i % 3) as f32 * 2.0 + i as f32 * 0.001;
    ///     vec![a.cos(), a.sin()]
    /// }).collect();
    /// let mut copying = rlcc::Refiner::new(60, 2).unwrap();
    /// let mut borrowing = rlcc::Refiner::new(60, 2).unwrap();
    /// assert_eq!(copying.bytes(), 0);
    /// for _ in 0..2 {
    ///     copying.step_matrix(&x, 2).unwrap();
    ///     borrowing.step_borrowed(&x, 2).unwrap();
    /// }
    /// assert_eq!(copying.bytes() - borrowing.bytes(), 60 * 2 * 4); // the copy of x
    /// ```
    pub fn bytes(&self) -> i64 {
        unsafe { sys::rlcc_refiner_bytes(self.handle) }
    }

    /// The kNN lists of the features the next step reads (librlcc 1.3,
    /// `rlcc_refiner_set_knn`), for a trainer that computes them itself
    /// (faiss on a GPU, a [`KnnState`] across machines): `n x k1` row-major,
    /// `k1` of the refiner's [`PseudoOptions`]; Jaccard only. The library
    /// copies them, so the slice need not outlive the call. The next step that
    /// succeeds uses them and drops them (the step after it computes its own
    /// again); a step that fails or is cancelled keeps them. `None` drops lists
    /// set before.
    ///
    /// `knn.len() == n * k1` is checked here, before the library is called.
    /// The entries are checked by the step, as [`jaccard`] checks them: a bad
    /// list makes that step fail (code INVALID_ARGUMENT, the library's message)
    /// and leaves the refiner as it was. A refiner whose metric is not Jaccard
    /// refuses lists at once.
    ///
    /// ```
    /// let x: Vec<f32> = (0..60).flat_map(|i| {
    ///     let a = (i % 3) as f32 * 2.0 + i as f32 * 0.001;
    ///     vec![a.cos(), a.sin()]
    /// }).collect();
    /// let mut own = rlcc::Refiner::new(60, 2).unwrap();
    /// let mut given = rlcc::Refiner::new(60, 2).unwrap();
    /// let (lists, _) = rlcc::knn(&x, 60, 2, 30, 0).unwrap(); // k1 = 30: or faiss, or a KnnState
    /// given.set_knn(Some(&lists)).unwrap();
    /// assert_eq!(given.step_matrix(&x, 2).unwrap().labels, own.step_matrix(&x, 2).unwrap().labels);
    /// let e = given.set_knn(Some(&lists[1..])).unwrap_err();
    /// assert_eq!(e.message, "knn: 1799 values, expected 60 x 30");
    /// given.set_knn(None).unwrap(); // nothing set: the next step computes its own
    /// ```
    pub fn set_knn(&mut self, knn: Option<&[i64]>) -> Result<(), Error> {
        let lists = match knn {
            None => ptr::null(),
            Some(lists) => {
                // the library copies n x k1 entries of a k1 it does not check here
                if self.k1 < 1 {
                    return Err(invalid(&format!("knn: the refiner's k1 is {}; lists need k1 >= 1", self.k1)));
                }
                matrix_len("knn", lists.len(), self.n, self.k1 as usize)?;
                lists.as_ptr()
            }
        };
        check(unsafe { sys::rlcc_refiner_set_knn(self.handle, lists) })
    }

    /// Generations completed.
    ///
    /// ```
    /// let x: Vec<f32> = (0..60).flat_map(|i| {
    ///     let a = (i % 3) as f32 * 2.0 + i as f32 * 0.001;
    ///     vec![a.cos(), a.sin()]
    /// }).collect();
    /// let mut r = rlcc::Refiner::new(60, 2).unwrap();
    /// r.step_matrix(&x, 2).unwrap();
    /// assert_eq!(r.generation(), 1);
    /// ```
    pub fn generation(&self) -> i64 {
        unsafe { sys::rlcc_refiner_generation(self.handle) }
    }

    /// Classes of the latest generation.
    ///
    /// ```
    /// let x: Vec<f32> = (0..60).flat_map(|i| {
    ///     let a = (i % 3) as f32 * 2.0 + i as f32 * 0.001;
    ///     vec![a.cos(), a.sin()]
    /// }).collect();
    /// let mut r = rlcc::Refiner::new(60, 2).unwrap();
    /// r.step_matrix(&x, 2).unwrap();
    /// assert_eq!(r.n_classes(), 3);
    /// ```
    pub fn n_classes(&self) -> i64 {
        unsafe { sys::rlcc_refiner_n_classes(self.handle) }
    }

    /// The reliability threshold in use.
    ///
    /// ```
    /// let x: Vec<f32> = (0..60).flat_map(|i| {
    ///     let a = (i % 3) as f32 * 2.0 + i as f32 * 0.001;
    ///     vec![a.cos(), a.sin()]
    /// }).collect();
    /// let mut r = rlcc::Refiner::new(60, 2).unwrap();
    /// r.step_matrix(&x, 2).unwrap();
    /// assert!(r.threshold() >= 0.0 && r.threshold() <= 1.0);
    /// ```
    pub fn threshold(&self) -> f64 {
        unsafe { sys::rlcc_refiner_threshold(self.handle) }
    }

    /// The latest labels (`n`).
    ///
    /// ```
    /// let x: Vec<f32> = (0..60).flat_map(|i| {
    ///     let a = (i % 3) as f32 * 2.0 + i as f32 * 0.001;
    ///     vec![a.cos(), a.sin()]
    /// }).collect();
    /// let mut r = rlcc::Refiner::new(60, 2).unwrap();
    /// r.step_matrix(&x, 2).unwrap();
    /// let labels = r.labels().unwrap();
    /// assert_eq!(&labels[..3], &[0, 1, 2]);
    /// ```
    pub fn labels(&self) -> Result<Vec<i32>, Error> {
        let mut labels = vec![0i32; self.n];
        check(unsafe { sys::rlcc_refiner_labels(self.handle, labels.as_mut_ptr()) })?;
        Ok(labels)
    }

    /// The latest class centroids (`n_classes x d`, row-major).
    ///
    /// ```
    /// let x: Vec<f32> = (0..60).flat_map(|i| {
    ///     let a = (i % 3) as f32 * 2.0 + i as f32 * 0.001;
    ///     vec![a.cos(), a.sin()]
    /// }).collect();
    /// let mut r = rlcc::Refiner::new(60, 2).unwrap();
    /// r.step_matrix(&x, 2).unwrap();
    /// let c = r.centroids().unwrap(); // 3 classes x 2
    /// assert!((c[0] * c[0] + c[1] * c[1] - 1.0).abs() < 1e-5);
    /// ```
    pub fn centroids(&self) -> Result<Vec<f32>, Error> {
        let k = self.n_classes().max(0) as usize;
        let mut out = zeros("centroids", k, self.d)?;
        check(unsafe { sys::rlcc_refiner_centroids(self.handle, out.as_mut_ptr(), self.d.max(1) as i64) })?;
        Ok(out)
    }

    /// Training targets of the latest generation for the given samples
    /// (`rows.len() x n_classes`, row-major).
    ///
    /// ```
    /// let x: Vec<f32> = (0..60).flat_map(|i| {
    ///     let a = (i % 3) as f32 * 2.0 + i as f32 * 0.001;
    ///     vec![a.cos(), a.sin()]
    /// }).collect();
    /// let mut r = rlcc::Refiner::new(60, 2).unwrap();
    /// r.step_matrix(&x, 2).unwrap();
    /// let t = r.targets(&[4]).unwrap(); // generation 0: the hard label
    /// assert_eq!(t, vec![0.0, 1.0, 0.0]);
    /// ```
    pub fn targets(&self, rows: &[i64]) -> Result<Vec<f32>, Error> {
        self.targets_checked(Some(rows), None)
    }

    /// Training targets of every sample (`n x n_classes`).
    ///
    /// ```
    /// let x: Vec<f32> = (0..30).flat_map(|i| {
    ///     let a = (i % 3) as f32 * 2.0 + i as f32 * 0.001;
    ///     vec![a.cos(), a.sin()]
    /// }).collect();
    /// let pseudo = rlcc::PseudoOptions { k1: 10, k2: 2, ..Default::default() };
    /// let mut r = rlcc::Refiner::with_options(30, 2, &pseudo, &Default::default()).unwrap();
    /// r.step_matrix(&x, 2).unwrap();
    /// assert_eq!(r.targets_all().unwrap().len(), 30 * 3);
    /// ```
    pub fn targets_all(&self) -> Result<Vec<f32>, Error> {
        self.targets_checked(None, None)
    }

    /// Training targets with the call's options (librlcc 1.4,
    /// `rlcc_refiner_targets_opts`): `rows` `None` is every sample. The same
    /// values as [`targets`](Refiner::targets); `options.max_bytes` bounds
    /// the batch's working memory (its probabilities and gathered rows).
    ///
    /// ```
    /// let x: Vec<f32> = (0..60).flat_map(|i| {
    ///     let a = (i % 3) as f32 * 2.0 + i as f32 * 0.001;
    ///     vec![a.cos(), a.sin()]
    /// }).collect();
    /// let mut r = rlcc::Refiner::new(60, 2).unwrap();
    /// r.step_matrix(&x, 2).unwrap();
    /// r.step_matrix(&x, 2).unwrap();
    /// let options = rlcc::TargetsOptions { n_threads: 2, ..Default::default() };
    /// assert_eq!(r.targets_opts(Some(&[4, 7]), &options).unwrap(), r.targets(&[4, 7]).unwrap());
    /// let tiny = rlcc::TargetsOptions { max_bytes: 8, ..Default::default() };
    /// assert_eq!(r.targets_opts(None, &tiny).unwrap_err().code, rlcc::code::MEMORY_LIMIT);
    /// ```
    pub fn targets_opts(&self, rows: Option<&[i64]>, options: &TargetsOptions) -> Result<Vec<f32>, Error> {
        self.targets_checked(rows, Some(options))
    }

    /// One generation from pseudo labels, centroids and threshold the caller
    /// computed (librlcc 1.8, `rlcc_refiner_step_labels`), e.g. across
    /// machines: the consensus and targets of [`step_matrix`](Refiner::step_matrix)
    /// over features whose [`pseudo_labels`] (with `threshold` the
    /// refiner's from generation 1 on) and [`centroids`] these are, bit for
    /// bit, but no features are read or kept. `centroids` holds
    /// `n_classes x d` values. From the second step on (with `beta < 1`) the
    /// targets read the batch's rows: give them to
    /// [`targets_rows`](Refiner::targets_rows).
    ///
    /// ```
    /// let x: Vec<f32> = (0..60).flat_map(|i| {
    ///     let a = (i % 3) as f32 * 2.0 + i as f32 * 0.001;
    ///     vec![a.cos(), a.sin()]
    /// }).collect();
    /// let mut r = rlcc::Refiner::new(60, 2).unwrap();
    /// let p = rlcc::pseudo_labels(&x, 60, 2, &rlcc::PseudoOptions::default()).unwrap();
    /// let c = rlcc::centroids(&x, 60, 2, &p.labels, p.n_classes as usize).unwrap();
    /// let g = r.step_labels(&p.labels, p.n_classes as usize, &c, p.threshold,
    ///                       &rlcc::StepOptions::default()).unwrap();
    /// assert_eq!((g.generation, g.n_classes), (1, 3));
    /// let e = r.step_labels(&p.labels, 3, &c, 0.5, &rlcc::StepOptions::default()).unwrap_err();
    /// assert!(e.message.starts_with("threshold: 0.5 is not the refiner's"));
    /// ```
    pub fn step_labels(&mut self, labels: &[i32], n_classes: usize, centroids: &[f32], threshold: f64,
                       options: &StepOptions) -> Result<Generation, Error> {
        matrix_len("labels", labels.len(), self.n, 1)?;
        strided_len("centroids", centroids.len(), n_classes, self.d, self.d.max(1))?;
        let n_classes = to_i64("n_classes", n_classes)?;
        let o = options.raw()?;
        let rc = unsafe {
            sys::rlcc_refiner_step_labels(self.handle, labels.as_ptr(), n_classes, centroids.as_ptr(),
                                          self.d.max(1) as i64, threshold, &o)
        };
        self.finish_step(rc, None, false)
    }

    /// Training targets with the batch's features given by the caller
    /// (librlcc 1.8, `rlcc_refiner_targets_rows`): row `q` of `x` (stride
    /// `ld >= d`) holds the features of sample `rows[q]` as the latest step
    /// saw them. The same values as [`targets_opts`](Refiner::targets_opts)
    /// of a refiner that kept them; what a refiner stepped with
    /// [`step_labels`](Refiner::step_labels) needs. `x` is read only when
    /// the targets read features (generation >= 2, `beta < 1`, no logits);
    /// otherwise `None` is fine.
    ///
    /// ```
    /// let x: Vec<f32> = (0..60).flat_map(|i| {
    ///     let a = (i % 3) as f32 * 2.0 + i as f32 * 0.001;
    ///     vec![a.cos(), a.sin()]
    /// }).collect();
    /// let mut r = rlcc::Refiner::new(60, 2).unwrap();
    /// r.step_matrix(&x, 2).unwrap();
    /// r.step_matrix(&x, 2).unwrap();
    /// let batch = [x[8], x[9], x[14], x[15]]; // the rows of samples 4 and 7
    /// let o = rlcc::TargetsOptions::default();
    /// assert_eq!(r.targets_rows(&[4, 7], Some(&batch), 2, &o).unwrap(), r.targets(&[4, 7]).unwrap());
    /// ```
    pub fn targets_rows(&self, rows: &[i64], x: Option<&[f32]>, ld: usize, options: &TargetsOptions)
                        -> Result<Vec<f32>, Error> {
        if let Some(x) = x {
            strided_len("x", x.len(), rows.len(), self.d, ld)?;
        }
        let k = self.n_classes().max(0) as usize;
        let mut out = zeros("targets", rows.len(), k)?;
        let (x_ptr, ldx) = match x {
            Some(x) => (x.as_ptr(), ld as i64),
            None => (std::ptr::null(), self.d.max(1) as i64),
        };
        let o = options.raw();
        check(unsafe {
            sys::rlcc_refiner_targets_rows(self.handle, rows.as_ptr(), rows.len() as i64, x_ptr, ldx, &o,
                                           out.as_mut_ptr(), k.max(1) as i64)
        })?;
        Ok(out)
    }

    /// The targets, unless the last step borrowed a matrix this refiner no
    /// longer holds borrowed.
    fn targets_checked(&self, rows: Option<&[i64]>, options: Option<&TargetsOptions>) -> Result<Vec<f32>, Error> {
        if self.borrowed {
            return Err(invalid("refiner: the last step borrowed its features, and their Borrowed is gone \
                                (the matrix may be freed): take the targets through the Borrowed, or step again"));
        }
        self.targets_of(rows, options)
    }

    fn targets_of(&self, rows: Option<&[i64]>, options: Option<&TargetsOptions>) -> Result<Vec<f32>, Error> {
        let k = self.n_classes().max(0) as usize;
        let (rows_ptr, n_rows) = rows_arg(rows, self.n);
        let mut out = zeros("targets", n_rows, k)?;
        let rc = match options {
            None => unsafe {
                sys::rlcc_refiner_targets(self.handle, rows_ptr, n_rows as i64, out.as_mut_ptr(), k.max(1) as i64)
            },
            Some(options) => {
                let o = options.raw();
                unsafe {
                    sys::rlcc_refiner_targets_opts(self.handle, rows_ptr, n_rows as i64, &o, out.as_mut_ptr(),
                                                   k.max(1) as i64)
                }
            }
        };
        check(rc)?;
        Ok(out)
    }
}

/// The features a [`Refiner::step_borrowed`] left with the refiner, still
/// borrowed: while it lives, the matrix cannot be changed or freed, and its
/// target calls may read it. It holds the refiner borrowed too, so no other
/// step can run meanwhile; the refiner's read-only methods are reached
/// through it (`Deref<Target = Refiner>`).
///
/// Why a value and not a lifetime on `Refiner`: a `Refiner<'a>` would tie
/// every matrix it ever borrowed to the refiner's whole life, so a trainer
/// could not drop one epoch's features before the next epoch (the point of
/// borrowing). The library reads a borrowed matrix only in the targets
/// (`rlcc_refiner_targets*`, never in a later step or in
/// `rlcc_refiner_free`), so the borrow needs to last only as long as those
/// calls can be made on it: as long as this value. And since a value can be
/// leaked without its `Drop` running (`std::mem::forget`), safety does not
/// rest on `Drop`: the refiner is marked at the step, and its own target
/// calls refuse from then until a step succeeds; only this value's, which
/// hold `'x`, are allowed.
///
/// ```
/// let x: Vec<f32> = (0..60).flat_map(|i| {
///     let a = (i % 3) as f32 * 2.0 + i as f32 * 0.001;
///     vec![a.cos(), a.sin()]
/// }).collect();
/// let mut r = rlcc::Refiner::new(60, 2).unwrap();
/// r.step_matrix(&x, 2).unwrap();
/// let (_, borrowed) = r.step_borrowed(&x, 2).unwrap();
/// std::mem::forget(borrowed); // leaked: x may now be freed ...
/// assert!(r.targets(&[0]).is_err()); // ... so the refiner does not read it
/// assert_eq!(r.labels().unwrap().len(), 60); // what it owns is still there
/// ```
pub struct Borrowed<'r, 'x> {
    refiner: &'r Refiner,
    _features: PhantomData<&'x [f32]>,
}

impl<'r, 'x> Borrowed<'r, 'x> {
    /// [`Refiner::targets`], reading the borrowed features.
    ///
    /// ```
    /// let x: Vec<f32> = (0..60).flat_map(|i| {
    ///     let a = (i % 3) as f32 * 2.0 + i as f32 * 0.001;
    ///     vec![a.cos(), a.sin()]
    /// }).collect();
    /// let mut r = rlcc::Refiner::new(60, 2).unwrap();
    /// let (_, borrowed) = r.step_borrowed(&x, 2).unwrap();
    /// assert_eq!(borrowed.targets(&[4]).unwrap(), vec![0.0, 1.0, 0.0]); // generation 0: the hard label
    /// ```
    pub fn targets(&self, rows: &[i64]) -> Result<Vec<f32>, Error> {
        self.refiner.targets_of(Some(rows), None)
    }

    /// [`Refiner::targets_all`], reading the borrowed features.
    ///
    /// ```
    /// let x: Vec<f32> = (0..60).flat_map(|i| {
    ///     let a = (i % 3) as f32 * 2.0 + i as f32 * 0.001;
    ///     vec![a.cos(), a.sin()]
    /// }).collect();
    /// let mut r = rlcc::Refiner::new(60, 2).unwrap();
    /// let (g, borrowed) = r.step_borrowed(&x, 2).unwrap();
    /// assert_eq!(borrowed.targets_all().unwrap().len(), 60 * g.n_classes as usize);
    /// ```
    pub fn targets_all(&self) -> Result<Vec<f32>, Error> {
        self.refiner.targets_of(None, None)
    }

    /// [`Refiner::targets_opts`], reading the borrowed features.
    ///
    /// ```
    /// let x: Vec<f32> = (0..60).flat_map(|i| {
    ///     let a = (i % 3) as f32 * 2.0 + i as f32 * 0.001;
    ///     vec![a.cos(), a.sin()]
    /// }).collect();
    /// let mut r = rlcc::Refiner::new(60, 2).unwrap();
    /// r.step_matrix(&x, 2).unwrap();
    /// let (_, borrowed) = r.step_borrowed(&x, 2).unwrap();
    /// let t = borrowed.targets_opts(Some(&[1, 2]), &rlcc::TargetsOptions { n_threads: 1, ..Default::default() });
    /// assert_eq!(t.unwrap(), borrowed.targets(&[1, 2]).unwrap());
    /// ```
    pub fn targets_opts(&self, rows: Option<&[i64]>, options: &TargetsOptions) -> Result<Vec<f32>, Error> {
        self.refiner.targets_of(rows, Some(options))
    }
}

impl<'r, 'x> std::ops::Deref for Borrowed<'r, 'x> {
    type Target = Refiner;

    fn deref(&self) -> &Refiner {
        self.refiner
    }
}

impl fmt::Debug for Borrowed<'_, '_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "Borrowed {{ refiner: {:?} }}", self.refiner)
    }
}

impl fmt::Debug for Refiner {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "Refiner {{ n: {}, d: {}, generation: {} }}", self.n, self.d, self.generation())
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
    /// Bound on each call's memory, and for a [`Refiner`] its budget: what it
    /// holds between steps plus what a step allocates ([`Refiner::bytes`]);
    /// 0 = half of physical memory. Since 1.4 in this crate.
    pub max_bytes: i64,
    /// The pseudo-labeler (librlcc 1.4, `rlcc_pseudo_options.method`).
    pub method: PseudoMethod,
    /// [`PseudoMethod::Infomap`] (1.7): neighbours per list, self included
    /// (15); caller lists are then `n x infomap_k`.
    pub infomap_k: i32,
    /// [`PseudoMethod::Infomap`]: links while `1 - sim <= 1 - min_sim` (0.5).
    pub min_sim: f64,
    /// [`PseudoMethod::Infomap`]: clusters of at most this many members are
    /// outliers (4).
    pub cluster_num: i32,
    /// The search's seed: `None` is each method's own default (InfoMap 123,
    /// faiss's k-means 1234).
    pub seed: Option<u64>,
    /// [`PseudoMethod::Infomap`]: independent searches, the shortest wins (1).
    pub trials: i32,
    /// [`PseudoMethod::Kmeans`] (1.7): the number of clusters K (500).
    pub n_clusters: i64,
    /// [`PseudoMethod::Kmeans`]: Lloyd steps at most (300).
    pub max_iter: i32,
    /// [`PseudoMethod::Kmeans`]: the shift tolerance (0: until the labels repeat).
    pub tol: f64,
    /// [`PseudoMethod::Kmeans`]: faiss's max_points_per_centroid (256).
    pub max_points_per_centroid: i64,
    /// [`PseudoMethod::Kmeans`]: the caller's `K x d` start centroids
    /// (row-major), or `None` for faiss's start rows. Not for a [`Refiner`].
    pub init: Option<Vec<f32>>,
}

/// Pseudo-labelers of [`PseudoOptions::method`] (librlcc 1.4; InfoMap and
/// k-means since 1.7). Later releases add variants (the enum is
/// `non_exhaustive`, so a `match` on it needs a `_` arm).
///
/// ```
/// let o = rlcc::PseudoOptions { method: rlcc::PseudoMethod::Dbscan, ..Default::default() };
/// assert_eq!(o.method, rlcc::PseudoMethod::default());
/// ```
#[non_exhaustive]
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash)]
pub enum PseudoMethod {
    /// DBSCAN at one or three eps, outliers, reliability (`RLCC_PSEUDO_DBSCAN`).
    #[default]
    Dbscan,
    /// InfoMap on the kNN links, Cluster Contrast's (`RLCC_PSEUDO_INFOMAP`, 1.7).
    Infomap,
    /// k-means from faiss's start rows, OpenUnReID's (`RLCC_PSEUDO_KMEANS`, 1.7).
    Kmeans,
}

fn method_code(method: PseudoMethod) -> i32 {
    match method {
        PseudoMethod::Dbscan => sys::RLCC_PSEUDO_DBSCAN,
        PseudoMethod::Infomap => sys::RLCC_PSEUDO_INFOMAP,
        PseudoMethod::Kmeans => sys::RLCC_PSEUDO_KMEANS,
    }
}

impl Default for PseudoOptions {
    fn default() -> Self {
        PseudoOptions {
            eps: vec![0.58, 0.60, 0.62], min_samples: 4, metric: None, k1: 30, k2: 6, cutoff: 0.9,
            outliers: Outliers::Singleton, reliability: true, guard: true, threshold: None,
            normalize: false, n_threads: 0, max_bytes: 0, method: PseudoMethod::Dbscan,
            infomap_k: 15, min_sim: 0.5, cluster_num: 4, seed: None, trials: 1,
            n_clusters: 500, max_iter: 300, tol: 0.0, max_points_per_centroid: 256, init: None,
        }
    }
}

impl PseudoOptions {
    /// Cluster Contrast's InfoMap recipe (librlcc 1.7): k 15, min_sim 0.5,
    /// cluster_num 4, outliers kept as -1, no reliability criterion.
    ///
    /// ```
    /// let o = rlcc::PseudoOptions::infomap();
    /// assert_eq!((o.method, o.reliability), (rlcc::PseudoMethod::Infomap, false));
    /// ```
    pub fn infomap() -> Self {
        PseudoOptions { method: PseudoMethod::Infomap, reliability: false,
                        outliers: Outliers::Keep, ..Default::default() }
    }

    /// OpenUnReID's k-means recipe (librlcc 1.7) with `n_clusters` clusters:
    /// faiss's start rows (seed 1234), 300 steps, no reliability criterion.
    ///
    /// ```
    /// let o = rlcc::PseudoOptions::kmeans(500);
    /// assert_eq!((o.method, o.n_clusters), (rlcc::PseudoMethod::Kmeans, 500));
    /// ```
    pub fn kmeans(n_clusters: i64) -> Self {
        PseudoOptions { method: PseudoMethod::Kmeans, reliability: false, n_clusters,
                        ..Default::default() }
    }

    /// The width of the kNN lists the method reads: k1 (DBSCAN on the
    /// Jaccard distance), infomap_k (InfoMap).
    fn knn_width(&self) -> i32 {
        if self.method == PseudoMethod::Infomap { self.infomap_k } else { self.k1 }
    }

    fn raw(&self) -> Result<sys::rlcc_pseudo_options, Error> {
        if self.eps.len() != 1 && self.eps.len() != 3 {
            return Err(invalid("eps: give one value (a plain run) or three (tight, normal, loose)"));
        }
        let mut o = sys::rlcc_pseudo_options::default();
        unsafe { sys::rlcc_pseudo_options_init(&mut o, std::mem::size_of::<sys::rlcc_pseudo_options>()) };
        o.n_eps = self.eps.len() as i32;
        for (slot, e) in o.eps.iter_mut().zip(&self.eps) {
            *slot = *e;
        }
        o.min_samples = self.min_samples;
        o.metric = match self.metric { None => 2, Some(Metric::Euclidean) => 0, Some(Metric::Cosine) => 1 };
        o.k1 = self.k1;
        o.k2 = self.k2;
        o.cutoff = self.cutoff;
        o.outliers = match self.outliers { Outliers::Keep => 0, Outliers::Singleton => 1 };
        o.reliability = self.reliability as i32;
        o.guard = self.guard as i32;
        o.threshold = self.threshold.unwrap_or(-1.0);
        o.normalize = self.normalize as i32;
        o.n_threads = self.n_threads;
        o.max_bytes = self.max_bytes;
        o.method = method_code(self.method);
        o.infomap_k = self.infomap_k;
        o.infomap_min_sim = self.min_sim;
        o.infomap_cluster_num = self.cluster_num;
        o.infomap_trials = self.trials;
        o.kmeans_k = self.n_clusters;
        o.kmeans_max_iter = self.max_iter;
        o.kmeans_tol = self.tol;
        o.kmeans_max_points = self.max_points_per_centroid;
        if let Some(seed) = self.seed {
            o.infomap_seed = seed;
            o.kmeans_seed = seed;
        }
        Ok(o)
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
    pseudo_labels_of(x, n, d, None, options)
}

/// [`pseudo_labels`] on the caller's kNN lists (librlcc 1.3,
/// `rlcc_pseudo_options.knn`): `knn` holds the `n x k1` lists of the rows
/// (row-major, `k1` of `options`), e.g. from faiss on a GPU or from a
/// [`KnnState`] across machines, instead of the ones librlcc computes. Jaccard
/// only. The lists are read during the call only.
///
/// `knn.len() == n * k1` is checked before the library is called, so it
/// cannot read past the slice; the library checks the entries as
/// [`jaccard`] does (each in `[0, n)`, none twice in a row; the row itself
/// may be anywhere or absent) and refuses lists with any other metric. With
/// librlcc's own lists ([`knn`] with `k = k1`) the labels are those of
/// [`pseudo_labels`].
///
/// ```
/// // 60 unit vectors in three directions; the default k1 is 30
/// let x: Vec<f32> = (0..60).flat_map(|i| {
///     let a = (i % 3) as f32 * 2.0 + i as f32 * 0.001;
///     vec![a.cos(), a.sin()]
/// }).collect();
/// let options = rlcc::PseudoOptions::default();
/// let (lists, _) = rlcc::knn(&x, 60, 2, 30, 0).unwrap(); // or faiss, or a KnnState
/// let p = rlcc::pseudo_labels_with_knn(&x, 60, 2, &lists, &options).unwrap();
/// assert_eq!(p.labels, rlcc::pseudo_labels(&x, 60, 2, &options).unwrap().labels);
/// let e = rlcc::pseudo_labels_with_knn(&x, 60, 2, &lists[..30], &options).unwrap_err();
/// assert_eq!(e.message, "knn: 30 values, expected 60 x 30");
/// let mut bad = lists.clone();
/// bad[1] = 60;
/// let e = rlcc::pseudo_labels_with_knn(&x, 60, 2, &bad, &options).unwrap_err();
/// assert_eq!(e.message, "knn: entry 1 of row 0 is 60, outside [0, 60)");
/// ```
pub fn pseudo_labels_with_knn(x: &[f32], n: usize, d: usize, knn: &[i64],
                              options: &PseudoOptions) -> Result<PseudoLabels, Error> {
    pseudo_labels_of(x, n, d, Some(knn), options)
}

fn pseudo_labels_of(x: &[f32], n: usize, d: usize, knn: Option<&[i64]>,
                    options: &PseudoOptions) -> Result<PseudoLabels, Error> {
    matrix_len("x", x.len(), n, d)?;
    let mut o = options.raw()?;
    if let Some(lists) = knn {
        // a k1 below 1 expects no entries; the library refuses it before reading any
        matrix_len("knn", lists.len(), n, options.knn_width().max(0) as usize)?;
        o.knn = lists.as_ptr();
    }
    if let Some(init) = &options.init {
        // the library reads n_clusters x d values: check the slice holds them
        let k = usize::try_from(options.n_clusters)
            .map_err(|_| invalid(&format!("n_clusters: {} must be >= 1", options.n_clusters)))?;
        matrix_len("init", init.len(), k, d)?;
        o.kmeans_init = init.as_ptr();
    }
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
    let mut out = zeros("centroids", k, d)?;
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
    consensus_of(prev, cur, k_prev, k_cur, Kind::Iou, normalize)
}

/// `softmax(scale * x c^T)` row by row (`n x k`).
///
/// ```
/// let p = rlcc::class_probabilities(&[1.0f32, 0.0], 1, 2, &[1.0, 0.0, 0.0, 1.0], 2, 30.0).unwrap();
/// assert!(p[0] > 0.99);
/// ```
pub fn class_probabilities(x: &[f32], n: usize, d: usize, centroids: &[f32], k: usize, scale: f32) -> Result<Vec<f32>, Error> {
    probabilities_of(x, n, d, centroids, k, scale, None)
}

/// `rlcc_class_probabilities` for every sample (`rows` `None`) or a batch.
fn probabilities_of(x: &[f32], n: usize, d: usize, centroids: &[f32], k: usize, scale: f32,
                    rows: Option<&[i64]>) -> Result<Vec<f32>, Error> {
    matrix_len("x", x.len(), n, d)?;
    matrix_len("centroids", centroids.len(), k, d)?;
    let (rows_ptr, n_rows) = rows_arg(rows, n);
    let mut out = zeros("probs", n_rows, k)?;
    check(unsafe {
        sys::rlcc_class_probabilities(x.as_ptr(), n as i64, d as i64, d.max(1) as i64, centroids.as_ptr(),
                                      k as i64, d.max(1) as i64, scale, rows_ptr, n_rows as i64,
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
    // the dense matrix as CSR, which is what the library takes
    let mut indptr = vec![0i64];
    let (mut indices, mut data) = (Vec::new(), Vec::new());
    for row in chat.chunks(k_cur.max(1)).take(k_prev) {
        for (b, &v) in row.iter().enumerate() {
            if v != 0.0 {
                indices.push(b as i32);
                data.push(v);
            }
        }
        indptr.push(indices.len() as i64);
    }
    propagate_csr(prev, &Csr::try_from_parts(indptr, indices, data, k_cur)?, probs, w, beta, None)
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
    blend_rows(cur, Some(s), k_cur, alpha, None)
}

/// What a consensus matrix measures.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Kind {
    /// `|prev a & cur b| / |prev a | cur b|` (RLCC).
    Iou,
    /// The overlap count itself.
    Count,
}

fn kind_code(kind: Kind) -> i32 {
    match kind { Kind::Iou => 0, Kind::Count => 1 }
}

fn normalize_code(normalize: Normalize) -> i32 {
    match normalize { Normalize::None => 0, Normalize::Sum => 1, Normalize::Softmax => 2 }
}

/// Class counts of two labelings: the given ones, or max label + 1 for 0.
fn label_pair(prev: &[i32], cur: &[i32], k_prev: usize, k_cur: usize) -> Result<(i64, i64), Error> {
    if prev.len() != cur.len() {
        return Err(invalid("prev and cur: lengths differ"));
    }
    let max_of = |l: &[i32]| l.iter().copied().max().unwrap_or(-1).max(-1) as i64 + 1;
    let kp = if k_prev > 0 { to_i64("k_prev", k_prev)? } else { max_of(prev) };
    let kc = if k_cur > 0 { to_i64("k_cur", k_cur)? } else { max_of(cur) };
    Ok((kp, kc))
}

/// The exact overlap counts `counts[a * k_cur + b]` between two labelings
/// (-1 samples take no part); `k_prev` / `k_cur` 0 means max label + 1.
///
/// ```
/// let c = rlcc::consensus_counts(&[0, 0, 1, 1], &[0, 1, 1, -1], 0, 0).unwrap();
/// assert_eq!(c, vec![1, 1, 0, 1]);
/// ```
pub fn consensus_counts(prev: &[i32], cur: &[i32], k_prev: usize, k_cur: usize) -> Result<Vec<i64>, Error> {
    let (kp, kc) = label_pair(prev, cur, k_prev, k_cur)?;
    let mut out = zeros("counts", kp as usize, kc as usize)?;
    check(unsafe {
        sys::rlcc_consensus_counts(prev.as_ptr(), cur.as_ptr(), prev.len() as i64, kp, kc,
                                   out.as_mut_ptr(), kc.max(1))
    })?;
    Ok(out)
}

/// [`consensus`] of either kind: IoU or overlap counts, as float32, row-normalised.
///
/// ```
/// use rlcc::{Kind, Normalize};
/// let c = rlcc::consensus_of(&[0, 0, 1], &[0, 1, 1], 0, 0, Kind::Count, Normalize::Sum).unwrap();
/// assert_eq!(c, vec![0.5, 0.5, 0.0, 1.0]);
/// ```
pub fn consensus_of(prev: &[i32], cur: &[i32], k_prev: usize, k_cur: usize, kind: Kind,
                    normalize: Normalize) -> Result<Vec<f32>, Error> {
    let (kp, kc) = label_pair(prev, cur, k_prev, k_cur)?;
    let mut out = zeros("consensus", kp as usize, kc as usize)?;
    check(unsafe {
        sys::rlcc_consensus(prev.as_ptr(), cur.as_ptr(), prev.len() as i64, kp, kc, kind_code(kind),
                            normalize_code(normalize), out.as_mut_ptr(), kc.max(1))
    })?;
    Ok(out)
}

/// The consensus matrix as a library-owned sparse `k_prev x k_cur` matrix
/// (at most `prev.len()` entries, never `k_prev x k_cur`); `normalize` may
/// not be `Softmax`.
///
/// ```
/// use rlcc::{Kind, Normalize};
/// let c = rlcc::consensus_csr(&[0, 0, 1, 1], &[0, 0, 0, 1], 0, 0, Kind::Iou, Normalize::Sum).unwrap();
/// assert_eq!((c.rows(), c.cols()), (2, 2));
/// assert_eq!(c.indptr(), &[0, 1, 3]);
/// ```
pub fn consensus_csr(prev: &[i32], cur: &[i32], k_prev: usize, k_cur: usize, kind: Kind,
                     normalize: Normalize) -> Result<Csr, Error> {
    let (kp, kc) = label_pair(prev, cur, k_prev, k_cur)?;
    let mut handle = ptr::null_mut();
    check(unsafe {
        sys::rlcc_consensus_csr(prev.as_ptr(), cur.as_ptr(), prev.len() as i64, kp, kc, kind_code(kind),
                                normalize_code(normalize), &mut handle)
    })?;
    Ok(Csr::library_owned(handle))
}

/// The C form of an optional sample list: NULL (every sample, n rows) or the list.
fn rows_arg(rows: Option<&[i64]>, n: usize) -> (*const i64, usize) {
    const EMPTY: [i64; 1] = [0];
    match rows {
        None => (ptr::null(), n),
        Some([]) => (EMPTY.as_ptr(), 0), // an empty batch, not "every sample"
        Some(list) => (list.as_ptr(), list.len()),
    }
}

/// [`class_probabilities`] for the samples in `rows` only (`rows.len() x k`):
/// one mini-batch, without an `n x k` matrix.
///
/// ```
/// let x = [1.0f32, 0.0, 0.0, 1.0];
/// let p = rlcc::class_probabilities_rows(&x, 2, 2, &[1.0, 0.0, 0.0, 1.0], 2, 30.0, &[1]).unwrap();
/// assert!(p[1] > 0.99);
/// ```
pub fn class_probabilities_rows(x: &[f32], n: usize, d: usize, centroids: &[f32], k: usize, scale: f32,
                                rows: &[i64]) -> Result<Vec<f32>, Error> {
    probabilities_of(x, n, d, centroids, k, scale, Some(rows))
}

/// [`propagate`] through a sparse consensus matrix (e.g. from
/// [`consensus_csr`]), for every sample (`rows` `None`) or a batch.
/// `probs` holds one row of `chat.rows()` values per output row.
///
/// ```
/// use rlcc::{Kind, Normalize};
/// let prev = [0, 0, 1, 1];
/// let chat = rlcc::consensus_csr(&prev, &[0, 0, 0, 1], 0, 0, Kind::Iou, Normalize::Sum).unwrap();
/// let s = rlcc::propagate_csr(&prev, &chat, None, 0.0, 1.0, Some(&[3])).unwrap(); // hard, one sample
/// assert_eq!(s.len(), 2);
/// assert!((s[0] + s[1] - 1.0).abs() < 1e-6);
/// ```
pub fn propagate_csr(prev: &[i32], chat: &Csr, probs: Option<&[f32]>, w: f32, beta: f32,
                     rows: Option<&[i64]>) -> Result<Vec<f32>, Error> {
    let (k_prev, k_cur) = (chat.rows(), chat.cols());
    let (rows_ptr, n_rows) = rows_arg(rows, prev.len());
    if let Some(p) = probs {
        matrix_len("probs", p.len(), n_rows, k_prev)?;
    }
    let mut out = zeros("out", n_rows, k_cur)?;
    check(unsafe {
        sys::rlcc_propagate(prev.as_ptr(), prev.len() as i64, chat.indptr().as_ptr(), chat.indices().as_ptr(),
                            chat.data().as_ptr(), k_prev as i64, k_cur as i64,
                            probs.map_or(ptr::null(), |p| p.as_ptr()), k_prev.max(1) as i64, w, beta,
                            rows_ptr, n_rows as i64, out.as_mut_ptr(), k_cur.max(1) as i64)
    })?;
    Ok(out)
}

/// [`blend`] for every sample (`rows` `None`) or a batch; `s` `None` means
/// S = 0 (generation 0: `alpha * onehot`).
///
/// ```
/// let t = rlcc::blend_rows(&[1, 0], None, 2, 1.0, Some(&[1])).unwrap();
/// assert_eq!(t, vec![1.0, 0.0]);
/// ```
pub fn blend_rows(cur: &[i32], s: Option<&[f32]>, k_cur: usize, alpha: f32, rows: Option<&[i64]>) -> Result<Vec<f32>, Error> {
    let (rows_ptr, n_rows) = rows_arg(rows, cur.len());
    if let Some(values) = s {
        matrix_len("s", values.len(), n_rows, k_cur)?;
    }
    let mut out = zeros("out", n_rows, k_cur)?;
    check(unsafe {
        sys::rlcc_blend(cur.as_ptr(), cur.len() as i64, k_cur as i64, s.map_or(ptr::null(), |v| v.as_ptr()),
                        k_cur.max(1) as i64, alpha, rows_ptr, n_rows as i64, out.as_mut_ptr(),
                        k_cur.max(1) as i64)
    })?;
    Ok(out)
}

// ------------------------------------------------------------------------
// librlcc 1.4: the options twins of the 1.2 functions (threads, a memory
// bound), the refiner's step and targets options
// ------------------------------------------------------------------------

fn kind_of(code: i32) -> Kind {
    if code == 1 { Kind::Count } else { Kind::Iou }
}

fn normalize_of(code: i32) -> Normalize {
    match code { 0 => Normalize::None, 2 => Normalize::Softmax, _ => Normalize::Sum }
}

/// Options of [`centroids_opts`] (`rlcc_centroid_options`, librlcc 1.4). The
/// default is the library's: every OpenMP thread, half of physical memory.
///
/// ```
/// let o = rlcc::CentroidOptions::default();
/// assert_eq!((o.n_threads, o.max_bytes), (0, 0));
/// ```
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct CentroidOptions {
    /// 0 = all OpenMP threads; the centroids never depend on it.
    pub n_threads: i32,
    /// Bound on the call's working memory (`n` doubles and `k` int64); 0 =
    /// half of physical memory.
    pub max_bytes: i64,
}

impl Default for CentroidOptions {
    fn default() -> Self {
        let o: sys::rlcc_centroid_options = initialized(sys::rlcc_centroid_options_init);
        CentroidOptions { n_threads: o.n_threads, max_bytes: o.max_bytes }
    }
}

impl CentroidOptions {
    fn raw(&self) -> sys::rlcc_centroid_options {
        let mut o: sys::rlcc_centroid_options = initialized(sys::rlcc_centroid_options_init);
        o.n_threads = self.n_threads;
        o.max_bytes = self.max_bytes;
        o
    }
}

/// Options of the consensus functions' twins (`rlcc_consensus_options`,
/// librlcc 1.4): the default is the library's, IoU normalised by row sums
/// (RLCC's choice), every thread, half of physical memory.
///
/// ```
/// use rlcc::{ConsensusOptions, Kind, Normalize};
/// let o = ConsensusOptions::default();
/// assert_eq!((o.kind, o.normalize), (Kind::Iou, Normalize::Sum));
/// ```
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct ConsensusOptions {
    /// What the matrix measures; unused by [`consensus_counts_opts`].
    pub kind: Kind,
    /// Row normalisation (`Softmax`: dense output only); unused by
    /// [`consensus_counts_opts`].
    pub normalize: Normalize,
    /// 0 = all OpenMP threads. The consensus runs on the calling thread in
    /// librlcc 1.4 (one sort of `n` keys); the field is there for a release
    /// that parallelises it.
    pub n_threads: i32,
    /// Bound on the call's working memory (about `8 n + 8 (k_prev + k_cur)`
    /// bytes, and a CSR result while it is built); 0 = half of physical memory.
    pub max_bytes: i64,
}

impl Default for ConsensusOptions {
    fn default() -> Self {
        let o: sys::rlcc_consensus_options = initialized(sys::rlcc_consensus_options_init);
        ConsensusOptions { kind: kind_of(o.kind), normalize: normalize_of(o.normalize), n_threads: o.n_threads,
                           max_bytes: o.max_bytes }
    }
}

impl ConsensusOptions {
    fn raw(&self) -> sys::rlcc_consensus_options {
        let mut o: sys::rlcc_consensus_options = initialized(sys::rlcc_consensus_options_init);
        o.kind = kind_code(self.kind);
        o.normalize = normalize_code(self.normalize);
        o.n_threads = self.n_threads;
        o.max_bytes = self.max_bytes;
        o
    }
}

/// Options of [`class_probabilities_opts`] (`rlcc_probability_options`,
/// librlcc 1.4): the default is RLCC's scale 30, every thread, half of
/// physical memory.
///
/// ```
/// assert_eq!(rlcc::ProbabilityOptions::default().scale, 30.0);
/// ```
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct ProbabilityOptions {
    /// Softmax scale, > 0 and finite.
    pub scale: f32,
    /// 0 = all OpenMP threads (the softmax rows and the row checks; OpenBLAS's
    /// SGEMM keeps its own threads). The values never depend on it.
    pub n_threads: i32,
    /// Bound on the call's working memory (the batch's rows gathered, when
    /// `rows` is given); 0 = half of physical memory.
    pub max_bytes: i64,
}

impl Default for ProbabilityOptions {
    fn default() -> Self {
        let o: sys::rlcc_probability_options = initialized(sys::rlcc_probability_options_init);
        ProbabilityOptions { scale: o.scale, n_threads: o.n_threads, max_bytes: o.max_bytes }
    }
}

impl ProbabilityOptions {
    fn raw(&self) -> sys::rlcc_probability_options {
        let mut o: sys::rlcc_probability_options = initialized(sys::rlcc_probability_options_init);
        o.scale = self.scale;
        o.n_threads = self.n_threads;
        o.max_bytes = self.max_bytes;
        o
    }
}

/// Options of [`propagate_opts`] (`rlcc_propagate_options`, librlcc 1.4):
/// the default is the library's, `w` 0.9 and `beta` 0 (soft propagation
/// only).
///
/// ```
/// let o = rlcc::PropagateOptions::default();
/// assert_eq!((o.w, o.beta), (0.9, 0.0));
/// ```
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct PropagateOptions {
    /// Weight of the previous hard label in P', in `[0, 1]`.
    pub w: f32,
    /// Share of hard propagation, in `[0, 1]`.
    pub beta: f32,
    /// 0 = all OpenMP threads; rows are independent, so the values never
    /// depend on it.
    pub n_threads: i32,
    /// Bound on the call's working memory (propagation allocates nothing in
    /// librlcc 1.4); 0 = half of physical memory.
    pub max_bytes: i64,
}

impl Default for PropagateOptions {
    fn default() -> Self {
        let o: sys::rlcc_propagate_options = initialized(sys::rlcc_propagate_options_init);
        PropagateOptions { w: o.w, beta: o.beta, n_threads: o.n_threads, max_bytes: o.max_bytes }
    }
}

impl PropagateOptions {
    fn raw(&self) -> sys::rlcc_propagate_options {
        let mut o: sys::rlcc_propagate_options = initialized(sys::rlcc_propagate_options_init);
        o.w = self.w;
        o.beta = self.beta;
        o.n_threads = self.n_threads;
        o.max_bytes = self.max_bytes;
        o
    }
}

/// Options of [`blend_opts`] (`rlcc_blend_options`, librlcc 1.4): the
/// default is the library's, `alpha` 0.9.
///
/// ```
/// assert_eq!(rlcc::BlendOptions::default().alpha, 0.9);
/// ```
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct BlendOptions {
    /// Momentum of the current hard label, in `[0, 1]`.
    pub alpha: f32,
    /// 0 = all OpenMP threads; the values never depend on it.
    pub n_threads: i32,
    /// Bound on the call's working memory (blending allocates nothing in
    /// librlcc 1.4); 0 = half of physical memory.
    pub max_bytes: i64,
}

impl Default for BlendOptions {
    fn default() -> Self {
        let o: sys::rlcc_blend_options = initialized(sys::rlcc_blend_options_init);
        BlendOptions { alpha: o.alpha, n_threads: o.n_threads, max_bytes: o.max_bytes }
    }
}

impl BlendOptions {
    fn raw(&self) -> sys::rlcc_blend_options {
        let mut o: sys::rlcc_blend_options = initialized(sys::rlcc_blend_options_init);
        o.alpha = self.alpha;
        o.n_threads = self.n_threads;
        o.max_bytes = self.max_bytes;
        o
    }
}

/// Options of a refiner step (`rlcc_step_options`, librlcc 1.4) for
/// [`Refiner::step_opts`], [`step_matrix_with`](Refiner::step_matrix_with)
/// and [`step_borrowed_with`](Refiner::step_borrowed_with); the closures are
/// those methods' arguments, and borrowing is `step_borrowed`'s. The default
/// is the library's: batches of 1024 rows, the refiner's threads and budget.
///
/// ```
/// let o = rlcc::StepOptions::default();
/// assert_eq!((o.batch, o.n_threads, o.max_bytes), (1024, 0, 0));
/// ```
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct StepOptions {
    /// Rows per features or logits closure call, >= 1.
    pub batch: usize,
    /// 0 = the refiner's ([`PseudoOptions::n_threads`]). The generation never
    /// depends on it.
    pub n_threads: i32,
    /// Bound on what the refiner holds plus what the step allocates while it
    /// runs; 0 = the refiner's budget ([`PseudoOptions::max_bytes`]).
    pub max_bytes: i64,
}

impl Default for StepOptions {
    fn default() -> Self {
        let o: sys::rlcc_step_options = initialized(sys::rlcc_step_options_init);
        StepOptions { batch: o.batch.max(0) as usize, n_threads: o.n_threads, max_bytes: o.max_bytes }
    }
}

impl StepOptions {
    fn raw(&self) -> Result<sys::rlcc_step_options, Error> {
        let mut o: sys::rlcc_step_options = initialized(sys::rlcc_step_options_init);
        o.batch = to_i64("batch", self.batch)?;
        o.n_threads = self.n_threads;
        o.max_bytes = self.max_bytes;
        Ok(o)
    }
}

/// Options of [`Refiner::targets_opts`] (`rlcc_targets_options`, librlcc
/// 1.4). The default: the refiner's threads, half of physical memory.
///
/// ```
/// let o = rlcc::TargetsOptions::default();
/// assert_eq!((o.n_threads, o.max_bytes), (0, 0));
/// ```
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct TargetsOptions {
    /// 0 = the refiner's ([`PseudoOptions::n_threads`]).
    pub n_threads: i32,
    /// Bound on the call's working memory: the batch's probabilities and,
    /// without logits, its rows gathered; 0 = half of physical memory.
    pub max_bytes: i64,
}

impl Default for TargetsOptions {
    fn default() -> Self {
        let o: sys::rlcc_targets_options = initialized(sys::rlcc_targets_options_init);
        TargetsOptions { n_threads: o.n_threads, max_bytes: o.max_bytes }
    }
}

impl TargetsOptions {
    fn raw(&self) -> sys::rlcc_targets_options {
        let mut o: sys::rlcc_targets_options = initialized(sys::rlcc_targets_options_init);
        o.n_threads = self.n_threads;
        o.max_bytes = self.max_bytes;
        o
    }
}

/// [`centroids`] with options (librlcc 1.4, `rlcc_centroids_opts`): the
/// same bytes for every `n_threads`.
///
/// ```
/// let x = [2.0f32, 0.0, 4.0, 0.0, 0.0, 3.0];
/// let o = rlcc::CentroidOptions { n_threads: 2, ..Default::default() };
/// assert_eq!(rlcc::centroids_opts(&x, 3, 2, &[0, 0, 1], 2, &o).unwrap(), vec![1.0, 0.0, 0.0, 1.0]);
/// let tiny = rlcc::CentroidOptions { max_bytes: 8, ..o };
/// let e = rlcc::centroids_opts(&x, 3, 2, &[0, 0, 1], 2, &tiny).unwrap_err();
/// assert_eq!(e.code, rlcc::code::MEMORY_LIMIT);
/// ```
pub fn centroids_opts(x: &[f32], n: usize, d: usize, labels: &[i32], k: usize,
                      options: &CentroidOptions) -> Result<Vec<f32>, Error> {
    matrix_len("x", x.len(), n, d)?;
    matrix_len("labels", labels.len(), n, 1)?;
    let mut out = zeros("centroids", k, d)?;
    let o = options.raw();
    check(unsafe {
        sys::rlcc_centroids_opts(x.as_ptr(), to_i64("n", n)?, d as i64, d.max(1) as i64, labels.as_ptr(),
                                 to_i64("k", k)?, &o, out.as_mut_ptr(), d.max(1) as i64)
    })?;
    Ok(out)
}

/// [`consensus_counts`] with options (librlcc 1.4,
/// `rlcc_consensus_counts_opts`; `kind` and `normalize` are unused).
///
/// ```
/// let o = rlcc::ConsensusOptions::default();
/// let c = rlcc::consensus_counts_opts(&[0, 0, 1, 1], &[0, 1, 1, -1], 0, 0, &o).unwrap();
/// assert_eq!(c, vec![1, 1, 0, 1]);
/// ```
pub fn consensus_counts_opts(prev: &[i32], cur: &[i32], k_prev: usize, k_cur: usize,
                             options: &ConsensusOptions) -> Result<Vec<i64>, Error> {
    let (kp, kc) = label_pair(prev, cur, k_prev, k_cur)?;
    let mut out = zeros("counts", kp as usize, kc as usize)?;
    let o = options.raw();
    check(unsafe {
        sys::rlcc_consensus_counts_opts(prev.as_ptr(), cur.as_ptr(), prev.len() as i64, kp, kc, &o,
                                        out.as_mut_ptr(), kc.max(1))
    })?;
    Ok(out)
}

/// The dense consensus matrix with its kind and normalisation in the
/// options (librlcc 1.4, `rlcc_consensus_opts`): [`consensus_of`]'s bytes.
///
/// ```
/// use rlcc::{ConsensusOptions, Kind, Normalize};
/// let o = ConsensusOptions { kind: Kind::Count, normalize: Normalize::Sum, ..Default::default() };
/// let c = rlcc::consensus_opts(&[0, 0, 1], &[0, 1, 1], 0, 0, &o).unwrap();
/// assert_eq!(c, vec![0.5, 0.5, 0.0, 1.0]);
/// ```
pub fn consensus_opts(prev: &[i32], cur: &[i32], k_prev: usize, k_cur: usize,
                      options: &ConsensusOptions) -> Result<Vec<f32>, Error> {
    let (kp, kc) = label_pair(prev, cur, k_prev, k_cur)?;
    let mut out = zeros("consensus", kp as usize, kc as usize)?;
    let o = options.raw();
    check(unsafe {
        sys::rlcc_consensus_opts(prev.as_ptr(), cur.as_ptr(), prev.len() as i64, kp, kc, &o, out.as_mut_ptr(),
                                 kc.max(1))
    })?;
    Ok(out)
}

/// The sparse consensus matrix with options (librlcc 1.4,
/// `rlcc_consensus_csr_opts`): [`consensus_csr`]'s matrix.
///
/// ```
/// let o = rlcc::ConsensusOptions { max_bytes: 1 << 20, ..Default::default() };
/// let c = rlcc::consensus_csr_opts(&[0, 0, 1, 1], &[0, 0, 0, 1], 0, 0, &o).unwrap();
/// assert_eq!((c.rows(), c.cols()), (2, 2));
/// assert_eq!(c.indptr(), &[0, 1, 3]);
/// ```
pub fn consensus_csr_opts(prev: &[i32], cur: &[i32], k_prev: usize, k_cur: usize,
                          options: &ConsensusOptions) -> Result<Csr, Error> {
    let (kp, kc) = label_pair(prev, cur, k_prev, k_cur)?;
    let o = options.raw();
    let mut handle = ptr::null_mut();
    check(unsafe {
        sys::rlcc_consensus_csr_opts(prev.as_ptr(), cur.as_ptr(), prev.len() as i64, kp, kc, &o, &mut handle)
    })?;
    Ok(Csr::library_owned(handle))
}

/// Class probabilities with options (librlcc 1.4,
/// `rlcc_class_probabilities_opts`) for every sample (`rows` `None`) or a
/// batch: [`class_probabilities_rows`]'s bytes, and only the listed rows are
/// read (and checked for NaN/Inf).
///
/// ```
/// let x = [1.0f32, 0.0, 0.0, 1.0];
/// let o = rlcc::ProbabilityOptions { n_threads: 1, ..Default::default() };
/// let p = rlcc::class_probabilities_opts(&x, 2, 2, &[1.0, 0.0, 0.0, 1.0], 2, Some(&[1]), &o).unwrap();
/// assert!(p[1] > 0.99);
/// ```
pub fn class_probabilities_opts(x: &[f32], n: usize, d: usize, centroids: &[f32], k: usize,
                                rows: Option<&[i64]>, options: &ProbabilityOptions) -> Result<Vec<f32>, Error> {
    matrix_len("x", x.len(), n, d)?;
    matrix_len("centroids", centroids.len(), k, d)?;
    let (rows_ptr, n_rows) = rows_arg(rows, n);
    let mut out = zeros("probs", n_rows, k)?;
    let o = options.raw();
    check(unsafe {
        sys::rlcc_class_probabilities_opts(x.as_ptr(), to_i64("n", n)?, d as i64, d.max(1) as i64,
                                           centroids.as_ptr(), to_i64("k", k)?, d.max(1) as i64, rows_ptr,
                                           n_rows as i64, &o, out.as_mut_ptr(), k.max(1) as i64)
    })?;
    Ok(out)
}

/// Propagation with `w`, `beta` and threads in the options (librlcc 1.4,
/// `rlcc_propagate_opts`): [`propagate_csr`]'s bytes.
///
/// ```
/// use rlcc::{Kind, Normalize};
/// let prev = [0, 0, 1, 1];
/// let chat = rlcc::consensus_csr(&prev, &[0, 0, 0, 1], 0, 0, Kind::Iou, Normalize::Sum).unwrap();
/// let hard = rlcc::PropagateOptions { beta: 1.0, ..Default::default() };
/// let s = rlcc::propagate_opts(&prev, &chat, None, Some(&[3]), &hard).unwrap();
/// assert_eq!(s, rlcc::propagate_csr(&prev, &chat, None, 0.9, 1.0, Some(&[3])).unwrap());
/// ```
pub fn propagate_opts(prev: &[i32], chat: &Csr, probs: Option<&[f32]>, rows: Option<&[i64]>,
                      options: &PropagateOptions) -> Result<Vec<f32>, Error> {
    let (k_prev, k_cur) = (chat.rows(), chat.cols());
    let (rows_ptr, n_rows) = rows_arg(rows, prev.len());
    if let Some(p) = probs {
        matrix_len("probs", p.len(), n_rows, k_prev)?;
    }
    let mut out = zeros("out", n_rows, k_cur)?;
    let o = options.raw();
    check(unsafe {
        sys::rlcc_propagate_opts(prev.as_ptr(), prev.len() as i64, chat.indptr().as_ptr(), chat.indices().as_ptr(),
                                 chat.data().as_ptr(), to_i64("k_prev", k_prev)?, to_i64("k_cur", k_cur)?,
                                 probs.map_or(ptr::null(), |p| p.as_ptr()), k_prev.max(1) as i64, rows_ptr,
                                 n_rows as i64, &o, out.as_mut_ptr(), k_cur.max(1) as i64)
    })?;
    Ok(out)
}

/// Blending with `alpha` and threads in the options (librlcc 1.4,
/// `rlcc_blend_opts`): [`blend_rows`]'s bytes.
///
/// ```
/// let o = rlcc::BlendOptions { alpha: 1.0, ..Default::default() };
/// assert_eq!(rlcc::blend_opts(&[1, 0], None, 2, Some(&[1]), &o).unwrap(), vec![1.0, 0.0]);
/// ```
pub fn blend_opts(cur: &[i32], s: Option<&[f32]>, k_cur: usize, rows: Option<&[i64]>,
                  options: &BlendOptions) -> Result<Vec<f32>, Error> {
    let (rows_ptr, n_rows) = rows_arg(rows, cur.len());
    if let Some(values) = s {
        matrix_len("s", values.len(), n_rows, k_cur)?;
    }
    let mut out = zeros("out", n_rows, k_cur)?;
    let o = options.raw();
    check(unsafe {
        sys::rlcc_blend_opts(cur.as_ptr(), cur.len() as i64, to_i64("k_cur", k_cur)?,
                             s.map_or(ptr::null(), |v| v.as_ptr()), k_cur.max(1) as i64, rows_ptr, n_rows as i64,
                             &o, out.as_mut_ptr(), k_cur.max(1) as i64)
    })?;
    Ok(out)
}
