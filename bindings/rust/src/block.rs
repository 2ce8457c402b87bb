//! librlcc 1.8: the pieces an engine that holds the rows in blocks (an MPI
//! ring, a `torch.distributed` group, shards on several machines) needs to
//! give the whole-matrix results byte for byte: [`KnnState::update_pair`]
//! (two blocks offered to each other from one Gram block),
//! [`KnnState::to_bytes`] / [`KnnState::from_bytes`] (a state sent to another
//! process), the block Jaccard ([`JaccardPlan`], [`jaccard_rows`]) and the
//! pseudo labels of a distance graph the caller gathered
//! ([`pseudo_labels_graph`]).

use std::fmt;
use std::os::raw::c_void;
use std::ptr;

use crate::{check, check_csr, invalid, matrix_len, sys, to_i64, Csr, Error, JaccardOptions, KnnOptions, KnnState,
            PseudoLabels, PseudoOptions};

/// Where `rlcc_knn_state_save` writes the shape (docs/stability.md): four
/// little-endian int64 after the 24-byte envelope (magic, format, writer
/// version, size): n_queries, query_offset, d, k.
const SHAPE_AT: usize = 24;

impl KnnState {
    /// Offers two blocks to each other from one Gram block
    /// (`rlcc_knn_update_pair`, librlcc 1.8): `self`'s query rows are offered
    /// `other`'s rows and `other`'s query rows `self`'s, each pair of rows
    /// computed once. `rows` are `self`'s `n_queries x d` query rows,
    /// `other_rows` `other`'s (its `k` may differ; its `d` may not). The two
    /// global ranges must not overlap (a block against itself is
    /// [`update`](KnnState::update) with `refs` the queries slice). Afterwards
    /// each state finishes to what `update` of the other block would have
    /// left it, byte for byte. On any error both states are unchanged.
    ///
    /// ```
    /// // rows 0..2 in one block, 2..5 in another; k = 2
    /// let x = [0.0f32, 1.0, 3.0, 7.0, 8.0];
    /// let o = rlcc::KnnOptions::default();
    /// let mut a = rlcc::KnnState::new(2, 0, 1, 2, &o).unwrap();
    /// let mut b = rlcc::KnnState::new(3, 2, 1, 2, &o).unwrap();
    /// a.update(&x[..2], &x[..2], 2, 0).unwrap(); // each block against itself
    /// b.update(&x[2..], &x[2..], 3, 2).unwrap();
    /// a.update_pair(&x[..2], &mut b, &x[2..]).unwrap(); // and the pair, once
    /// let (whole, _) = rlcc::knn(&x, 5, 1, 2, 0).unwrap();
    /// assert_eq!(a.finish().unwrap().0, &whole[..4]);
    /// assert_eq!(b.finish().unwrap().0, &whole[4..]);
    /// let mut c = rlcc::KnnState::new(2, 1, 1, 2, &o).unwrap(); // rows 1..3
    /// let e = a.update_pair(&x[..2], &mut c, &x[1..3]).unwrap_err();
    /// assert_eq!(e.code, rlcc::code::INVALID_ARGUMENT);
    /// assert!(e.message.contains("overlap"), "{}", e.message);
    /// ```
    ///
    /// A state paired with itself is refused by the borrow checker (the
    /// library would refuse it at run time: "the same state"):
    ///
    /// ```compile_fail,E0499
    /// let x = [0.0f32, 1.0];
    /// let mut a = rlcc::KnnState::new(2, 0, 1, 1, &Default::default()).unwrap();
    /// a.update_pair(&x, &mut a, &x).unwrap();
    /// ```
    pub fn update_pair(&mut self, rows: &[f32], other: &mut KnnState, other_rows: &[f32]) -> Result<(), Error> {
        matrix_len("rows", rows.len(), self.n_queries, self.d)?;
        matrix_len("other_rows", other_rows.len(), other.n_queries, other.d)?;
        check(unsafe {
            sys::rlcc_knn_update_pair(self.handle, rows.as_ptr(), self.d as i64, other.handle, other_rows.as_ptr(),
                                      other.d as i64)
        })
    }

