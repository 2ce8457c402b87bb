//! Refiner checkpoints through the crate (librlcc 1.6): `Refiner::save`,
//! `Refiner::load`, `try_clone` and the `Borrowed` twins. A refiner restored
//! at generation 0, 1, 2 or 3 shows what one that never stopped shows (labels,
//! centroids, threshold, targets, bytes and its own saved state, bit for bit),
//! before and after every later step, for every step kind; truncated,
//! bit-flipped and foreign bytes are refused with INVALID_ARGUMENT and the
//! library's message; the size is the documented one.

use rlcc::code::{INVALID_ARGUMENT, MEMORY_LIMIT};
use rlcc::{LoadOptions, Metric, PseudoOptions, Refiner, RefinerOptions, StepOptions};

const N: usize = 160;
const D: usize = 12;

/// tests/c/test_knn.c's generator (as tests/options.rs).
struct Rng(u64);

impl Rng {
    fn next_u32(&mut self) -> u32 {
        self.0 = self.0.wrapping_mul(6364136223846793005).wrapping_add(1442695040888963407);
        (self.0 >> 33) as u32
    }
}

/// Generation t's features: unit rows around 16 directions, new noise each
/// generation, and every 13th sample moved to the next direction, so the
/// classes change from one generation to the next.
fn features(t: usize) -> Vec<f32> {
    let mut rng = Rng(9000 + t as u64);
    let mut x = vec![0f32; N * D];
    for i in 0..N {
        let id = (i % 16 + usize::from(i % 13 == t)) % 16;
        let mut sum = 0.0f64;
        for c in 0..D {
            let v = if c == id % D { 1.0 } else { 0.0 } + if c == (id + 3) % D { 0.6 } else { 0.0 }
                + (rng.next_u32() as f64 / 4294967296.0 - 0.5) * 0.35;
            x[i * D + c] = v as f32;
            sum += v * v;
        }
        for c in 0..D {
            x[i * D + c] = (x[i * D + c] as f64 / sum.sqrt()) as f32;
        }
    }
    x
}

