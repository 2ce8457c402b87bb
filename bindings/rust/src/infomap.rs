//! InfoMap pseudo labels (librlcc 1.7, Cluster Contrast): [`infomap_pseudo_labels`]
//! (the kNN lists, the directed links above `min_sim`, a two-level Infomap
//! partition by librlcc's seeded search or the caller's, labels by module
//! flow), [`infomap_links`] (the links alone, for the `infomap` package) and
//! [`map_codelength`] (the two-level map-equation codelength of any
//! partition of a directed weighted graph, Infomap 1.x `--directed`).

use std::ptr;

use crate::{check, invalid, matrix_len, sys, to_i64, Error};

/// Options of [`infomap_pseudo_labels`] and [`infomap_links`]; the default
/// is Cluster Contrast's (`rlcc_infomap_options_init`).
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct InfomapOptions {
    /// Neighbours per list, the row itself included (15).
    pub k: usize,
    /// Labels with at most this many members become -1 (4).
    pub cluster_num: i32,
    /// Links i -> j are kept while 1 - sim <= 1 - min_sim (0.5).
    pub min_sim: f64,
    /// The search's seed (123).
    pub seed: u64,
    /// Independent searches; the shortest codelength wins (1).
    pub trials: i32,
    /// L2-normalise a copy of the rows first (false).
    pub normalize: bool,
    /// Threads of the kNN; 0 = all OpenMP threads. Labels never depend on it.
    pub n_threads: i32,
    /// Working-memory bound in bytes; 0 = half of physical memory.
    pub max_bytes: i64,
}

impl Default for InfomapOptions {
    fn default() -> Self {
        InfomapOptions { k: 15, cluster_num: 4, min_sim: 0.5, seed: 123, trials: 1, normalize: false,
                         n_threads: 0, max_bytes: 0 }
    }
}

impl InfomapOptions {
    fn raw(&self) -> Result<sys::rlcc_infomap_options, Error> {
        let mut o = sys::rlcc_infomap_options::default();
        check(unsafe { sys::rlcc_infomap_options_init(&mut o, std::mem::size_of::<sys::rlcc_infomap_options>()) })?;
        o.k = i32::try_from(self.k).map_err(|_| invalid(&format!("k: {} does not fit int32", self.k)))?;
        o.cluster_num = self.cluster_num;
        o.min_sim = self.min_sim;
        o.seed = self.seed;
        o.trials = self.trials;
        o.normalize = self.normalize as i32;
        o.n_threads = self.n_threads;
        o.max_bytes = self.max_bytes;
        Ok(o)
    }
}

/// The caller's kNN lists: `n x k` indices and float32 distances `1 - sim`,
/// row-major, each row ascending by distance (e.g. faiss's inner-product
/// search turned into distances).
#[derive(Clone, Copy, Debug)]
pub struct InfomapKnn<'a> {
    pub indices: &'a [i64],
    pub distances: &'a [f32],
}

/// `(src, dst, weight)`: the links of [`infomap_links`].
pub type InfomapLinks = (Vec<i64>, Vec<i64>, Vec<f64>);

/// The pointers and leading sizes a call passes: x, d, ldx, knn, knn_dist.
type Inputs = (*const f32, i64, i64, *const i64, *const f32);

/// The result of [`infomap_pseudo_labels`].
#[derive(Clone, Debug, PartialEq)]
pub struct InfomapLabels {
    /// One per sample: classes 0 .. n_classes - 1, and -1.
    pub labels: Vec<i32>,
    /// The number of labels >= 0.
    pub n_classes: i64,
    /// The partition's two-level codelength in bits.
    pub codelength: f64,
}

