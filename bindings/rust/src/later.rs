//! librlcc 1.7 (issue #15 items 1, 4, 5): camera-aware proxies (CAP, ICE,
//! O2CAP, PPLR), PPLR's cross-agreement scores and part weights, and the
//! DBSCAN radius from a distance quantile (SSG, DomainAdaptiveReID, MMT).

use super::{check, check_csr, initialized, invalid, matrix_len, sys, to_i64, zeros, Error};

/// The numbering of [`camera_proxies`].
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ProxyOrder {
    /// Cameras ascending, then clusters ascending in each (CAP, ICE).
    CameraMajor,
    /// Clusters ascending, then cameras ascending in each (O2CAP, PPLR).
    ClusterMajor,
}

/// How a centroid's norm is taken (`rlcc_centroid_options.norm`, 1.7).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum CentroidNorm {
    /// In double: librlcc's centroid arithmetic.
    Double,
    /// In float32 as NumPy's `np.linalg.norm(m, axis=1)`: CAP's and ICE's bytes.
    Float32,
}

/// Options of [`camera_proxies`]: the default is camera-major proxies with
/// the norm in double, every thread, half of physical memory.
///
/// ```
/// let o = rlcc::ProxyOptions::default();
/// assert_eq!((o.order, o.norm), (rlcc::ProxyOrder::CameraMajor, rlcc::CentroidNorm::Double));
/// ```
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct ProxyOptions {
    pub order: ProxyOrder,
    pub norm: CentroidNorm,
    /// 0 = all OpenMP threads (the centroids); never changes a byte.
    pub n_threads: i32,
    /// Bound on each call's working memory; 0 = half of physical memory.
    pub max_bytes: i64,
}

impl Default for ProxyOptions {
    fn default() -> Self {
        let o: sys::rlcc_proxy_options = initialized(sys::rlcc_proxy_options_init);
        ProxyOptions {
            order: if o.order == sys::RLCC_PROXIES_CLUSTER_MAJOR { ProxyOrder::ClusterMajor } else { ProxyOrder::CameraMajor },
            norm: CentroidNorm::Double,
            n_threads: 0,
            max_bytes: o.max_bytes,
        }
    }
}

/// The result of [`camera_proxies`].
#[derive(Clone, Debug, PartialEq)]
pub struct CameraProxies {
    /// The proxy of every sample, -1 for noise.
    pub proxy: Vec<i32>,
    /// Each proxy's cluster label (M entries).
    pub cluster: Vec<i32>,
    /// Each proxy's camera (M entries).
    pub camera: Vec<i32>,
    /// M x d, row-major: the L2-normalised mean of each proxy's rows.
    pub centroids: Vec<f32>,
}

/// Camera-aware proxies (`rlcc_camera_proxies`, then `rlcc_centroids_opts`
/// over the proxy ids): one proxy per (cluster, camera) pair with a member.
/// `labels`: n values >= -1 (any, ordered numerically); `cameras`: n values
/// >= 0; `x`: n x d features.
///
/// ```
/// use rlcc::{camera_proxies, ProxyOptions, ProxyOrder};
/// let x = [1.0f32, 0.0, 0.0, 1.0, 1.0, 0.0, 0.0, 1.0];
/// let o = ProxyOptions { order: ProxyOrder::ClusterMajor, ..Default::default() };
/// let p = camera_proxies(&[7, 7, -1, 3], &[1, 0, 0, 1], &x, 2, &o).unwrap();
/// assert_eq!(p.proxy, vec![2, 1, -1, 0]);
/// assert_eq!((p.cluster, p.camera), (vec![3, 7, 7], vec![1, 0, 1]));
/// assert_eq!(p.centroids, vec![0.0, 1.0, 0.0, 1.0, 1.0, 0.0]);
/// ```
pub fn camera_proxies(labels: &[i32], cameras: &[i32], x: &[f32], d: usize,
                      options: &ProxyOptions) -> Result<CameraProxies, Error> {
    let n = labels.len();
    if cameras.len() != n {
        return Err(invalid(&format!("cameras: {} entries, labels has {}", cameras.len(), n)));
    }
    matrix_len("x", x.len(), n, d)?;
    if d == 0 {
        return Err(invalid("x: d = 0 must be >= 1"));
    }
    let mut o: sys::rlcc_proxy_options = initialized(sys::rlcc_proxy_options_init);
    o.order = match options.order {
        ProxyOrder::CameraMajor => sys::RLCC_PROXIES_CAMERA_MAJOR,
        ProxyOrder::ClusterMajor => sys::RLCC_PROXIES_CLUSTER_MAJOR,
    };
    o.max_bytes = options.max_bytes;
    let mut proxy = zeros::<i32>("proxy", n, 1)?;
    let mut cluster = zeros::<i32>("proxy_cluster", n.max(1), 1)?;
    let mut camera = zeros::<i32>("proxy_camera", n.max(1), 1)?;
    let mut m = 0i64;
    check(unsafe {
        sys::rlcc_camera_proxies(labels.as_ptr(), cameras.as_ptr(), to_i64("n", n)?, &o, proxy.as_mut_ptr(),
                                 &mut m, cluster.as_mut_ptr(), camera.as_mut_ptr())
    })?;
    let m = m as usize;
    cluster.truncate(m);
    camera.truncate(m);
    let mut co = sys::rlcc_centroid_options::default();
    check(unsafe {
        sys::rlcc_centroid_options_init(&mut co, std::mem::size_of::<sys::rlcc_centroid_options>())
    })?;
    co.norm = match options.norm {
        CentroidNorm::Double => sys::RLCC_CENTROID_NORM_DOUBLE,
        CentroidNorm::Float32 => sys::RLCC_CENTROID_NORM_FLOAT32,
    };
    co.n_threads = options.n_threads;
    co.max_bytes = options.max_bytes;
    let mut centroids = zeros::<f32>("centroids", m, d)?;
    if m > 0 {
        check(unsafe {
            sys::rlcc_centroids_opts(x.as_ptr(), n as i64, d as i64, d as i64, proxy.as_ptr(), m as i64,
                                     &co,
                                     centroids.as_mut_ptr(), d as i64)
        })?;
    }
    Ok(CameraProxies { proxy, cluster, camera, centroids })
}