fn pseudo(metric: Option<Metric>) -> PseudoOptions {
    match metric {
        None => PseudoOptions { k1: 20, k2: 4, min_samples: 3, eps: vec![0.5, 0.55, 0.6], ..Default::default() },
        Some(Metric::Euclidean) => PseudoOptions { metric, min_samples: 3, eps: vec![0.5, 0.6, 0.7], ..Default::default() },
        Some(Metric::Cosine) => PseudoOptions { metric, min_samples: 3, eps: vec![0.12, 0.18, 0.24], ..Default::default() },
    }
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Way {
    /// `step_matrix`: the refiner copies what its targets read.
    Copy,
    /// `step_borrowed`: the save reads the caller's matrix through the `Borrowed`.
    Borrow,
    /// `step_matrix_with` and a logits closure: the state holds the probabilities.
    Logits,
    /// `step`, a features closure.
    Callback,
}

/// The previous model's logits at generation t (deterministic in the row,
/// the class and t).
fn logits_closure(t: usize) -> impl FnMut(usize, usize, &mut [f32]) -> rlcc::CallbackResult {
    move |start, k_prev, block| {
        for (r, row) in block.chunks_mut(k_prev.max(1)).enumerate() {
            for (c, v) in row.iter_mut().enumerate() {
                *v = ((start + r + 3 * c + t) % 7) as f32 * 0.75;
            }
        }
        Ok(())
    }
}

fn bits(values: &[f32]) -> Vec<u32> {
    values.iter().map(|v| v.to_bits()).collect()
}

/// Everything a refiner shows, compared bit for bit.
#[derive(Clone, Debug, PartialEq, Eq)]
struct Snapshot {
    generation: i64,
    n_classes: i64,
    threshold: u64,
    labels: Vec<i32>,
    centroids: Vec<u32>,
    bytes: Option<i64>,
    targets: Vec<u32>,
    batch: Vec<u32>,
    state: Vec<u8>,
}

const ROWS: [i64; 5] = [7, 0, N as i64 - 1, 7, 40];

/// What `r` shows; `borrowed` is the `Borrowed` of its last step when that
/// step borrowed (the targets and the save read through it).
fn snapshot(r: &Refiner, borrowed: Option<&rlcc::Borrowed>, with_bytes: bool) -> Snapshot {
    let (targets, batch, state) = match borrowed {
        Some(b) => (b.targets_all().unwrap(), b.targets(&ROWS).unwrap(), b.save().unwrap()),
        None if r.generation() == 0 => (Vec::new(), Vec::new(), r.save().unwrap()),
        None => (r.targets_all().unwrap(), r.targets(&ROWS).unwrap(), r.save().unwrap()),
    };
    Snapshot {
        generation: r.generation(),
        n_classes: r.n_classes(),
        threshold: r.threshold().to_bits(),
        labels: if r.generation() == 0 { Vec::new() } else { r.labels().unwrap() },
        centroids: if r.generation() == 0 { Vec::new() } else { bits(&r.centroids().unwrap()) },
        bytes: if with_bytes { Some(r.bytes()) } else { None },
        targets: bits(&targets),
        batch: bits(&batch),
        state,
    }
}

/// Step t of `r`, then its snapshot (taken through the step's `Borrowed`
/// when it borrows, before that is dropped).
fn step(r: &mut Refiner, t: usize, x: &[f32], way: Way) -> Snapshot {
    match way {
        Way::Copy => {
            r.step_matrix(x, D).unwrap();
        }
        Way::Borrow => {
            let (_, borrowed) = r.step_borrowed(x, D).unwrap();
            return snapshot(&borrowed, Some(&borrowed), true);
        }
        Way::Logits => {
            let mut logits = logits_closure(t);
            r.step_matrix_with(x, D, &StepOptions::default(), Some(&mut logits), None).unwrap();
        }
        Way::Callback => {
            r.step(|start, rows| rows.copy_from_slice(&x[start * D..start * D + rows.len()]), 32).unwrap();
        }
    }
    snapshot(r, None, true)
}

/// Restored before step t (t generations done) for t in 0..4, each restored
/// refiner steps with the one that never stopped and shows the same after
/// every step. A restored refiner owns the rows a borrowing refiner only
/// points at, so its bytes() differ by 4 n d until its first step.
fn continues_bit_for_bit(metric: Option<Metric>, beta: f32, way: Way) {
    let label = format!("{:?} beta {} {:?}", metric, beta, way);
    let xs: Vec<Vec<f32>> = (0..5).map(features).collect();
    let options = RefinerOptions { beta, ..Default::default() };
    let mut never = Refiner::with_options(N, D, &pseudo(metric), &options).unwrap();
    let mut last = snapshot(&never, None, true);
    let mut restored: Vec<Refiner> = Vec::new();
    for (t, x) in xs.iter().enumerate() {
        if t < 4 {
            let state = last.state.clone();
            let r = if t % 2 == 0 {
                Refiner::load(&state, &LoadOptions::default()).unwrap()
            } else {
                Refiner::load(&state, &LoadOptions { n_threads: 1, ..Default::default() }).unwrap()
            };
            let owns_a_copy = way == Way::Borrow && beta < 1.0 && t >= 2;
            let mut want = last.clone();
            if owns_a_copy {
                want.bytes = None;
                assert_eq!(r.bytes(), last.bytes.unwrap() + (4 * N * D) as i64, "{}: the copy of the borrowed rows", label);
            }
            assert_eq!(snapshot(&r, None, !owns_a_copy), want, "{}: restored at generation {}", label, t);
            restored.push(r);
        }
        last = step(&mut never, t, x, way);
        // the optional arrays this configuration puts in the state (flags: 1
        // the logits' probabilities, 2 the features)
        let flags = u32::from_le_bytes(last.state[24..28].try_into().unwrap());
        let want = match (t >= 1, way) {
            (false, _) => 0,
            (true, Way::Logits) => 1,
            (true, _) if beta < 1.0 => 2,
            _ => 0,
        };
        assert_eq!(flags, want, "{}: flags after step {}", label, t);
        for (i, r) in restored.iter_mut().enumerate() {
            assert_eq!(step(r, t, x, way), last, "{}: restored at generation {}, after step {}", label, i, t);
        }
    }
    assert_eq!(last.generation, 5);
    assert!(last.n_classes > 4, "{}: {} classes", label, last.n_classes);
}

#[test]
fn restored_refiners_continue_bit_for_bit_jaccard() {
    for beta in [0.0, 0.5, 1.0] {
        for way in [Way::Copy, Way::Borrow, Way::Logits, Way::Callback] {
            continues_bit_for_bit(None, beta, way);
        }
    }
}

#[test]
fn restored_refiners_continue_bit_for_bit_euclidean_and_cosine() {
    for metric in [Metric::Euclidean, Metric::Cosine] {
        for beta in [0.0, 1.0] {
            for way in [Way::Copy, Way::Borrow, Way::Logits] {
                continues_bit_for_bit(Some(metric), beta, way);
            }
        }
    }
}

/// A refiner after `generations` copying steps (beta 0: from two
/// generations on, the state holds the features).
fn stepped(generations: usize) -> Refiner {
    let mut r = Refiner::with_options(N, D, &pseudo(None), &RefinerOptions::default()).unwrap();
    for t in 0..generations {
        r.step_matrix(&features(t), D).unwrap();
    }
    r
}

fn refused<T: std::fmt::Debug>(result: Result<T, rlcc::Error>, code: i32, text: &str) -> rlcc::Error {
    let e = result.expect_err(text);
    assert_eq!(e.code, code, "{}: {}", text, e.message);
    assert!(e.message.contains(text), "{:?} does not mention {:?}", e.message, text);
    e
}

fn u64_at(state: &[u8], at: usize) -> u64 {
    u64::from_le_bytes(state[at..at + 8].try_into().unwrap())
}

/// CRC-32C (Castagnoli, reflected 0x82F63B78), bit by bit, as
/// docs/stability.md gives it: the tests' own, not the library's.
fn crc32c(bytes: &[u8]) -> u32 {
    let mut crc = !0u32;
    for &b in bytes {
        crc ^= b as u32;
        for _ in 0..8 {
            crc = if crc & 1 != 0 { (crc >> 1) ^ 0x82F6_3B78 } else { crc >> 1 };
        }
    }
    !crc
}

/// The state with its checksum made right again after an edit.
fn resealed(mut state: Vec<u8>) -> Vec<u8> {
    let end = state.len() - 4;
    let crc = crc32c(&state[..end]);
    state[end..].copy_from_slice(&crc.to_le_bytes());
    state
}

#[test]
fn the_checksum_is_crc32c() {
    assert_eq!(crc32c(b"123456789"), 0xE306_9283);
    let state = stepped(2).save().unwrap();
    let end = state.len() - 4;
    assert_eq!(u32::from_le_bytes(state[end..].try_into().unwrap()), crc32c(&state[..end]));
}

#[test]
fn the_size_is_the_documented_one_and_the_size_query_is_two_calls() {
    let knn_lists = {
        let (lists, _) = rlcc::knn(&features(3), N, D, 20, 0).unwrap();
        lists
    };
    let mut r = Refiner::with_options(N, D, &pseudo(None), &RefinerOptions::default()).unwrap();
    let mut classes = Vec::new();
    for t in 0..4 {
        let state = r.save().unwrap();
        let (k, k_prev) = (classes.last().copied().unwrap_or(0), if t >= 2 { classes[t - 2] } else { 0 });
        let mut want = 196;
        if t >= 1 {
            want += 4 * N + 4 * D * k;
        }
        if t >= 2 {
            want += 4 * N + 4 * D * k_prev + 4 * N * D; // beta 0, no logits: the features
        }
        assert_eq!(state.len(), want, "after {} generations", t);
        assert_eq!(u64_at(&state, 16), want as u64, "the header's size field");
        assert_eq!(&state[..8], b"\x89RLCCRF\x1a");
        assert_eq!(u32::from_le_bytes(state[8..12].try_into().unwrap()), 1); // DBSCAN: format 1
        assert_eq!(u32::from_le_bytes(state[12..16].try_into().unwrap()), unsafe { rlcc::sys::rlcc_version_number() });
        assert_eq!(u64_at(&state, 48), t as u64, "generations completed");
        assert_eq!(state, r.save().unwrap(), "the same bytes every time");
        r.step_matrix(&features(t), D).unwrap();
        classes.push(r.n_classes() as usize);
    }
    // kNN lists set for the next step travel in the state: + 8 n k1
    let before = r.save().unwrap().len();
    r.set_knn(Some(&knn_lists)).unwrap();
    assert_eq!(r.save().unwrap().len(), before + 8 * N * 20);

    // the library's two calls, as Refiner::save makes them, on a library
    // refiner of the test's own (the crate keeps its handle private)
    let state = r.save().unwrap();
    let mut raw = std::ptr::null_mut();
    let rc = unsafe {
        rlcc::sys::rlcc_refiner_load(state.as_ptr() as *const std::os::raw::c_void, state.len(), std::ptr::null(), &mut raw)
    };
    assert_eq!(rc, 0);
    let mut size = 0usize;
    assert_eq!(unsafe { rlcc::sys::rlcc_refiner_save(raw, std::ptr::null_mut(), 0, &mut size) }, 0);
    assert_eq!(size, state.len());
    let mut small = vec![0xA5u8; size - 1];
    let mut reported = 0usize;
    let rc = unsafe {
        rlcc::sys::rlcc_refiner_save(raw, small.as_mut_ptr() as *mut std::os::raw::c_void, small.len(), &mut reported)
    };
    assert_eq!(rc, INVALID_ARGUMENT);
    assert_eq!(reported, size, "a refused call still reports the size");
    assert!(small.iter().all(|&b| b == 0xA5), "a refused call writes nothing");
    let mut exact = vec![0u8; size];
    let rc = unsafe {
        rlcc::sys::rlcc_refiner_save(raw, exact.as_mut_ptr() as *mut std::os::raw::c_void, exact.len(), &mut reported)
    };
    assert_eq!((rc, reported), (0, size));
    assert_eq!(exact, state, "saving a loaded refiner gives back its bytes");
    unsafe { rlcc::sys::rlcc_refiner_free(raw) };
}

#[test]
fn truncated_states_are_refused() {
    for generations in [0, 1, 3] {
        let state = stepped(generations).save().unwrap();
        let len = state.len();
        for cut in (0..len).filter(|&c| c < 200 || c % 97 == 0 || c + 8 > len) {
            let e = refused(Refiner::load(&state[..cut], &LoadOptions::default()), INVALID_ARGUMENT, "state: ");
            assert!(e.message.starts_with("state: "), "{}", e.message);
            if cut >= 24 {
                assert!(e.message.starts_with("state: truncated"), "cut {}: {}", cut, e.message);
            }
        }
        let mut longer = state.clone();
        longer.push(0);
        refused(Refiner::load(&longer, &LoadOptions::default()), INVALID_ARGUMENT, "bytes after the end");
    }
    let e = refused(Refiner::load(&[], &LoadOptions::default()), INVALID_ARGUMENT, "state: ");
    assert_eq!(e.message, "state: 0 bytes, too few for a refiner state (its header alone is 192)");
}

#[test]
fn bit_flipped_states_are_refused() {
    let state = stepped(3).save().unwrap();
    let mut flips = 0;
    for at in 0..state.len() {
        let mut bad = state.clone();
        bad[at] ^= 1 << (at % 8);
        let e = refused(Refiner::load(&bad, &LoadOptions::default()), INVALID_ARGUMENT, "state: ");
        let want = match at {
            0..=7 => "not a librlcc refiner state",
            16..=23 => "", // the size field: truncated, or bytes after the end
            _ => "the bytes are corrupted",
        };
        assert!(e.message.contains(want), "byte {}: {}", at, e.message);
        flips += 1;
    }
    assert_eq!(flips, state.len());
    // a good state still loads
    Refiner::load(&state, &LoadOptions::default()).unwrap();
}

#[test]
fn foreign_bytes_are_refused() {
    let state = stepped(2).save().unwrap();
    let mut rng = Rng(77);
    let noise: Vec<u8> = (0..state.len()).map(|_| rng.next_u32() as u8).collect();
    let png = b"\x89PNG\r\n\x1a\n\0\0\0\rIHDR".repeat(20);
    for (what, bytes) in [("noise", noise), ("zeros", vec![0u8; 400]), ("png", png), ("text", b"{\"state\": 1}".to_vec())] {
        refused(Refiner::load(&bytes, &LoadOptions::default()), INVALID_ARGUMENT, "state: ");
        if bytes.len() >= 8 {
            let e = Refiner::load(&bytes, &LoadOptions::default()).unwrap_err();
            assert!(e.message.contains("not a librlcc refiner state"), "{}: {}", what, e.message);
        }
    }
    // the magic and nothing after it
    refused(Refiner::load(&state[..8], &LoadOptions::default()), INVALID_ARGUMENT, "state: ");
    // a later format, checksum made right: refused, naming the writer's version
    let mut later = state.clone();
    later[8..12].copy_from_slice(&(rlcc::STATE_FORMAT + 1).to_le_bytes());
    later[12..16].copy_from_slice(&10900u32.to_le_bytes());
    let e = refused(Refiner::load(&resealed(later), &LoadOptions::default()), INVALID_ARGUMENT, "format version 3");
    assert!(e.message.contains("written by librlcc 1.9.0"), "{}", e.message);
    // resealed wrong content: refused by name
    let mut labels = state.clone();
    labels[192..196].copy_from_slice(&100_000i32.to_le_bytes()); // the first label of the latest generation
    refused(Refiner::load(&resealed(labels), &LoadOptions::default()), INVALID_ARGUMENT, "state: labels");
    let mut flags = state.clone();
    flags[24] |= 0x80;
    refused(Refiner::load(&resealed(flags), &LoadOptions::default()), INVALID_ARGUMENT, "state: flags");
    let mut alpha = state;
    alpha[80..84].copy_from_slice(&2.0f32.to_le_bytes());
    refused(Refiner::load(&resealed(alpha), &LoadOptions::default()), INVALID_ARGUMENT, "state: ");
}

#[test]
fn pending_knn_lists_travel_in_the_state() {
    let x = features(1);
    let (own, _) = rlcc::knn(&x, N, D, 20, 0).unwrap();
    let mut r = stepped(1);
    r.set_knn(Some(&own)).unwrap();
    let mut restored = Refiner::load(&r.save().unwrap(), &LoadOptions::default()).unwrap();
    assert_eq!(restored.save().unwrap(), r.save().unwrap());
    let a = r.step_matrix(&x, D).unwrap();
    let b = restored.step_matrix(&x, D).unwrap();
    assert_eq!(a.labels, b.labels);
    assert_eq!(r.save().unwrap(), restored.save().unwrap());
    // a bad list set before the save fails the restored refiner's step, as the original's
    let mut bad = own;
    bad[3] = N as i64;
    r.set_knn(Some(&bad)).unwrap();
    let mut restored = Refiner::load(&r.save().unwrap(), &LoadOptions::default()).unwrap();
    refused(restored.step_matrix(&x, D), INVALID_ARGUMENT, "knn: ");
    refused(r.step_matrix(&x, D), INVALID_ARGUMENT, "knn: ");
    assert_eq!(restored.generation(), 2);
    // set_knn on a restored refiner checks the restored k1 (20)
    refused(restored.set_knn(Some(&bad[1..])), INVALID_ARGUMENT, "knn: 3199 values, expected 160 x 20");
    restored.set_knn(None).unwrap();
}

#[test]
fn load_options_bound_the_load_only() {
    let r = stepped(3);
    let state = r.save().unwrap();
    let want = r.save().unwrap();
    for n_threads in [0, 1, 2, 3] {
        let loaded = Refiner::load(&state, &LoadOptions { n_threads, ..Default::default() }).unwrap();
        assert_eq!(loaded.save().unwrap(), want, "n_threads {}", n_threads);
    }
    refused(Refiner::load(&state, &LoadOptions { max_bytes: 1000, ..Default::default() }), MEMORY_LIMIT, "");
    refused(Refiner::load(&state, &LoadOptions { n_threads: -1, ..Default::default() }), INVALID_ARGUMENT, "n_threads");
    refused(Refiner::load(&state, &LoadOptions { max_bytes: -1, ..Default::default() }), INVALID_ARGUMENT, "max_bytes");
    // a bound that fits holds for the load only: the refiner keeps the saved budget (0 here)
    let roomy = LoadOptions { max_bytes: 16 * state.len() as i64, ..Default::default() };
    let mut loaded = Refiner::load(&state, &roomy).unwrap();
    loaded.step_matrix(&features(3), D).unwrap();
    // the saved budget: a refiner whose budget is too small for its next step keeps it when restored
    let tight = PseudoOptions { max_bytes: r.bytes() + 64, ..pseudo(None) };
    let mut small = Refiner::with_options(N, D, &tight, &RefinerOptions::default()).unwrap();
    refused(small.step_matrix(&features(0), D), MEMORY_LIMIT, "");
    let mut restored = Refiner::load(&small.save().unwrap(), &LoadOptions { max_bytes: 1 << 30, ..Default::default() }).unwrap();
    refused(restored.step_matrix(&features(0), D), MEMORY_LIMIT, "");
}

#[test]
fn the_load_options_struct_is_the_librarys() {
    let mut raw = rlcc::sys::rlcc_load_options::default();
    let rc = unsafe { rlcc::sys::rlcc_load_options_init(&mut raw, std::mem::size_of::<rlcc::sys::rlcc_load_options>()) };
    assert_eq!(rc, 0);
    assert_eq!(raw.struct_size, std::mem::size_of::<rlcc::sys::rlcc_load_options>());
    assert_eq!((raw.n_threads, raw.reserved, raw.max_bytes), (0, 0, 0));
    assert_eq!(LoadOptions::default(), LoadOptions { n_threads: raw.n_threads, max_bytes: raw.max_bytes });
    // a non-zero reserved field is refused by the library
    raw.reserved = 1;
    let state = stepped(1).save().unwrap();
    let mut out = std::ptr::null_mut();
    let rc = unsafe { rlcc::sys::rlcc_refiner_load(state.as_ptr() as *const std::os::raw::c_void, state.len(), &raw, &mut out) };
    assert_eq!(rc, INVALID_ARGUMENT);
    assert!(out.is_null(), "a refused load leaves *out untouched");
}

#[test]
fn try_clone_and_the_borrowed_twins() {
    let xs: Vec<Vec<f32>> = (0..4).map(features).collect();
    let mut r = stepped(0);
    r.step_borrowed(&xs[0], D).unwrap();
    let (copy, state) = {
        let (_, borrowed) = r.step_borrowed(&xs[1], D).unwrap();
        let copy = borrowed.try_clone().unwrap();
        let state = borrowed.save().unwrap();
        assert_eq!(copy.save().unwrap(), state);
        assert_eq!(bits(&copy.targets_all().unwrap()), bits(&borrowed.targets_all().unwrap()));
        assert_eq!(copy.bytes(), borrowed.bytes() + (4 * N * D) as i64, "the copy owns the rows");
        (copy, state)
    };
    // the Borrowed is gone: the refiner's own save and try_clone are refused, as its targets are
    refused(r.save(), INVALID_ARGUMENT, "save through the Borrowed");
    refused(r.try_clone(), INVALID_ARGUMENT, "borrowed its features");
    refused(r.targets(&[0]), INVALID_ARGUMENT, "borrowed its features");
    // the copy is independent: stepping one leaves the other as it was
    let mut copy = copy;
    let mut second = copy.try_clone().unwrap();
    copy.step_matrix(&xs[2], D).unwrap();
    assert_eq!(second.generation(), 2);
    assert_eq!(second.save().unwrap(), state);
    drop(r); // the original's handle is freed; the copies have their own
    second.step_matrix(&xs[2], D).unwrap();
    assert_eq!(second.save().unwrap(), copy.save().unwrap());
    // a step that succeeds clears the mark, so the original could save again
    let mut r = stepped(0);
    r.step_borrowed(&xs[0], D).unwrap();
    refused(r.save(), INVALID_ARGUMENT, "borrowed");
    r.step_matrix(&xs[1], D).unwrap();
    assert_eq!(Refiner::load(&r.save().unwrap(), &LoadOptions::default()).unwrap().generation(), 2);
}

#[test]
fn several_threads_load_one_state() {
    let state = stepped(3).save().unwrap();
    let want = Refiner::load(&state, &LoadOptions::default()).unwrap().targets_all().unwrap();
    std::thread::scope(|scope| {
        let handles: Vec<_> = (0..4)
            .map(|i| {
                let state = &state;
                scope.spawn(move || {
                    let r = Refiner::load(state, &LoadOptions { n_threads: 1 + i % 2, ..Default::default() }).unwrap();
                    (r.save().unwrap() == *state, bits(&r.targets_all().unwrap()))
                })
            })
            .collect();
        for h in handles {
            let (same, targets) = h.join().unwrap();
            assert!(same);
            assert_eq!(targets, bits(&want));
        }
    });
}