    /// The state as bytes (`rlcc_knn_state_save`, librlcc 1.8): its shape, its
    /// counts and its lists, little-endian, the same on every machine,
    /// versioned and sealed by a CRC-32C: what one process sends another,
    /// which makes a state of them with [`from_bytes`](KnnState::from_bytes)
    /// and [`merge`](KnnState::merge)s it. The size changes with every update
    /// and merge.
    ///
    /// ```
    /// let x = [0.0f32, 1.0, 3.0];
    /// let mut state = rlcc::KnnState::new(3, 0, 1, 2, &Default::default()).unwrap();
    /// state.update(&x, &x, 3, 0).unwrap();
    /// let bytes = state.to_bytes().unwrap();
    /// let mut twin = rlcc::KnnState::from_bytes(&bytes, &Default::default()).unwrap();
    /// assert_eq!(twin.to_bytes().unwrap(), bytes);
    /// assert_eq!(twin.finish().unwrap(), state.finish().unwrap());
    /// ```
    pub fn to_bytes(&self) -> Result<Vec<u8>, Error> {
        let mut size = 0usize;
        check(unsafe { sys::rlcc_knn_state_save(self.handle, ptr::null_mut(), 0, &mut size) })?;
        let mut bytes = vec![0u8; size];
        // &self and no Sync: nothing changes the state between the two calls
        check(unsafe {
            sys::rlcc_knn_state_save(self.handle, bytes.as_mut_ptr() as *mut c_void, bytes.len(), &mut size)
        })?;
        bytes.truncate(size);
        Ok(bytes)
    }

    /// A new state from the bytes of [`to_bytes`](KnnState::to_bytes)
    /// (`rlcc_knn_state_load`, librlcc 1.8), with the same shape, counts and
    /// lists, so it finishes, merges and saves as the state that was saved;
    /// `options` are the new state's (threads, budget), as in
    /// [`new`](KnnState::new). Nothing is trusted: truncated, damaged
    /// (checksum), foreign or inconsistent bytes are refused with
    /// [`code::INVALID_ARGUMENT`](crate::code::INVALID_ARGUMENT) and the
    /// library's message, before anything is allocated.
    ///
    /// ```
    /// let x = [0.0f32, 1.0, 3.0];
    /// let mut state = rlcc::KnnState::new(3, 10, 1, 2, &Default::default()).unwrap();
    /// state.update(&x, &x, 3, 10).unwrap();
    /// let mut bytes = state.to_bytes().unwrap();
    /// let loaded = rlcc::KnnState::from_bytes(&bytes, &Default::default()).unwrap();
    /// assert_eq!((loaded.n_queries(), loaded.query_offset(), loaded.d(), loaded.k()), (3, 10, 1, 2));
    /// bytes[60] ^= 1; // damaged in transit
    /// let e = rlcc::KnnState::from_bytes(&bytes, &Default::default()).unwrap_err();
    /// assert_eq!(e.code, rlcc::code::INVALID_ARGUMENT);
    /// ```
    pub fn from_bytes(bytes: &[u8], options: &KnnOptions) -> Result<KnnState, Error> {
        let o = options.raw();
        let mut handle = ptr::null_mut();
        // a non-null pointer even for no bytes: the library then refuses the size, not a NULL buffer
        let one = [0u8; 1];
        let data = if bytes.is_empty() { one.as_ptr() } else { bytes.as_ptr() };
        check(unsafe { sys::rlcc_knn_state_load(data as *const c_void, bytes.len(), &o, &mut handle) })?;
        // the library checked the bytes (and the shape: each field fits [0, INT64_MAX]), so they hold it
        let field = |i: usize| {
            let at = SHAPE_AT + 8 * i;
            let mut le = [0u8; 8];
            le.copy_from_slice(&bytes[at..at + 8]);
            usize::try_from(i64::from_le_bytes(le))
        };
        match (field(0), field(1), field(2), field(3)) {
            (Ok(n_queries), Ok(query_offset), Ok(d), Ok(k)) => Ok(KnnState { handle, n_queries, query_offset, d, k }),
            _ => {
                unsafe { sys::rlcc_knn_state_free(handle) };
                Err(invalid("bytes: the state's shape does not fit usize"))
            }
        }
    }
}