/// Options of [`cross_agreement`]: PPLR's k = 20 and list rule by default.
///
/// ```
/// let o = rlcc::AgreementOptions::default();
/// assert_eq!((o.k, o.exclude_self), (20, false));
/// ```
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct AgreementOptions {
    /// List length: the k + 1 nearest rows, position 0 dropped.
    pub k: i32,
    /// Drop the row itself wherever it is (the k nearest other rows)
    /// instead of position 0 (the same lists without duplicate rows).
    pub exclude_self: bool,
    /// 0 = all OpenMP threads; never changes a byte.
    pub n_threads: i32,
    /// Bound on the call's working memory; 0 = half of physical memory.
    pub max_bytes: i64,
}

impl Default for AgreementOptions {
    fn default() -> Self {
        let o: sys::rlcc_agreement_options = initialized(sys::rlcc_agreement_options_init);
        AgreementOptions { k: o.k, exclude_self: o.exclude_self != 0, n_threads: o.n_threads, max_bytes: o.max_bytes }
    }
}

/// PPLR's cross-agreement scores (`rlcc_cross_agreement`): n x P float32,
/// row-major, for the global features (`n x d_global`) and P parts (each
/// `n x d_part`). Needs k + 1 <= n.
///
/// ```
/// let g = [0.0f32, 1.0, 2.0, 10.0];
/// let part = [0.0f32, 1.0, 9.0, 10.0];
/// let s = rlcc::cross_agreement(&g, 4, 1, &[&part], 1, &rlcc::AgreementOptions { k: 1, ..Default::default() }).unwrap();
/// assert_eq!(s, vec![1.0, 1.0, 0.0, 1.0]); // row 2: {1} against {3}
/// ```
pub fn cross_agreement(global: &[f32], n: usize, d_global: usize, parts: &[&[f32]], d_part: usize,
                       options: &AgreementOptions) -> Result<Vec<f32>, Error> {
    matrix_len("global", global.len(), n, d_global)?;
    for (p, part) in parts.iter().enumerate() {
        matrix_len(&format!("parts[{}]", p), part.len(), n, d_part)?;
    }
    if parts.is_empty() {
        return Err(invalid("parts: no part given"));
    }
    let mut o: sys::rlcc_agreement_options = initialized(sys::rlcc_agreement_options_init);
    o.k = options.k;
    o.exclude_self = options.exclude_self as i32;
    o.n_threads = options.n_threads;
    o.max_bytes = options.max_bytes;
    let pointers: Vec<*const f32> = parts.iter().map(|p| p.as_ptr()).collect();
    let mut scores = zeros::<f32>("scores", n, parts.len())?;
    check(unsafe {
        sys::rlcc_cross_agreement(global.as_ptr(), to_i64("n", n)?, d_global as i64, d_global.max(1) as i64,
                                  pointers.as_ptr(), parts.len() as i64, d_part as i64, d_part.max(1) as i64,
                                  &o, scores.as_mut_ptr())
    })?;
    Ok(scores)
}