/// The rows (or none with caller lists) checked against `n x d`, and the
/// lists against `n x k`: what the library reads is inside the slices.
fn inputs(x: Option<&[f32]>, n: usize, d: usize, knn: Option<InfomapKnn<'_>>, k: usize)
          -> Result<Inputs, Error> {
    to_i64("n", n)?;
    let (xp, dd) = match x {
        Some(x) => {
            matrix_len("x", x.len(), n, d)?;
            (x.as_ptr(), d.max(1) as i64)
        }
        None => (ptr::null(), 1),
    };
    let (ip, dp) = match knn {
        Some(l) => {
            // a k the library refuses is refused before it reads the lists
            if (1..=n).contains(&k) {
                matrix_len("knn.indices", l.indices.len(), n, k)?;
                matrix_len("knn.distances", l.distances.len(), n, k)?;
            }
            (l.indices.as_ptr(), l.distances.as_ptr())
        }
        None => (ptr::null(), ptr::null()),
    };
    Ok((xp, dd, dd, ip, dp))
}

/// Cluster Contrast's InfoMap pseudo labels of `n` rows of width `d`
/// (unit rows unless `options.normalize`; `x` may be `None` when `knn`
/// is given), from librlcc's search or the caller's `modules` (one id >= 0
/// per sample).
///
/// ```
/// // two tight groups of unit rows in the plane, and one far row
/// let mut x = Vec::new();
/// for i in 0..6 { let a = if i < 3 { 0.01 * i as f32 } else { 1.5 + 0.01 * i as f32 }; x.extend([a.cos(), a.sin()]); }
/// x.extend([(-2.0f32).cos(), (-2.0f32).sin()]);
/// let o = rlcc::InfomapOptions { k: 3, cluster_num: 2, ..Default::default() };
/// let r = rlcc::infomap_pseudo_labels(Some(&x), 7, 2, None, None, &o).unwrap();
/// assert_eq!(r.n_classes, 2);
/// assert_eq!(r.labels[6], -1);
/// ```
pub fn infomap_pseudo_labels(x: Option<&[f32]>, n: usize, d: usize, knn: Option<InfomapKnn<'_>>,
                             modules: Option<&[i32]>, options: &InfomapOptions) -> Result<InfomapLabels, Error> {
    let o = options.raw()?;
    let (xp, dd, ldx, ip, dp) = inputs(x, n, d, knn, options.k)?;
    if let Some(m) = modules {
        if m.len() != n {
            return Err(invalid(&format!("modules: {} entries, expected n = {}", m.len(), n)));
        }
    }
    let mut labels = vec![0i32; n];
    let (mut n_classes, mut codelength) = (0i64, 0f64);
    check(unsafe {
        sys::rlcc_infomap_labels(xp, n as i64, dd, ldx, ip, dp, modules.map_or(ptr::null(), |m| m.as_ptr()), &o,
                                 labels.as_mut_ptr(), &mut n_classes, &mut codelength)
    })?;
    Ok(InfomapLabels { labels, n_classes, codelength })
}

/// The directed links of [`infomap_pseudo_labels`] as `(src, dst, weight)`,
/// in the order Cluster Contrast adds them.
///
/// ```
/// let x = [1.0f32, 0.0, 0.8, 0.6, 0.0, 1.0];
/// let o = rlcc::InfomapOptions { k: 2, ..Default::default() };
/// let (s, t, w) = rlcc::infomap_links(Some(&x), 3, 2, None, &o).unwrap();
/// assert_eq!((s, t), (vec![0, 1, 2], vec![1, 0, 1]));
/// assert!((w[0] - 0.8).abs() < 1e-6);
/// ```
pub fn infomap_links(x: Option<&[f32]>, n: usize, d: usize, knn: Option<InfomapKnn<'_>>,
                     options: &InfomapOptions) -> Result<InfomapLinks, Error> {
    let o = options.raw()?;
    let (xp, dd, ldx, ip, dp) = inputs(x, n, d, knn, options.k)?;
    let cap = if (1..=n).contains(&options.k) {
        n.checked_mul(options.k).ok_or_else(|| invalid("links: n x k overflows"))?
    } else {
        0
    };
    let (mut src, mut dst, mut weight) = (crate::zeros("src", cap, 1)?, crate::zeros("dst", cap, 1)?,
                                          crate::zeros("weight", cap, 1)?);
    let mut count = 0i64;
    check(unsafe {
        sys::rlcc_infomap_links(xp, n as i64, dd, ldx, ip, dp, &o, src.as_mut_ptr(), dst.as_mut_ptr(),
                                weight.as_mut_ptr(), &mut count)
    })?;
    let m = count as usize;
    src.truncate(m);
    dst.truncate(m);
    weight.truncate(m);
    Ok((src, dst, weight))
}

/// The two-level map-equation codelength (bits) of `modules` (one id >= 0
/// per node) on the directed graph `src[e] -> dst[e]` with weights > 0,
/// under Infomap 1.x `--directed`'s flow.
///
/// ```
/// let l = rlcc::map_codelength(2, &[0, 1], &[1, 0], &[1.0, 1.0], &[0, 1]).unwrap();
/// assert_eq!(l, 3.0);
/// ```
pub fn map_codelength(n_nodes: usize, src: &[i64], dst: &[i64], weight: &[f64], modules: &[i32]) -> Result<f64, Error> {
    if src.len() != dst.len() || src.len() != weight.len() {
        return Err(invalid(&format!("src, dst, weight: lengths {}, {}, {} differ", src.len(), dst.len(),
                                    weight.len())));
    }
    if modules.len() != n_nodes {
        return Err(invalid(&format!("modules: {} entries, expected n_nodes = {}", modules.len(), n_nodes)));
    }
    let mut out = 0f64;
    check(unsafe {
        sys::rlcc_map_codelength(to_i64("n_nodes", n_nodes)?, src.as_ptr(), dst.as_ptr(), weight.as_ptr(),
                                 to_i64("n_links", src.len())?, modules.as_ptr(), &mut out)
    })?;
    Ok(out)
}