impl Csr {
    /// The matrices' rows one after the other (a new matrix in Rust memory):
    /// the weight rows of every block's [`JaccardPlan`], in row order, for
    /// [`jaccard_rows`], or the Jaccard rows of every block for
    /// [`pseudo_labels_graph`]. Every part must have the same columns; no
    /// parts make a `0 x 0` matrix.
    ///
    /// ```
    /// let a = rlcc::Csr::try_from_parts(vec![0, 1], vec![2], vec![0.5], 3).unwrap();
    /// let b = rlcc::Csr::try_from_parts(vec![0, 0, 2], vec![0, 1], vec![1.0, 0.25], 3).unwrap();
    /// let m = rlcc::Csr::concat_rows(&[a, b]).unwrap();
    /// assert_eq!((m.rows(), m.cols()), (3, 3));
    /// assert_eq!(m.indptr(), &[0, 1, 1, 3]);
    /// assert_eq!(m.indices(), &[2, 0, 1]);
    /// ```
    pub fn concat_rows(parts: &[Csr]) -> Result<Csr, Error> {
        let cols = parts.first().map_or(0, Csr::cols);
        let (mut indptr, mut indices, mut data) = (vec![0i64], Vec::new(), Vec::new());
        for (i, part) in parts.iter().enumerate() {
            if part.cols() != cols {
                return Err(invalid(&format!("parts: part {} has {} columns, part 0 has {}", i, part.cols(), cols)));
            }
            let base = indices.len() as i64;
            indptr.extend(part.indptr()[1..].iter().map(|p| base + p));
            indices.extend_from_slice(part.indices());
            data.extend_from_slice(part.data());
        }
        Csr::try_from_parts(indptr, indices, data, cols)
    }
}

/// A block of rows of the k-reciprocal Jaccard distance (`rlcc_jaccard_plan`,
/// librlcc 1.8): rows `row0 .. row1` of `n`, whose kNN lists every block
/// knows. The plan takes its rows' expanded sets from the lists, is
/// [`offer`](JaccardPlan::offer)ed every block of rows in any order (the
/// distances its rows need), and gives its rows' weights
/// ([`weights`](JaccardPlan::weights)). The weights of every block,
/// concatenated in row order ([`Csr::concat_rows`]), give any range of
/// Jaccard rows ([`jaccard_rows`]); concatenated over a blocking, those are
/// [`jaccard`](crate::jaccard)'s result, byte for byte.
///
/// ```
/// let x = [1.0f32, 0.0, 0.99, 0.141, 0.0, 1.0, 0.141, 0.99];
/// let (n, d) = (4, 2);
/// let o = rlcc::JaccardOptions { k1: 2, k2: 1, ..Default::default() };
/// let (knn, _) = rlcc::knn(&x, n, d, 2, 0).unwrap();
/// let blocks = [(0, 1), (1, 4)];
/// let mut weights = Vec::new();
/// for &(r0, r1) in &blocks {
///     let mut plan = rlcc::JaccardPlan::new(&knn, n, r0, r1, d, &o).unwrap();
///     for &(f0, f1) in &blocks {
///         plan.offer(&x[r0 * d..r1 * d], &x[f0 * d..f1 * d], f1 - f0, f0).unwrap();
///     }
///     weights.push(plan.weights().unwrap());
/// }
/// let weights = rlcc::Csr::concat_rows(&weights).unwrap();
/// let rows: Vec<rlcc::Csr> = blocks.iter()
///     .map(|&(r0, r1)| rlcc::jaccard_rows(&weights, &knn, r0, r1, &o).unwrap())
///     .collect();
/// let graph = rlcc::Csr::concat_rows(&rows).unwrap();
/// let whole = rlcc::jaccard(&x, n, d, Some(&knn), &o).unwrap();
/// assert_eq!((graph.indptr(), graph.indices()), (whole.indptr(), whole.indices()));
/// assert_eq!(graph.data(), whole.data());
/// ```
///
/// Freed on drop; not `Clone`. `Send`, not `Sync`, as [`KnnState`]: one call
/// at a time, which `&mut self` on `offer` and the missing `Sync` keep at
/// compile time.
///
/// ```compile_fail,E0277
/// fn shared<T: Sync>() {}
/// shared::<rlcc::JaccardPlan>(); // not Sync
/// ```
pub struct JaccardPlan {
    handle: *mut sys::rlcc_jaccard_plan,
    n: usize,
    row0: usize,
    row1: usize,
    d: usize,
}