/// PPLR's part weights (`rlcc_part_weights`): the softmax over the parts of
/// every row of `scores` (n x n_parts), in double, rounded to float32 once.
///
/// ```
/// let w = rlcc::part_weights(&[0.5f32, 0.5], 1, 2).unwrap();
/// assert_eq!(w, vec![0.5, 0.5]);
/// ```
pub fn part_weights(scores: &[f32], n: usize, n_parts: usize) -> Result<Vec<f32>, Error> {
    matrix_len("scores", scores.len(), n, n_parts)?;
    let mut out = zeros::<f32>("weights", n, n_parts)?;
    check(unsafe { sys::rlcc_part_weights(scores.as_ptr(), n as i64, n_parts as i64, out.as_mut_ptr()) })?;
    Ok(out)
}

/// The summation of [`eps_from_quantile`].
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Summation {
    /// NumPy's float32 pairwise sum (MMT's bytes).
    Numpy,
    /// Sequential in double, rounded to float32 once.
    Double,
}

/// Options of [`eps_from_quantile`] and [`eps_from_quantile_csr`].
///
/// ```
/// assert_eq!(rlcc::QuantileOptions::default().summation, rlcc::Summation::Numpy);
/// ```
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct QuantileOptions {
    pub summation: Summation,
    /// Bound on the selection (4 bytes per selected value); 0 = half of RAM.
    pub max_bytes: i64,
}

impl Default for QuantileOptions {
    fn default() -> Self {
        let o: sys::rlcc_quantile_options = initialized(sys::rlcc_quantile_options_init);
        QuantileOptions {
            summation: if o.summation == sys::RLCC_SUM_DOUBLE { Summation::Double } else { Summation::Numpy },
            max_bytes: o.max_bytes,
        }
    }
}

impl QuantileOptions {
    fn raw(&self) -> sys::rlcc_quantile_options {
        let mut o: sys::rlcc_quantile_options = initialized(sys::rlcc_quantile_options_init);
        o.summation = match self.summation {
            Summation::Numpy => sys::RLCC_SUM_NUMPY,
            Summation::Double => sys::RLCC_SUM_DOUBLE,
        };
        o.max_bytes = self.max_bytes;
        o
    }
}

/// The DBSCAN radius of SSG, DomainAdaptiveReID and MMT
/// (`rlcc_eps_from_quantile`): over the strict upper triangle of the dense
/// n x n `dist` without exact zeros, the mean of the
/// round-half-even(rho x count) smallest values.
///
/// ```
/// // upper triangle 0.5, 0.1, 0.3: rho 0.5 -> round(1.5) = 2 -> mean(0.1, 0.3)
/// let d = [0.0f32, 0.5, 0.1, 0.5, 0.0, 0.3, 0.1, 0.3, 0.0];
/// let eps = rlcc::eps_from_quantile(&d, 3, 0.5, &Default::default()).unwrap();
/// assert_eq!(eps, ((0.1f32 + 0.3f32) as f64 / 2.0) as f32 as f64);
/// ```
pub fn eps_from_quantile(dist: &[f32], n: usize, rho: f64, options: &QuantileOptions) -> Result<f64, Error> {
    matrix_len("dist", dist.len(), n, n)?;
    let o = options.raw();
    let mut eps = 0.0f64;
    check(unsafe { sys::rlcc_eps_from_quantile(dist.as_ptr(), to_i64("n", n)?, n.max(1) as i64, rho, &o, &mut eps) })?;
    Ok(eps)
}

/// [`eps_from_quantile`] over a sparse n x n matrix in CSR form (n =
/// `indptr.len() - 1`; columns strictly ascending in each row), whose
/// missing entries are distance 1 and whose exact zeros are stored
/// (`rlcc_eps_from_quantile_csr`). Refused when the selection would reach
/// a missing entry (a matrix cut below 1 cannot give it).
///
/// ```
/// // 3 samples, pairs (0,1) = 0.2 and (1,2) = 0.4 stored, (0,2) missing (1.0)
/// let eps = rlcc::eps_from_quantile_csr(&[0, 1, 2, 2], &[1, 2], &[0.2, 0.4], 0.5, &Default::default()).unwrap();
/// assert_eq!(eps, ((0.2f32 + 0.4f32) as f64 / 2.0) as f32 as f64);
/// ```
pub fn eps_from_quantile_csr(indptr: &[i64], indices: &[i32], data: &[f32], rho: f64,
                             options: &QuantileOptions) -> Result<f64, Error> {
    let n = indptr.len().saturating_sub(1);
    check_csr(indptr, indices, data, n)?;
    let o = options.raw();
    let mut eps = 0.0f64;
    check(unsafe {
        sys::rlcc_eps_from_quantile_csr(to_i64("n", n)?, indptr.as_ptr(), indices.as_ptr(), data.as_ptr(), rho,
                                        &o, &mut eps)
    })?;
    Ok(eps)
}
