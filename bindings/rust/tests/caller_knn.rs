//! The caller's kNN lists (librlcc 1.3): `pseudo_labels_with_knn` and
//! `Refiner::set_knn`, on the rows of tests/c/test_knn.c (160 unit rows of
//! width 12 around 16 directions, k1 = 20): librlcc's own lists give its own
//! labels, other lists give others, bad lists are refused with the library's
//! message (or, for a length only Rust can see, before the call).

use rlcc::code::INVALID_ARGUMENT;
use rlcc::{Metric, PseudoOptions, Refiner};

const N: usize = 160;
const D: usize = 12;
const K1: usize = 20;

/// tests/c/test_knn.c's generator, step for step.
struct Rng(u64);

impl Rng {
    fn next_u32(&mut self) -> u32 {
        self.0 = self.0.wrapping_mul(6364136223846793005).wrapping_add(1442695040888963407);
        (self.0 >> 33) as u32
    }
}

/// Unit rows around 16 directions, shifted by `generation` (test_knn.c's unit_rows).
fn unit_rows(generation: u64) -> Vec<f32> {
    let mut rng = Rng(4242 + generation);
    let mut x = vec![0f32; N * D];
    for i in 0..N {
        let mut sum = 0.0f64;
        for t in 0..D {
            let v = if t == i % 16 % D { 1.0 } else { 0.0 } + if t == (i % 16 + 3) % D { 0.6 } else { 0.0 }
                + (rng.next_u32() as f64 / 4294967296.0 - 0.5) * 0.3;
            x[i * D + t] = v as f32;
            sum += v * v;
        }
        for t in 0..D {
            x[i * D + t] = (x[i * D + t] as f64 / sum.sqrt()) as f32;
        }
    }
    x
}

fn options() -> PseudoOptions {
    PseudoOptions { k1: K1 as i32, k2: 4, min_samples: 3, eps: vec![0.5, 0.55, 0.6], ..Default::default() }
}

fn own_lists(x: &[f32]) -> Vec<i64> {
    rlcc::knn(x, N, D, K1, 0).unwrap().0
}

fn refused<T: std::fmt::Debug>(result: Result<T, rlcc::Error>, text: &str) {
    let e = result.expect_err(text);
    assert_eq!(e.code, INVALID_ARGUMENT, "{}: {}", text, e.message);
    assert!(e.message.contains(text), "{:?} does not mention {:?}", e.message, text);
}

fn fill(x: &[f32]) -> impl FnMut(usize, &mut [f32]) + '_ {
    move |start, rows| rows.copy_from_slice(&x[start * D..start * D + rows.len()])
}

#[test]
fn knn_follows_max_bytes_and_struct_size_covers_it() {
    use rlcc::sys::rlcc_pseudo_options;
    let size = std::mem::size_of::<rlcc_pseudo_options>();
    let mut o = rlcc_pseudo_options::default();
    assert!(o.knn.is_null());
    let base = &o as *const rlcc_pseudo_options as usize;
    let knn_at = std::ptr::addr_of!(o.knn) as usize - base;
    let max_bytes_at = std::ptr::addr_of!(o.max_bytes) as usize - base;
    let method_at = std::ptr::addr_of!(o.method) as usize - base;
    // rlcc.h: knn follows max_bytes (1.3), then method and reserved2 (1.4),
    // then the InfoMap and k-means fields (1.7) end the struct: 96, 104, 112,
    // 116, 192 on LP64 (tests/layout.rs: all of it)
    assert_eq!(knn_at, max_bytes_at + 8);
    assert_eq!(method_at, knn_at + std::mem::size_of::<*const i64>());
    let init_at = std::ptr::addr_of!(o.kmeans_init) as usize - base;
    assert_eq!(init_at, method_at + 72);
    assert_eq!(size, init_at + std::mem::size_of::<*const f32>());
    assert_eq!(unsafe { rlcc::sys::rlcc_pseudo_options_init(&mut o, size) }, 0);
    assert_eq!(o.struct_size, size);
    assert!(o.knn.is_null()); // the default: librlcc's own lists
    assert_eq!(o.k1, 30);
}