// Heap memory the library reaches only through this handle.
unsafe impl Send for JaccardPlan {}

fn check_lists(knn: &[i64], n: usize, options: &JaccardOptions) -> Result<(), Error> {
    // a k1 below 1 expects no entries; the library refuses it before reading any
    matrix_len("knn", knn.len(), n, options.k1.max(0) as usize)
}

impl JaccardPlan {
    /// A plan for rows `row0 .. row1` of `n` rows of width `d`. `knn` are the
    /// `n x k1` kNN lists of every row (row-major, `k1` of `options`; those
    /// of the normalised rows with `normalize`), checked as
    /// [`jaccard`](crate::jaccard) checks them. The library refuses `n`
    /// outside `[1, INT32_MAX]`, a range outside `[0, n)`, `d < 1` and bad
    /// lists or options.
    ///
    /// ```
    /// let (knn, _) = rlcc::knn(&[0.0f32, 1.0, 3.0], 3, 1, 2, 0).unwrap();
    /// let o = rlcc::JaccardOptions { k1: 2, k2: 1, sqeuclidean: true, ..Default::default() };
    /// let plan = rlcc::JaccardPlan::new(&knn, 3, 1, 3, 1, &o).unwrap();
    /// assert_eq!((plan.n(), plan.row0(), plan.row1(), plan.d()), (3, 1, 3, 1));
    /// let e = rlcc::JaccardPlan::new(&knn, 3, 2, 4, 1, &o).unwrap_err();
    /// assert!(e.message.starts_with("rows: [2, 4)"), "{}", e.message);
    /// ```
    pub fn new(knn: &[i64], n: usize, row0: usize, row1: usize, d: usize,
               options: &JaccardOptions) -> Result<JaccardPlan, Error> {
        check_lists(knn, n, options)?;
        let (n64, r0, r1, d64) = (to_i64("n", n)?, to_i64("row0", row0)?, to_i64("row1", row1)?, to_i64("d", d)?);
        let o = options.raw();
        let mut handle = ptr::null_mut();
        check(unsafe { sys::rlcc_jaccard_plan_new(knn.as_ptr(), n64, r0, r1, d64, &o, &mut handle) })?;
        Ok(JaccardPlan { handle, n, row0, row1, d })
    }

