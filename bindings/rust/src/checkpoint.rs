//! Refiner checkpoints (librlcc 1.6, `rlcc_refiner_save` / `rlcc_refiner_load`):
//! [`Refiner::save`], [`Refiner::load`] with its [`LoadOptions`],
//! [`Refiner::try_clone`], and the same on a [`Borrowed`] (whose features the
//! save reads).
//!
//! Why there is no `impl Clone for Refiner`: a copy goes through the bytes,
//! and both halves can fail where `Clone` cannot report it. The load charges
//! the copy's arrays to the refiner's budget (`MEMORY_LIMIT`, and out of
//! memory), and a refiner whose last step borrowed its features cannot be
//! saved once their [`Borrowed`] is gone. `Clone` would have to panic there;
//! `try_clone` returns the error, as `std::fs::File::try_clone` does for a
//! copy that needs the system. (The crate's other handle types are not `Clone`
//! either.)

use std::os::raw::c_void;
use std::ptr;

use crate::{check, initialized, invalid, sys, Borrowed, Error, Refiner};

/// The latest checkpoint format version this crate reads the header of
/// (`RLCC_STATE_FORMAT`, 2 with librlcc 1.7): [`Refiner::save`] writes a
/// DBSCAN refiner in format 1 (what librlcc 1.6 reads) and an InfoMap or
/// k-means refiner in format 2. Every state starts with the same 24-byte
/// envelope, and `docs/stability.md` ("Checkpoint format") gives the bytes.
///
/// ```
/// let r = rlcc::Refiner::new(60, 2).unwrap();
/// let state = r.save().unwrap();
/// assert_eq!(&state[..8], b"\x89RLCCRF\x1a"); // the magic number
/// assert_eq!(u32::from_le_bytes(state[8..12].try_into().unwrap()), 1); // DBSCAN: format 1
/// let k = rlcc::Refiner::with_options(60, 2, &rlcc::PseudoOptions::kmeans(3),
///                                      &Default::default()).unwrap();
/// let state = k.save().unwrap();
/// assert_eq!(u32::from_le_bytes(state[8..12].try_into().unwrap()), rlcc::STATE_FORMAT);
/// ```
pub const STATE_FORMAT: u32 = sys::RLCC_STATE_FORMAT;

/// Options of [`Refiner::load`] (`rlcc_load_options`, librlcc 1.6): they hold
/// for the load only, never for the refiner it makes. The default is the
/// library's: every OpenMP thread, the saved refiner's budget.
///
/// ```
/// let o = rlcc::LoadOptions::default();
/// assert_eq!((o.n_threads, o.max_bytes), (0, 0));
/// ```
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct LoadOptions {
    /// Threads for the checks of the loaded arrays; 0 = all OpenMP threads.
    /// Never the saved refiner's `n_threads` (bytes from elsewhere do not
    /// choose this call's threads), and not kept by the new refiner, whose
    /// steps and targets default to the saved `n_threads`.
    pub n_threads: i32,
    /// Bound on what the load allocates: the new refiner's arrays plus the
    /// call's working memory (about `8 n + 9 (K + K')` bytes, and `8 n` for
    /// the features check); 0 = the saved refiner's budget
    /// ([`PseudoOptions::max_bytes`](crate::PseudoOptions::max_bytes)), which
    /// stays the new refiner's own budget whatever this says.
    pub max_bytes: i64,
}

impl Default for LoadOptions {
    fn default() -> Self {
        let o: sys::rlcc_load_options = initialized(sys::rlcc_load_options_init);
        LoadOptions { n_threads: o.n_threads, max_bytes: o.max_bytes }
    }
}

impl LoadOptions {
    fn raw(&self) -> sys::rlcc_load_options {
        let mut o: sys::rlcc_load_options = initialized(sys::rlcc_load_options_init);
        o.n_threads = self.n_threads;
        o.max_bytes = self.max_bytes;
        o
    }
}

/// `rlcc_refiner_save` by its two calls: the size, then the bytes. The
/// refiner cannot step in between: a `&Refiner` is neither sent nor shared
/// across threads (`Refiner` is neither `Send` nor `Sync`), and a step takes
/// `&mut`.
fn saved(handle: *const sys::rlcc_refiner) -> Result<Vec<u8>, Error> {
    let mut size = 0usize;
    check(unsafe { sys::rlcc_refiner_save(handle, ptr::null_mut(), 0, &mut size) })?;
    let mut state = vec![0u8; size];
    let mut written = 0usize;
    check(unsafe { sys::rlcc_refiner_save(handle, state.as_mut_ptr() as *mut c_void, state.len(), &mut written) })?;
    state.truncate(written);
    Ok(state)
}