#[test]
fn pseudo_labels_take_the_callers_knn() {
    let x = unit_rows(0);
    let lists = own_lists(&x);
    let o = options();
    let own = rlcc::pseudo_labels(&x, N, D, &o).unwrap();
    let given = rlcc::pseudo_labels_with_knn(&x, N, D, &lists, &o).unwrap();
    assert!(own.n_classes > 1);
    assert_eq!(given.labels, own.labels);
    assert_eq!(given.n_classes, own.n_classes);
    assert_eq!(given.threshold.to_bits(), own.threshold.to_bits());
    // the lists from a block kNN across two "machines" are the same lists
    let mut a = rlcc::KnnState::new(N, 0, D, K1, &Default::default()).unwrap();
    let mut b = rlcc::KnnState::new(N, 0, D, K1, &Default::default()).unwrap();
    a.update(&x, &x[..70 * D], 70, 0).unwrap();
    b.update(&x, &x[70 * D..], N - 70, 70).unwrap();
    a.merge(&b).unwrap();
    let blocks = a.finish().unwrap().0;
    assert_eq!(blocks, lists);
    assert_eq!(rlcc::pseudo_labels_with_knn(&x, N, D, &blocks, &o).unwrap().labels, own.labels);
}

#[test]
fn other_lists_give_other_labels() {
    let x = unit_rows(0);
    let lists = own_lists(&x);
    let o = options();
    let own = rlcc::pseudo_labels(&x, N, D, &o).unwrap();
    let shifted: Vec<i64> = lists.iter().map(|&j| (j + 1) % N as i64).collect();
    let other = rlcc::pseudo_labels_with_knn(&x, N, D, &shifted, &o).unwrap();
    assert_ne!(other.labels, own.labels); // the lists are really read
    // the lists of the next generation's rows are not this generation's
    let next = own_lists(&unit_rows(1));
    assert_ne!(next, lists);
    let mixed = rlcc::pseudo_labels_with_knn(&x, N, D, &next, &o).unwrap();
    assert_eq!(mixed.labels.len(), N);
}

#[test]
fn pseudo_labels_refuse_bad_lists() {
    let x = unit_rows(0);
    let mut lists = own_lists(&x);
    let o = options();
    // an entry out of range, a row listing a row twice: the library's messages
    let saved = lists[5 * K1 + 3];
    lists[5 * K1 + 3] = N as i64;
    refused(rlcc::pseudo_labels_with_knn(&x, N, D, &lists, &o), "knn: entry 3 of row 5 is 160, outside [0, 160)");
    lists[5 * K1 + 3] = -1;
    refused(rlcc::pseudo_labels_with_knn(&x, N, D, &lists, &o), "knn: entry 3 of row 5 is -1");
    lists[5 * K1 + 3] = saved;
    let mut twice = lists.clone();
    twice[K1 + 1] = twice[K1];
    assert_eq!(twice[K1], 1); // row 1 lists itself first
    refused(rlcc::pseudo_labels_with_knn(&x, N, D, &twice, &o), "knn: row 1 lists 1 twice");
    // a length that is not n x k1: refused in Rust, before the library could read past the slice
    refused(rlcc::pseudo_labels_with_knn(&x, N, D, &lists[..N * K1 - 1], &o), "knn: 3199 values, expected 160 x 20");
    let longer = [lists.as_slice(), &[0]].concat();
    refused(rlcc::pseudo_labels_with_knn(&x, N, D, &longer, &o), "knn: 3201 values, expected 160 x 20");
    refused(rlcc::pseudo_labels_with_knn(&x, N, D, &[], &o), "knn: 0 values, expected 160 x 20");
    let wider = PseudoOptions { k1: K1 as i32 + 1, ..options() };
    refused(rlcc::pseudo_labels_with_knn(&x, N, D, &lists, &wider), "knn: 3200 values, expected 160 x 21");
    // a k1 the library refuses: its message, before it reads any list
    let negative = PseudoOptions { k1: -1, ..options() };
    refused(rlcc::pseudo_labels_with_knn(&x, N, D, &[], &negative), "k1");
    // lists with another metric
    for metric in [Metric::Euclidean, Metric::Cosine] {
        let plain = PseudoOptions { metric: Some(metric), ..options() };
        refused(rlcc::pseudo_labels_with_knn(&x, N, D, &lists, &plain), "knn: only the Jaccard metric reads kNN lists");
        assert!(rlcc::pseudo_labels(&x, N, D, &plain).is_ok());
    }
    // the x length is still checked first
    refused(rlcc::pseudo_labels_with_knn(&x[1..], N, D, &lists, &o), "x: 1919 values, expected 160 x 12");
    // and good lists still work after all of that
    assert_eq!(rlcc::pseudo_labels_with_knn(&x, N, D, &lists, &o).unwrap().labels,
               rlcc::pseudo_labels(&x, N, D, &o).unwrap().labels);
}