    /// Offers `n_refs` rows (`refs`, `n_refs x d`), global indices
    /// `ref_offset ..`: the plan takes the distances its rows need to them.
    /// `rows` are the plan's own `(row1 - row0) x d` rows, the same at every
    /// offer. A row offered again changes nothing; `n_refs` may be 0. Rows
    /// must be finite (and of unit norm for the dot variant unless
    /// `normalize`). On any error the plan is unchanged.
    ///
    /// ```
    /// let x = [0.0f32, 1.0, 3.0];
    /// let (knn, _) = rlcc::knn(&x, 3, 1, 2, 0).unwrap();
    /// let o = rlcc::JaccardOptions { k1: 2, k2: 1, sqeuclidean: true, ..Default::default() };
    /// let mut plan = rlcc::JaccardPlan::new(&knn, 3, 0, 1, 1, &o).unwrap();
    /// let e = plan.offer(&x[..1], &x[1..], 2, 2).unwrap_err(); // rows 2 and 3 of 3
    /// assert!(e.message.starts_with("ref_offset: 2"), "{}", e.message);
    /// plan.offer(&x[..1], &x, 3, 0).unwrap();
    /// ```
    pub fn offer(&mut self, rows: &[f32], refs: &[f32], n_refs: usize, ref_offset: usize) -> Result<(), Error> {
        matrix_len("rows", rows.len(), self.row1 - self.row0, self.d)?;
        matrix_len("refs", refs.len(), n_refs, self.d)?;
        let (nr, offset) = (to_i64("n_refs", n_refs)?, to_i64("ref_offset", ref_offset)?);
        let ld = self.d as i64;
        check(unsafe { sys::rlcc_jaccard_plan_offer(self.handle, rows.as_ptr(), ld, refs.as_ptr(), nr, ld, offset) })
    }

    /// The weight rows of the plan's rows, a `(row1 - row0) x n` matrix:
    /// rows `row0 ..` of the softmax weights [`jaccard`](crate::jaccard)
    /// computes. Refused while a distance a row needs was not offered (the
    /// message names the pair).
    ///
    /// ```
    /// let x = [0.0f32, 1.0, 3.0];
    /// let (knn, _) = rlcc::knn(&x, 3, 1, 2, 0).unwrap();
    /// let o = rlcc::JaccardOptions { k1: 2, k2: 1, sqeuclidean: true, ..Default::default() };
    /// let mut plan = rlcc::JaccardPlan::new(&knn, 3, 0, 3, 1, &o).unwrap();
    /// let e = plan.weights().unwrap_err();
    /// assert!(e.message.contains("needs its distance to row"), "{}", e.message);
    /// plan.offer(&x, &x, 3, 0).unwrap();
    /// let w = plan.weights().unwrap();
    /// assert_eq!((w.rows(), w.cols()), (3, 3));
    /// ```
    pub fn weights(&self) -> Result<Csr, Error> {
        let mut handle = ptr::null_mut();
        check(unsafe { sys::rlcc_jaccard_plan_weights(self.handle, &mut handle) })?;
        Ok(Csr::library_owned(handle))
    }

    /// Rows of the whole matrix.
    pub fn n(&self) -> usize {
        self.n
    }

    /// The plan's first row.
    pub fn row0(&self) -> usize {
        self.row0
    }

    /// One past the plan's last row.
    pub fn row1(&self) -> usize {
        self.row1
    }

    /// Row width.
    pub fn d(&self) -> usize {
        self.d
    }
}

impl fmt::Debug for JaccardPlan {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "JaccardPlan {{ n: {}, rows: {}..{}, d: {} }}", self.n, self.row0, self.row1, self.d)
    }
}

impl Drop for JaccardPlan {
    fn drop(&mut self) {
        unsafe { sys::rlcc_jaccard_plan_free(self.handle) }
    }
}