/// The little-endian field of `N` bytes at `at` of a state the library has
/// accepted (so it is at least its header long).
fn field<const N: usize>(state: &[u8], at: usize) -> [u8; N] {
    let mut bytes = [0u8; N];
    bytes.copy_from_slice(&state[at..at + N]);
    bytes
}

impl Refiner {
    /// The refiner's state as bytes (`rlcc_refiner_save`, librlcc 1.6), for
    /// a file, a database or a trainer's own checkpoint: everything the next
    /// step and the current generation's targets read (the options, the
    /// labels and centroids of two generations, the logits' probabilities or
    /// the features the targets read, kNN lists given to
    /// [`set_knn`](Refiner::set_knn) for the next step), little-endian at
    /// fixed offsets with a CRC-32C at the end (`docs/stability.md`,
    /// "Checkpoint format"). Not in it: the closures, which every step takes
    /// anyway. The same state always gives the same bytes. Usable at every
    /// generation, 0 included; the crate asks the library for the size
    /// first, then for the bytes.
    ///
    /// Refused (INVALID_ARGUMENT) while the refiner is marked by a borrowing
    /// step whose [`Borrowed`] is gone, as the targets are: the state would
    /// hold the borrowed matrix, which may be freed. Save through the
    /// `Borrowed` ([`Borrowed::save`]) instead.
    ///
    /// ```
    /// let x: Vec<f32> = (0..60).flat_map(|i| {
    ///     let a = (i % 3) as f32 * 2.0 + i as f32 * 0.001;
    ///     vec![a.cos(), a.sin()]
    /// }).collect();
    /// let mut r = rlcc::Refiner::new(60, 2).unwrap();
    /// assert_eq!(r.save().unwrap().len(), 196); // before the first step: the header and the checksum
    /// r.step_matrix(&x, 2).unwrap();
    /// let state = r.save().unwrap();
    /// assert_eq!(state.len(), 196 + 4 * 60 + 4 * 2 * 3); // + labels, + 3 centroids of width 2
    /// assert_eq!(state, r.save().unwrap()); // the same bytes every time
    /// ```
    pub fn save(&self) -> Result<Vec<u8>, Error> {
        if self.borrowed {
            return Err(invalid("refiner: the last step borrowed its features, and their Borrowed is gone \
                                (the matrix may be freed): save through the Borrowed, or step again"));
        }
        saved(self.handle)
    }

    /// A refiner from bytes [`save`](Refiner::save) wrote (`rlcc_refiner_load`,
    /// librlcc 1.6; this or an earlier librlcc's). Its generation, labels,
    /// centroids, threshold, targets and [`bytes`](Refiner::bytes) are those
    /// of the refiner that was saved, and so is every later step given the
    /// same features and closures, bit for bit. The saved `n_threads` and
    /// `max_bytes` stay its defaults for its steps and targets. Features that
    /// were borrowed at the save are its own copy now (so `bytes()` counts
    /// `4 n d` more until its next step), and it is not marked.
    ///
    /// The bytes are never trusted: the library checks everything before it
    /// makes the refiner, and a truncated, corrupted or foreign state is
    /// refused with INVALID_ARGUMENT and a message that starts `state: ` and
    /// names what is wrong. `options` bound this call only.
    ///
    /// ```
    /// let x: Vec<f32> = (0..60).flat_map(|i| {
    ///     let a = (i % 3) as f32 * 2.0 + i as f32 * 0.001;
    ///     vec![a.cos(), a.sin()]
    /// }).collect();
    /// let mut r = rlcc::Refiner::new(60, 2).unwrap();
    /// r.step_matrix(&x, 2).unwrap();
    /// let state = r.save().unwrap();
    /// let mut restored = rlcc::Refiner::load(&state, &rlcc::LoadOptions::default()).unwrap();
    /// assert_eq!(restored.labels().unwrap(), r.labels().unwrap());
    /// assert_eq!(restored.step_matrix(&x, 2).unwrap().labels, r.step_matrix(&x, 2).unwrap().labels);
    ///
    /// let e = rlcc::Refiner::load(&state[..state.len() - 1], &Default::default()).unwrap_err();
    /// assert_eq!(e.code, rlcc::code::INVALID_ARGUMENT);
    /// assert!(e.message.starts_with("state: truncated"), "{}", e.message);
    /// let tiny = rlcc::LoadOptions { max_bytes: 64, ..Default::default() };
    /// assert_eq!(rlcc::Refiner::load(&state, &tiny).unwrap_err().code, rlcc::code::MEMORY_LIMIT);
    /// ```
    pub fn load(state: &[u8], options: &LoadOptions) -> Result<Refiner, Error> {
        let o = options.raw();
        let mut handle = ptr::null_mut();
        check(unsafe { sys::rlcc_refiner_load(state.as_ptr() as *const c_void, state.len(), &o, &mut handle) })?;
        // dropped (freed) if the header below is not one this crate reads
        let mut refiner = Refiner { handle, n: 0, d: 0, k1: 0, borrowed: false };
        // The library accepted the bytes, so they hold a header of a format it
        // knows; n, d and the kNN list width are read where formats 1 and 2
        // have them, as the Python binding does. A later format (a newer
        // librlcc under this crate) is refused rather than read at offsets it
        // may not keep.
        let format = u32::from_le_bytes(field(state, 8));
        if format == 0 || format > STATE_FORMAT {
            return Err(invalid(&format!(
                "state: format version {}, which this rlcc crate ({}) cannot read the shape of (it knows format {})",
                format, env!("CARGO_PKG_VERSION"), STATE_FORMAT)));
        }
        let (n, d) = (i64::from_le_bytes(field(state, 32)), i64::from_le_bytes(field(state, 40)));
        refiner.n = usize::try_from(n).map_err(|_| invalid(&format!("state: n = {} does not fit usize", n)))?;
        refiner.d = usize::try_from(d).map_err(|_| invalid(&format!("state: d = {} does not fit usize", d)))?;
        // the width of the lists set_knn takes: k1, or infomap_k (format 2)
        // for an InfoMap refiner (method at offset 140)
        let method = i32::from_le_bytes(field(state, 140));
        refiner.k1 = if format >= 2 && method == sys::RLCC_PSEUDO_INFOMAP {
            i32::from_le_bytes(field(state, 192))
        } else {
            i32::from_le_bytes(field(state, 100))
        };
        Ok(refiner)
    }