#[test]
fn a_refiner_step_on_set_knn_gives_the_labels_without() {
    let (x0, x1) = (unit_rows(0), unit_rows(1));
    let lists1 = own_lists(&x1);
    let o = options();
    let mut own = Refiner::with_options(N, D, &o, &Default::default()).unwrap();
    let mut given = Refiner::with_options(N, D, &o, &Default::default()).unwrap();
    // generation 0 on lists, generation 1 on lists, generation 2 on its own again
    given.set_knn(Some(&own_lists(&x0))).unwrap();
    let g0 = given.step(fill(&x0), 50).unwrap();
    assert_eq!(own.step(fill(&x0), 50).unwrap().labels, g0.labels);
    given.set_knn(Some(&lists1)).unwrap();
    let g1 = given.step(fill(&x1), 50).unwrap();
    let o1 = own.step(fill(&x1), 50).unwrap();
    assert_eq!((g1.labels, g1.n_classes), (o1.labels, o1.n_classes));
    assert_eq!(given.targets_all().unwrap(), own.targets_all().unwrap());
    // used once: the next step computes its own lists
    let g2 = given.step(fill(&x0), 50).unwrap();
    assert_eq!(g2.labels, own.step(fill(&x0), 50).unwrap().labels);
    assert_eq!(given.generation(), 3);
}

#[test]
fn a_refiner_step_reads_the_lists_set() {
    let (x0, x1) = (unit_rows(0), unit_rows(1));
    let o = options();
    let mut own = Refiner::with_options(N, D, &o, &Default::default()).unwrap();
    let mut given = Refiner::with_options(N, D, &o, &Default::default()).unwrap();
    own.step(fill(&x0), 50).unwrap();
    given.step(fill(&x0), 50).unwrap();
    let shifted: Vec<i64> = own_lists(&x1).iter().map(|&j| (j + 1) % N as i64).collect();
    given.set_knn(Some(&shifted)).unwrap();
    assert_ne!(given.step(fill(&x1), 50).unwrap().labels, own.step(fill(&x1), 50).unwrap().labels);
    // set, then dropped with None: the step computes its own
    given.set_knn(Some(&shifted)).unwrap();
    given.set_knn(None).unwrap();
    assert_eq!(given.step(fill(&x0), 50).unwrap().labels, own.step(fill(&x0), 50).unwrap().labels);
    // set again: the last lists set count
    given.set_knn(Some(&shifted)).unwrap();
    given.set_knn(Some(&own_lists(&x1))).unwrap();
    assert_eq!(given.step(fill(&x1), 50).unwrap().labels, own.step(fill(&x1), 50).unwrap().labels);
}

