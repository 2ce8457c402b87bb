//! k-means pseudo labels (librlcc 1.7, issue #15 item 3): [`kmeans`], Lloyd
//! with scikit-learn's semantics decided in double, and
//! [`kmeans_init_faiss`], faiss's start rows (OpenUnReID's generator).

use crate::{check, initialized, invalid, matrix_len, sys, to_i64, zeros, Error};

/// Options of [`kmeans`]. The default is the library's (scikit-learn's):
/// 300 steps, `tol` 1e-4, every OpenMP thread, half the machine's memory.
///
/// ```
/// let o = rlcc::KmeansOptions::default();
/// assert_eq!((o.max_iter, o.tol), (300, 1e-4));
/// ```
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct KmeansOptions {
    /// At most this many Lloyd steps (>= 1).
    pub max_iter: i32,
    /// Stop when the summed squared centroid shift is <= tol x the mean
    /// per-feature variance of x; 0: only a repeat of the labels (or of
    /// every centroid) stops before `max_iter`.
    pub tol: f64,
    /// Threads; 0 = all OpenMP threads. The result never depends on it.
    pub n_threads: i32,
    /// Working-memory bound in bytes (a Gram tile, never n x k unless it
    /// fits one); 0 = half of physical memory.
    pub max_bytes: i64,
}

impl Default for KmeansOptions {
    fn default() -> Self {
        let o: sys::rlcc_kmeans_options = initialized(sys::rlcc_kmeans_options_init);
        KmeansOptions { max_iter: o.max_iter, tol: o.tol, n_threads: o.n_threads, max_bytes: o.max_bytes }
    }
}

impl KmeansOptions {
    fn raw(&self) -> sys::rlcc_kmeans_options {
        let mut o: sys::rlcc_kmeans_options = initialized(sys::rlcc_kmeans_options_init);
        o.max_iter = self.max_iter;
        o.tol = self.tol;
        o.n_threads = self.n_threads;
        o.max_bytes = self.max_bytes;
        o
    }
}

/// Result of [`kmeans`].
#[derive(Clone, Debug, PartialEq)]
pub struct Kmeans {
    /// `n` labels in `[0, k)`.
    pub labels: Vec<i32>,
    /// `k x d` row-major float32 centroids.
    pub centroids: Vec<f32>,
    /// The steps run, as scikit-learn's `n_iter_`.
    pub n_iter: i64,
}

/// Lloyd's k-means of the `n x d` rows `x` from the `k x d` start
/// centroids `init` (`k = init.len() / d`), as scikit-learn's
/// `KMeans(algorithm="lloyd", n_init=1, init=init)`: every row to the
/// nearest centroid by the squared distance in double (ties to the lowest
/// index), centroids the double mean of their members rounded to float32,
/// an empty cluster takes the row farthest from its centroid. The same
/// bits for every BLAS kernel, thread count and budget.
///
/// ```
/// let x = [0.0f32, 1.0, 10.0, 11.0]; // four rows, d = 1
/// let r = rlcc::kmeans(&x, 4, 1, &[0.0, 10.0], &Default::default()).unwrap();
/// assert_eq!(r.labels, vec![0, 0, 1, 1]);
/// assert_eq!(r.centroids, vec![0.5, 10.5]);
/// assert_eq!(r.n_iter, 2);
/// let e = rlcc::kmeans(&x, 4, 1, &[0.0; 5], &Default::default()).unwrap_err();
/// assert_eq!(e.message, "k: 5 exceeds the 4 rows");
/// ```
pub fn kmeans(x: &[f32], n: usize, d: usize, init: &[f32], options: &KmeansOptions) -> Result<Kmeans, Error> {
    matrix_len("x", x.len(), n, d)?;
    if d > 0 && init.len() % d != 0 {
        return Err(invalid(&format!("init: {} values are not rows of d = {}", init.len(), d)));
    }
    let k = init.len().checked_div(d).unwrap_or(0); // d = 0: the library refuses x
    // a k the library refuses (outside [1, n]) gets no output: it is refused before any is written
    let ok = (1..=n).contains(&k);
    let mut labels = zeros::<i32>("labels", if ok { n } else { 0 }, 1)?;
    let mut centroids = zeros::<f32>("centroids", if ok { k } else { 0 }, d)?;
    let mut n_iter = 0i64;
    let o = options.raw();
    let ld = d.max(1) as i64;
    check(unsafe {
        sys::rlcc_kmeans(x.as_ptr(), n as i64, d as i64, ld, init.as_ptr(), to_i64("k", k)?, ld, &o,
                         centroids.as_mut_ptr(), ld, labels.as_mut_ptr(), &mut n_iter)
    })?;
    Ok(Kmeans { labels, centroids, n_iter })
}

/// faiss's k-means start (faiss 1.6 to 1.7), from [`kmeans_init_faiss`].
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct FaissStart {
    /// The `k` start rows (indices into the `n` rows).
    pub start_rows: Vec<i64>,
    /// faiss's training rows, in its order: the first
    /// `max_points_per_centroid x k` of `rand_perm(n, seed)` when `n` is
    /// larger, else every row.
    pub train_rows: Vec<i64>,
}

/// The rows `faiss.Kmeans(d, k, seed=seed, max_points_per_centroid=m)`
/// starts from on `n` rows: the training rows at
/// `rand_perm(n_train, seed + 1)[..k]` (Fisher-Yates with std::mt19937;
/// faiss copies the first `k` rows when `n_train == k`).
///
/// ```
/// let s = rlcc::kmeans_init_faiss(20, 3, 1234, 256).unwrap();
/// assert_eq!(s.start_rows, vec![3, 6, 14]); // what Debian's faiss 1.7.3 starts from
/// assert_eq!(s.train_rows.len(), 20);
/// ```
pub fn kmeans_init_faiss(n: usize, k: usize, seed: u64, max_points_per_centroid: usize) -> Result<FaissStart, Error> {
    let (n64, k64, m64) = (to_i64("n", n)?, to_i64("k", k)?, to_i64("max_points_per_centroid", max_points_per_centroid)?);
    let ok = (1..=n).contains(&k) && max_points_per_centroid >= 1;
    let n_train = if ok { n.min(max_points_per_centroid.saturating_mul(k)) } else { 0 };
    let mut start_rows = zeros::<i64>("start_rows", if ok { k } else { 0 }, 1)?;
    let mut train_rows = zeros::<i64>("train_rows", n_train, 1)?;
    let mut count = 0i64;
    let start_ptr = if ok { start_rows.as_mut_ptr() } else { std::ptr::null_mut() };
    check(unsafe {
        sys::rlcc_kmeans_init_faiss(n64, k64, seed, m64, start_ptr, train_rows.as_mut_ptr(), &mut count)
    })?;
    train_rows.truncate(count as usize);
    Ok(FaissStart { start_rows, train_rows })
}