    /// An independent copy through [`save`](Refiner::save) and
    /// [`load`](Refiner::load) (default [`LoadOptions`]): the same state, a
    /// library handle of its own. Fails where those do (a marked refiner, the
    /// budget), which is why `Refiner` is not `Clone`.
    ///
    /// ```
    /// let x: Vec<f32> = (0..60).flat_map(|i| {
    ///     let a = (i % 3) as f32 * 2.0 + i as f32 * 0.001;
    ///     vec![a.cos(), a.sin()]
    /// }).collect();
    /// let mut r = rlcc::Refiner::new(60, 2).unwrap();
    /// r.step_matrix(&x, 2).unwrap();
    /// let copy = r.try_clone().unwrap();
    /// drop(r);
    /// assert_eq!(copy.generation(), 1);
    /// ```
    ///
    /// ```compile_fail,E0599
    /// let r = rlcc::Refiner::new(60, 2).unwrap();
    /// let copy = r.clone(); // not Clone: try_clone
    /// ```
    pub fn try_clone(&self) -> Result<Refiner, Error> {
        Refiner::load(&self.save()?, &LoadOptions::default())
    }
}

impl<'r, 'x> Borrowed<'r, 'x> {
    /// [`Refiner::save`], reading the borrowed features (the `Borrowed`
    /// holds them, so they are as the step saw them). A refiner loaded from
    /// these bytes owns a copy of them.
    ///
    /// ```
    /// let x: Vec<f32> = (0..60).flat_map(|i| {
    ///     let a = (i % 3) as f32 * 2.0 + i as f32 * 0.001;
    ///     vec![a.cos(), a.sin()]
    /// }).collect();
    /// let mut r = rlcc::Refiner::new(60, 2).unwrap();
    /// r.step_borrowed(&x, 2).unwrap();
    /// let (_, borrowed) = r.step_borrowed(&x, 2).unwrap();
    /// let state = borrowed.save().unwrap(); // holds x's rows: the targets read them
    /// drop(borrowed);
    /// assert!(r.save().is_err()); // the Borrowed is gone: x may be too
    /// let restored = rlcc::Refiner::load(&state, &Default::default()).unwrap();
    /// assert_eq!(restored.targets(&[0, 1]).unwrap().len(), 2 * restored.n_classes() as usize);
    /// ```
    pub fn save(&self) -> Result<Vec<u8>, Error> {
        saved(self.refiner.handle)
    }

    /// [`Refiner::try_clone`], reading the borrowed features: the copy owns
    /// them (it is not marked).
    ///
    /// ```
    /// let x: Vec<f32> = (0..60).flat_map(|i| {
    ///     let a = (i % 3) as f32 * 2.0 + i as f32 * 0.001;
    ///     vec![a.cos(), a.sin()]
    /// }).collect();
    /// let mut r = rlcc::Refiner::new(60, 2).unwrap();
    /// let (_, borrowed) = r.step_borrowed(&x, 2).unwrap();
    /// let copy = borrowed.try_clone().unwrap();
    /// assert_eq!(copy.targets(&[4]).unwrap(), borrowed.targets(&[4]).unwrap());
    /// ```
    pub fn try_clone(&self) -> Result<Refiner, Error> {
        Refiner::load(&self.save()?, &LoadOptions::default())
    }
}