#[test]
fn a_bad_list_fails_the_step_and_changes_nothing() {
    let (x0, x1) = (unit_rows(0), unit_rows(1));
    let lists1 = own_lists(&x1);
    let o = options();
    let mut own = Refiner::with_options(N, D, &o, &Default::default()).unwrap();
    let mut given = Refiner::with_options(N, D, &o, &Default::default()).unwrap();
    own.step(fill(&x0), 50).unwrap();
    given.step(fill(&x0), 50).unwrap();
    let before = (given.labels().unwrap(), given.centroids().unwrap(), given.targets_all().unwrap());
    let mut twice = lists1.clone();
    twice[K1 + 1] = twice[K1]; // row 1 lists a row twice
    given.set_knn(Some(&twice)).unwrap(); // copied; checked by the step
    refused(given.step(fill(&x1), 50), "knn: row 1 lists");
    assert_eq!(given.generation(), 1);
    assert_eq!((given.labels().unwrap(), given.centroids().unwrap(), given.targets_all().unwrap()), before);
    // a failed step keeps the lists it was given: it fails again until they are replaced
    refused(given.step(fill(&x1), 50), "knn: row 1 lists");
    let mut outside = lists1.clone();
    outside[7 * K1] = N as i64;
    given.set_knn(Some(&outside)).unwrap();
    refused(given.step(fill(&x1), 50), "knn: entry 0 of row 7 is 160, outside [0, 160)");
    assert_eq!(given.generation(), 1);
    // lists the wrong length: refused in Rust, and the lists set before stay
    refused(given.set_knn(Some(&lists1[..N * K1 - 1])), "knn: 3199 values, expected 160 x 20");
    refused(given.set_knn(Some(&[])), "knn: 0 values, expected 160 x 20");
    refused(given.step(fill(&x1), 50), "knn: entry 0 of row 7");
    given.set_knn(Some(&lists1)).unwrap();
    let g = given.step(fill(&x1), 50).unwrap();
    assert_eq!(g.labels, own.step(fill(&x1), 50).unwrap().labels);
    assert_eq!(g.generation, 2);
}

#[test]
fn set_knn_refusals() {
    let x = unit_rows(0);
    let lists = own_lists(&x);
    // a metric other than Jaccard: the library's message, at once
    for metric in [Metric::Cosine, Metric::Euclidean] {
        let plain = PseudoOptions { metric: Some(metric), ..options() };
        let mut r = Refiner::with_options(N, D, &plain, &Default::default()).unwrap();
        refused(r.set_knn(Some(&lists)), "knn: only the Jaccard metric reads kNN lists");
        r.set_knn(None).unwrap(); // dropping nothing is fine
        r.step(fill(&x), 50).unwrap();
    }
    // the width is the refiner's k1
    let wide = PseudoOptions { k1: 25, ..options() };
    let mut r = Refiner::with_options(N, D, &wide, &Default::default()).unwrap();
    refused(r.set_knn(Some(&lists)), "knn: 3200 values, expected 160 x 25");
    r.set_knn(Some(&rlcc::knn(&x, N, D, 25, 0).unwrap().0)).unwrap();
    r.step(fill(&x), 50).unwrap();
    // a k1 below 1 would make the library copy a wrapped size: since 1.4 the
    // library refuses it at construction for Jaccard; for another metric (where
    // k1 means nothing) Rust refuses the lists before the call
    for k1 in [0, -1] {
        let bad = PseudoOptions { k1, ..options() };
        refused(Refiner::with_options(N, D, &bad, &Default::default()), &format!("k1: {} must be in [1, n = 160]", k1));
        let cosine = PseudoOptions { metric: Some(Metric::Cosine), ..bad };
        let mut r = Refiner::with_options(N, D, &cosine, &Default::default()).unwrap();
        refused(r.set_knn(Some(&[])), &format!("knn: the refiner's k1 is {}; lists need k1 >= 1", k1));
        r.set_knn(None).unwrap();
    }
}