/// Jaccard rows `row0 .. row1` (`rlcc_jaccard_rows`, librlcc 1.8) from the
/// weight rows of all `n` rows (`weights`, `n x n`: every block's
/// [`JaccardPlan::weights`] concatenated in row order, columns strictly
/// ascending, values in `[0, 1]`) and the `n x k1` kNN lists: a `(row1 -
/// row0) x n` matrix of the entries below `options.cutoff`. Concatenated
/// over a blocking of `[0, n)` they are [`jaccard`](crate::jaccard)'s
/// result, byte for byte. See [`JaccardPlan`] for the whole sequence.
///
/// ```
/// let knn = vec![0i64, 1, 1, 0];
/// let o = rlcc::JaccardOptions { k1: 2, k2: 1, ..Default::default() };
/// let bad = rlcc::Csr::try_from_parts(vec![0, 1, 1], vec![0], vec![2.0], 2).unwrap();
/// let e = rlcc::jaccard_rows(&bad, &knn, 0, 2, &o).unwrap_err();
/// assert!(e.message.contains("weights lie in [0, 1]"), "{}", e.message);
/// ```
pub fn jaccard_rows(weights: &Csr, knn: &[i64], row0: usize, row1: usize,
                    options: &JaccardOptions) -> Result<Csr, Error> {
    let n = weights.rows();
    if weights.cols() != n {
        return Err(invalid(&format!("weights: {} x {}, expected a square matrix", n, weights.cols())));
    }
    check_lists(knn, n, options)?;
    let (r0, r1) = (to_i64("row0", row0)?, to_i64("row1", row1)?);
    let o = options.raw();
    let mut handle = ptr::null_mut();
    check(unsafe {
        sys::rlcc_jaccard_rows(n as i64, weights.indptr().as_ptr(), weights.indices().as_ptr(), weights.data().as_ptr(),
                               knn.as_ptr(), r0, r1, &o, &mut handle)
    })?;
    Ok(Csr::library_owned(handle))
}

/// [`pseudo_labels`](crate::pseudo_labels) from a distance graph the caller
/// already has (`rlcc_pseudo_labels_graph`, librlcc 1.8): DBSCAN at
/// `options.eps` over the `n x n` graph (as [`dbscan_csr`](crate::dbscan_csr)
/// reads it), the outlier policy and the reliability criterion, exactly as
/// `pseudo_labels` applies them to its Jaccard graph. So the Jaccard rows of
/// [`jaccard_rows`] over every block, concatenated, give `pseudo_labels`'s
/// labels, class count and threshold. `options.method` must be
/// [`PseudoMethod::Dbscan`](crate::PseudoMethod::Dbscan); the metric, `k1`,
/// `k2`, `normalize` and `cutoff` are neither read nor checked.
///
/// ```
/// // two pairs of close rows and a lone one
/// let graph = rlcc::Csr::try_from_parts(
///     vec![0, 2, 4, 6, 8, 9],
///     vec![0, 1, 0, 1, 2, 3, 2, 3, 4],
///     vec![0.0, 0.1, 0.1, 0.0, 0.0, 0.1, 0.1, 0.0, 0.0], 5).unwrap();
/// let o = rlcc::PseudoOptions { eps: vec![0.5], min_samples: 2, reliability: false,
///                               k1: 2, k2: 1, ..Default::default() };
/// let p = rlcc::pseudo_labels_graph(&graph, &o).unwrap();
/// assert_eq!((p.labels, p.n_classes), (vec![0, 0, 1, 1, 2], 3));
/// ```
pub fn pseudo_labels_graph(graph: &Csr, options: &PseudoOptions) -> Result<PseudoLabels, Error> {
    let n = graph.rows();
    if graph.cols() != n {
        return Err(invalid(&format!("graph: {} x {}, expected a square matrix", n, graph.cols())));
    }
    // a Csr is checked when it is built; a second look costs little beside DBSCAN
    check_csr(graph.indptr(), graph.indices(), graph.data(), n)?;
    let o = options.raw()?;
    let mut labels = vec![0i32; n];
    let (mut k, mut threshold) = (0i64, 0f64);
    check(unsafe {
        sys::rlcc_pseudo_labels_graph(n as i64, graph.indptr().as_ptr(), graph.indices().as_ptr(),
                                      graph.data().as_ptr(), &o, labels.as_mut_ptr(), &mut k, &mut threshold)
    })?;
    Ok(PseudoLabels { labels, n_classes: k, threshold })
}
