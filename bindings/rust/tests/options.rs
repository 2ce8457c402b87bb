//! librlcc 1.4 through the crate: the `_opts` twins give the old calls'
//! bytes for any thread count and honour `max_bytes`; the refiner's matrix
//! step (copied or borrowed) is the callback step, generation after
//! generation; `Refiner::bytes` counts what it keeps; the borrow rules; the
//! pseudo-labeler field.

use rlcc::code::{INVALID_ARGUMENT, MEMORY_LIMIT};
use rlcc::{
    BlendOptions, CentroidOptions, ConsensusOptions, Csr, Kind, Normalize, ProbabilityOptions, PropagateOptions,
    PseudoMethod, PseudoOptions, Refiner, RefinerOptions, StepOptions, TargetsOptions,
};

const N: usize = 160;
const D: usize = 12;

/// tests/c/test_knn.c's generator (as tests/caller_knn.rs).
struct Rng(u64);

impl Rng {
    fn next_u32(&mut self) -> u32 {
        self.0 = self.0.wrapping_mul(6364136223846793005).wrapping_add(1442695040888963407);
        (self.0 >> 33) as u32
    }
}

/// Unit rows around 16 directions, a different draw per generation.
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

fn pseudo() -> PseudoOptions {
    PseudoOptions { k1: 20, k2: 4, min_samples: 3, eps: vec![0.5, 0.55, 0.6], ..Default::default() }
}

fn bits(values: &[f32]) -> Vec<u32> {
    values.iter().map(|v| v.to_bits()).collect()
}

fn refused<T: std::fmt::Debug>(result: Result<T, rlcc::Error>, code: i32, text: &str) {
    let e = result.expect_err(text);
    assert_eq!(e.code, code, "{}: {}", text, e.message);
    assert!(e.message.contains(text), "{:?} does not mention {:?}", e.message, text);
}

/// Two labelings and what the pipeline computes between them.
struct Pipeline {
    x1: Vec<f32>,
    prev: Vec<i32>,
    cur: Vec<i32>,
    k_prev: usize,
    k_cur: usize,
    cents: Vec<f32>,
}

fn pipeline() -> Pipeline {
    let (x0, x1) = (unit_rows(0), unit_rows(1));
    let g0 = rlcc::pseudo_labels(&x0, N, D, &pseudo()).unwrap();
    let g1 = rlcc::pseudo_labels(&x1, N, D, &PseudoOptions { threshold: Some(g0.threshold), ..pseudo() }).unwrap();
    let (k_prev, k_cur) = (g0.n_classes as usize, g1.n_classes as usize);
    assert!(k_prev > 2 && k_cur > 2);
    let cents = rlcc::centroids(&x0, N, D, &g0.labels, k_prev).unwrap();
    Pipeline { x1, prev: g0.labels, cur: g1.labels, k_prev, k_cur, cents }
}

const BATCH: [i64; 5] = [159, 3, 3, 77, 0];

#[test]
fn twins_give_the_old_bytes_for_any_thread_count() {
    let p = pipeline();
    let x0 = unit_rows(0);
    let mut noisy = p.prev.clone(); // some -1 samples too
    for i in (0..N).step_by(7) {
        noisy[i] = -1;
    }
    for n_threads in [0, 1, 2, 3] {
        let c = rlcc::centroids_opts(&x0, N, D, &noisy, p.k_prev, &CentroidOptions { n_threads, ..Default::default() })
            .unwrap();
        assert_eq!(bits(&c), bits(&rlcc::centroids(&x0, N, D, &noisy, p.k_prev).unwrap()), "centroids, {} threads", n_threads);
        for kind in [Kind::Iou, Kind::Count] {
            for normalize in [Normalize::None, Normalize::Sum, Normalize::Softmax] {
                let o = ConsensusOptions { kind, normalize, n_threads, max_bytes: 0 };
                let dense = rlcc::consensus_opts(&noisy, &p.cur, 0, 0, &o).unwrap();
                assert_eq!(bits(&dense), bits(&rlcc::consensus_of(&noisy, &p.cur, 0, 0, kind, normalize).unwrap()));
                if normalize == Normalize::Softmax {
                    refused(rlcc::consensus_csr_opts(&noisy, &p.cur, 0, 0, &o), INVALID_ARGUMENT, "softmax");
                    continue;
                }
                let sparse = rlcc::consensus_csr_opts(&noisy, &p.cur, 0, 0, &o).unwrap();
                let old = rlcc::consensus_csr(&noisy, &p.cur, 0, 0, kind, normalize).unwrap();
                assert_eq!((sparse.rows(), sparse.cols()), (old.rows(), old.cols()));
                assert_eq!(sparse.indptr(), old.indptr());
                assert_eq!(sparse.indices(), old.indices());
                assert_eq!(bits(sparse.data()), bits(old.data()));
            }
        }
        let o = ConsensusOptions { n_threads, ..Default::default() };
        assert_eq!(rlcc::consensus_counts_opts(&noisy, &p.cur, 0, 0, &o).unwrap(),
                   rlcc::consensus_counts(&noisy, &p.cur, 0, 0).unwrap());
        // explicit class counts above the labels' are kept
        assert_eq!(rlcc::consensus_counts_opts(&noisy, &p.cur, p.k_prev + 2, p.k_cur + 1, &o).unwrap(),
                   rlcc::consensus_counts(&noisy, &p.cur, p.k_prev + 2, p.k_cur + 1).unwrap());

        let chat = rlcc::consensus_csr(&p.prev, &p.cur, 0, 0, Kind::Iou, Normalize::Sum).unwrap();
        for scale in [30.0f32, 7.5] {
            for rows in [None, Some(&BATCH[..]), Some(&[][..])] {
                let po = ProbabilityOptions { scale, n_threads, max_bytes: 0 };
                let probs = rlcc::class_probabilities_opts(&p.x1, N, D, &p.cents, p.k_prev, rows, &po).unwrap();
                let old = match rows {
                    None => rlcc::class_probabilities(&p.x1, N, D, &p.cents, p.k_prev, scale).unwrap(),
                    Some(list) => rlcc::class_probabilities_rows(&p.x1, N, D, &p.cents, p.k_prev, scale, list).unwrap(),
                };
                assert_eq!(bits(&probs), bits(&old), "probabilities, scale {}, {:?}", scale, rows);
                for (w, beta) in [(0.9f32, 0.0f32), (0.5, 0.3), (0.0, 1.0)] {
                    let pr = PropagateOptions { w, beta, n_threads, max_bytes: 0 };
                    let s = rlcc::propagate_opts(&p.prev, &chat, Some(&probs), rows, &pr).unwrap();
                    let old = rlcc::propagate_csr(&p.prev, &chat, Some(&probs), w, beta, rows).unwrap();
                    assert_eq!(bits(&s), bits(&old), "propagate w {} beta {}", w, beta);
                    for alpha in [0.9f32, 0.0, 1.0] {
                        let bo = BlendOptions { alpha, n_threads, max_bytes: 0 };
                        let t = rlcc::blend_opts(&p.cur, Some(&s), p.k_cur, rows, &bo).unwrap();
                        assert_eq!(bits(&t), bits(&rlcc::blend_rows(&p.cur, Some(&s), p.k_cur, alpha, rows).unwrap()));
                    }
                }
                // hard propagation without probabilities; blending without S
                let hard = PropagateOptions { beta: 1.0, n_threads, ..Default::default() };
                assert_eq!(bits(&rlcc::propagate_opts(&p.prev, &chat, None, rows, &hard).unwrap()),
                           bits(&rlcc::propagate_csr(&p.prev, &chat, None, 0.9, 1.0, rows).unwrap()));
                let bo = BlendOptions { n_threads, ..Default::default() };
                assert_eq!(bits(&rlcc::blend_opts(&p.cur, None, p.k_cur, rows, &bo).unwrap()),
                           bits(&rlcc::blend_rows(&p.cur, None, p.k_cur, 0.9, rows).unwrap()));
            }
        }
    }
}

#[test]
fn the_defaults_are_the_libraries() {
    assert_eq!(ConsensusOptions::default(),
               ConsensusOptions { kind: Kind::Iou, normalize: Normalize::Sum, n_threads: 0, max_bytes: 0 });
    assert_eq!(ProbabilityOptions::default(), ProbabilityOptions { scale: 30.0, n_threads: 0, max_bytes: 0 });
    assert_eq!(PropagateOptions::default(), PropagateOptions { w: 0.9, beta: 0.0, n_threads: 0, max_bytes: 0 });
    assert_eq!(BlendOptions::default(), BlendOptions { alpha: 0.9, n_threads: 0, max_bytes: 0 });
    assert_eq!(StepOptions::default(), StepOptions { batch: 1024, n_threads: 0, max_bytes: 0 });
    assert_eq!(TargetsOptions::default(), TargetsOptions { n_threads: 0, max_bytes: 0 });
    assert_eq!(CentroidOptions::default(), CentroidOptions { n_threads: 0, max_bytes: 0 });
    // default options are the NULL options: the old calls' defaults
    let p = pipeline();
    assert_eq!(bits(&rlcc::consensus_opts(&p.prev, &p.cur, 0, 0, &Default::default()).unwrap()),
               bits(&rlcc::consensus(&p.prev, &p.cur, 0, 0, Normalize::Sum).unwrap()));
    assert_eq!(PseudoOptions::default().method, PseudoMethod::Dbscan);
}

#[test]
fn a_tiny_max_bytes_is_the_memory_limit() {
    let p = pipeline();
    let x0 = unit_rows(0);
    let tiny = 64;
    refused(rlcc::centroids_opts(&x0, N, D, &p.prev, p.k_prev, &CentroidOptions { max_bytes: tiny, ..Default::default() }),
            MEMORY_LIMIT, "max_bytes");
    let o = ConsensusOptions { max_bytes: tiny, ..Default::default() };
    refused(rlcc::consensus_counts_opts(&p.prev, &p.cur, 0, 0, &o), MEMORY_LIMIT, "max_bytes");
    refused(rlcc::consensus_opts(&p.prev, &p.cur, 0, 0, &o), MEMORY_LIMIT, "max_bytes");
    refused(rlcc::consensus_csr_opts(&p.prev, &p.cur, 0, 0, &o), MEMORY_LIMIT, "max_bytes");
    // the batch's rows are gathered: that is the memory a batch call needs
    let po = ProbabilityOptions { max_bytes: tiny, ..Default::default() };
    refused(rlcc::class_probabilities_opts(&p.x1, N, D, &p.cents, p.k_prev, Some(&BATCH), &po), MEMORY_LIMIT, "max_bytes");
    // propagation and blending allocate nothing in 1.4: any bound holds
    let chat = rlcc::consensus_csr(&p.prev, &p.cur, 0, 0, Kind::Iou, Normalize::Sum).unwrap();
    let hard = PropagateOptions { beta: 1.0, max_bytes: 1, ..Default::default() };
    assert_eq!(rlcc::propagate_opts(&p.prev, &chat, None, None, &hard).unwrap(),
               rlcc::propagate_csr(&p.prev, &chat, None, 0.9, 1.0, None).unwrap());
    let bo = BlendOptions { max_bytes: 1, ..Default::default() };
    assert!(rlcc::blend_opts(&p.cur, None, p.k_cur, None, &bo).is_ok());
    // a negative bound or thread count is refused, with the library's message
    refused(rlcc::blend_opts(&p.cur, None, p.k_cur, None, &BlendOptions { max_bytes: -1, ..Default::default() }),
            INVALID_ARGUMENT, "max_bytes: -1 is negative");
    refused(rlcc::propagate_opts(&p.prev, &chat, None, None, &PropagateOptions { beta: 1.0, n_threads: -2, ..Default::default() }),
            INVALID_ARGUMENT, "n_threads: -2 is negative");
    // the pseudo labels and the refiner's budget
    refused(rlcc::pseudo_labels(&x0, N, D, &PseudoOptions { max_bytes: 4096, ..pseudo() }), MEMORY_LIMIT, "max_bytes");
    let mut r = Refiner::with_options(N, D, &PseudoOptions { max_bytes: 4096, ..pseudo() }, &Default::default()).unwrap();
    refused(r.step_matrix(&x0, D), MEMORY_LIMIT, "max_bytes");
    // a step's own bound, for the callback and the matrix step alike
    let mut r = Refiner::with_options(N, D, &pseudo(), &Default::default()).unwrap();
    let small = StepOptions { max_bytes: 4096, ..Default::default() };
    refused(r.step_matrix_with(&x0, D, &small, None, None), MEMORY_LIMIT, "max_bytes");
    let mut fill = |start: usize, rows: &mut [f32]| -> rlcc::CallbackResult {
        rows.copy_from_slice(&x0[start * D..start * D + rows.len()]);
        Ok(())
    };
    refused(r.step_opts(&mut fill, &small, None, None), MEMORY_LIMIT, "max_bytes");
    refused(r.step_borrowed_with(&x0, D, &small, None, None), MEMORY_LIMIT, "max_bytes");
    assert_eq!(r.generation(), 0); // every refusal left it as it was
    r.step_matrix(&x0, D).unwrap();
    r.step_matrix(&p.x1, D).unwrap();
    // the targets' working memory: the batch's probabilities and rows
    refused(r.targets_opts(Some(&BATCH), &TargetsOptions { max_bytes: 16, ..Default::default() }), MEMORY_LIMIT, "max_bytes");
    assert!(r.targets_opts(Some(&BATCH), &TargetsOptions { max_bytes: 1 << 20, ..Default::default() }).is_ok());
}

/// Everything a refiner shows after a generation, the floats as bits.
#[derive(Debug, PartialEq)]
struct Snapshot {
    labels: Vec<i32>,
    n_classes: i64,
    threshold: u64,
    centroids: Vec<u32>,
    targets: Vec<u32>,
    batch: Vec<u32>,
}

fn snapshot(r: &Refiner) -> Snapshot {
    Snapshot {
        labels: r.labels().unwrap(),
        n_classes: r.n_classes(),
        threshold: r.threshold().to_bits(),
        centroids: bits(&r.centroids().unwrap()),
        targets: bits(&r.targets_all().unwrap()),
        batch: bits(&r.targets(&BATCH).unwrap()),
    }
}

fn snapshot_borrowed(b: &rlcc::Borrowed) -> Snapshot {
    Snapshot {
        labels: b.labels().unwrap(),
        n_classes: b.n_classes(),
        threshold: b.threshold().to_bits(),
        centroids: bits(&b.centroids().unwrap()),
        targets: bits(&b.targets_all().unwrap()),
        batch: bits(&b.targets(&BATCH).unwrap()),
    }
}

#[test]
fn copied_borrowed_and_callback_steps_are_one_generation() {
    for options in [RefinerOptions::default(), RefinerOptions { alpha: 0.7, w: 0.5, beta: 0.25, scale: 20.0 }] {
        let new = || Refiner::with_options(N, D, &pseudo(), &options).unwrap();
        let (mut by_callback, mut by_opts, mut copying, mut strided, mut borrowing) = (new(), new(), new(), new(), new());
        for generation in 0..4u64 {
            let x = unit_rows(generation);
            let g = by_callback.step(|start, rows| rows.copy_from_slice(&x[start * D..start * D + rows.len()]), 37).unwrap();
            assert_eq!(g.generation, generation as i64 + 1);
            let want = snapshot(&by_callback);
            let mut fill = |start: usize, rows: &mut [f32]| -> rlcc::CallbackResult {
                rows.copy_from_slice(&x[start * D..start * D + rows.len()]);
                Ok(())
            };
            let two = StepOptions { batch: 50, n_threads: 2, ..Default::default() };
            by_opts.step_opts(&mut fill, &two, None, None).unwrap();
            assert_eq!(snapshot(&by_opts), want, "step_opts, generation {}", generation);
            let one = StepOptions { n_threads: 1, ..Default::default() };
            let copied = copying.step_matrix_with(&x, D, &one, None, None).unwrap();
            assert_eq!(copied.labels, g.labels);
            assert_eq!(snapshot(&copying), want, "step_matrix, generation {}", generation);
            // rows of stride D + 5, the padding never read (NaN would be refused)
            let mut padded = vec![f32::NAN; (N - 1) * (D + 5) + D];
            for i in 0..N {
                padded[i * (D + 5)..i * (D + 5) + D].copy_from_slice(&x[i * D..(i + 1) * D]);
            }
            strided.step_matrix(&padded, D + 5).unwrap();
            assert_eq!(snapshot(&strided), want, "step_matrix with ld, generation {}", generation);
            let features = x.clone(); // this generation's own matrix, dropped at the end of the loop
            let (g, borrowed) = borrowing.step_borrowed(&features, D).unwrap();
            assert_eq!(g.threshold.to_bits(), want.threshold);
            assert_eq!(snapshot_borrowed(&borrowed), want, "step_borrowed, generation {}", generation);
            // what each holds: the copy of x only when its targets read it
            let keeps = generation > 0 && options.beta < 1.0;
            let x_bytes = (N * D * 4) as i64;
            assert_eq!(copying.bytes(), by_callback.bytes());
            assert_eq!(strided.bytes(), copying.bytes());
            assert_eq!(copying.bytes() - borrowed.bytes(), if keeps { x_bytes } else { 0 }, "generation {}", generation);
        }
    }
}

#[test]
fn bytes_drop_when_nothing_is_kept() {
    let x = [unit_rows(0), unit_rows(1), unit_rows(2)];
    let soft = Refiner::with_options(N, D, &pseudo(), &Default::default());
    let hard = Refiner::with_options(N, D, &pseudo(), &RefinerOptions { beta: 1.0, ..Default::default() });
    let (mut soft, mut hard) = (soft.unwrap(), hard.unwrap());
    let mut with_logits = Refiner::with_options(N, D, &pseudo(), &Default::default()).unwrap();
    assert_eq!((soft.bytes(), hard.bytes()), (0, 0));
    for (generation, rows) in x.iter().enumerate() {
        let k_prev = soft.n_classes(); // 0 before the first generation
        soft.step_matrix(rows, D).unwrap();
        hard.step_matrix(rows, D).unwrap();
        let mut logits = |_start: usize, k_prev: usize, block: &mut [f32]| -> rlcc::CallbackResult {
            for (i, row) in block.chunks_mut(k_prev).enumerate() {
                row.iter_mut().enumerate().for_each(|(c, v)| *v = ((i + c) % 5) as f32);
            }
            Ok(())
        };
        with_logits.step_matrix_with(rows, D, &StepOptions::default(), Some(&mut logits), None).unwrap();
        let k = soft.n_classes();
        assert!(hard.bytes() > 0);
        // the same labels either way (beta only changes the targets)
        assert_eq!(soft.labels().unwrap(), hard.labels().unwrap());
        assert_eq!(k, hard.n_classes());
        if generation == 0 {
            // labels and centroids only: 4 n + 4 d K
            assert_eq!(soft.bytes(), hard.bytes());
            assert_eq!(hard.bytes(), (4 * N) as i64 + (4 * D) as i64 * k);
        } else {
            // beta = 1 keeps no features: the n x d copy is what it drops
            assert_eq!(soft.bytes() - hard.bytes(), (4 * N * D) as i64, "generation {}", generation);
            // with logits it keeps their n x K' probabilities instead
            assert_eq!(with_logits.n_classes(), k);
            assert_eq!(with_logits.bytes() - hard.bytes(), (4 * N) as i64 * k_prev, "generation {}", generation);
        }
    }
    // hard propagation reads no features, so its targets need none
    assert_eq!(hard.targets(&BATCH).unwrap().len(), BATCH.len() * hard.n_classes() as usize);
}

#[test]
fn after_a_borrow_only_the_borrowed_reads_the_features() {
    let (x0, x1) = (unit_rows(0), unit_rows(1));
    let mut r = Refiner::with_options(N, D, &pseudo(), &Default::default()).unwrap();
    r.step_matrix(&x0, D).unwrap();
    {
        let features = x1.clone();
        {
            let (_, borrowed) = r.step_borrowed(&features, D).unwrap();
            assert!(borrowed.targets(&BATCH).is_ok());
        } // the Borrowed is gone, the features not yet
        refused(r.targets(&BATCH), INVALID_ARGUMENT, "borrowed");
        refused(r.targets_all(), INVALID_ARGUMENT, "borrowed");
        refused(r.targets_opts(None, &Default::default()), INVALID_ARGUMENT, "borrowed");
        // what the refiner owns is still readable
        assert_eq!(r.labels().unwrap().len(), N);
        assert!(r.bytes() > 0);
    } // features freed: the library still holds the pointer, and nothing reads it
    // a step that fails leaves the refiner as it was: still refused
    refused(r.step_matrix_with(&x1, D, &StepOptions { max_bytes: 64, ..Default::default() }, None, None),
            MEMORY_LIMIT, "max_bytes");
    refused(r.targets(&BATCH), INVALID_ARGUMENT, "borrowed");
    let mut fail = |_: usize, _: &mut [f32]| -> rlcc::CallbackResult { Err("no disk".into()) };
    assert!(r.step_with(&mut fail, 16, None, None).is_err());
    refused(r.targets(&BATCH), INVALID_ARGUMENT, "borrowed");
    // a step that succeeds, by any route, ends it
    r.step(|start, rows| rows.copy_from_slice(&x1[start * D..start * D + rows.len()]), 64).unwrap();
    assert!(r.targets(&BATCH).is_ok());
    // a leaked Borrowed (no Drop) is the same
    let (_, borrowed) = r.step_borrowed(&x0, D).unwrap();
    #[allow(clippy::forget_non_drop)] // its safety never rests on Drop: that is what this checks
    std::mem::forget(borrowed);
    refused(r.targets(&BATCH), INVALID_ARGUMENT, "borrowed");
    r.step_matrix(&x0, D).unwrap();
    assert!(r.targets(&BATCH).is_ok());
    // a borrowed step that fails keeps the copy the refiner had
    let small = StepOptions { max_bytes: 64, ..Default::default() };
    refused(r.step_borrowed_with(&x1, D, &small, None, None).map(|(g, _)| g), MEMORY_LIMIT, "max_bytes");
    assert!(r.targets(&BATCH).is_ok());
}

#[test]
fn matrix_shapes_are_checked_before_the_call() {
    let x = unit_rows(0);
    let mut r = Refiner::with_options(N, D, &pseudo(), &Default::default()).unwrap();
    refused(r.step_matrix(&x[1..], D), INVALID_ARGUMENT, "x: 1919 values, expected 160 rows of width 12 and stride 12");
    let mut longer = x.clone();
    longer.push(0.0);
    refused(r.step_matrix(&longer, D), INVALID_ARGUMENT, "x: 1921 values");
    refused(r.step_matrix(&x, D - 1), INVALID_ARGUMENT, "ld: 11 is smaller than d = 12");
    refused(r.step_matrix(&x, D + 1), INVALID_ARGUMENT, "stride 13"); // 159 x 13 + 12 > 1920
    refused(r.step_borrowed(&x, usize::MAX), INVALID_ARGUMENT, "stride");
    refused(r.step_opts(&mut |_: usize, _: &mut [f32]| Ok(()), &StepOptions { batch: 0, ..Default::default() }, None, None),
            INVALID_ARGUMENT, "batch: 0 must be >= 1");
    assert_eq!(r.generation(), 0);
    // a CSR built from Rust vectors that disagree is refused when it is built, so no
    // propagate can be handed one (tests/robustness.rs: every rule)
    for (indptr, indices, data) in [(vec![0, 9], vec![0], vec![1.0]), (vec![0, 1], vec![0], vec![]),
                                    (vec![], vec![], vec![])] {
        refused(Csr::try_from_parts(indptr, indices, data, 1), INVALID_ARGUMENT, "indptr");
    }
    // lengths of the twins' inputs
    refused(rlcc::centroids_opts(&x, N, D, &[0; 3], 1, &Default::default()), INVALID_ARGUMENT, "labels");
    refused(rlcc::class_probabilities_opts(&x, N, D, &[0.0; 5], 1, None, &Default::default()), INVALID_ARGUMENT, "centroids");
    refused(rlcc::blend_opts(&[0, 0], Some(&[1.0]), 1, None, &Default::default()), INVALID_ARGUMENT, "s: 1 values");
    refused(rlcc::consensus_opts(&[0], &[0, 1], 0, 0, &Default::default()), INVALID_ARGUMENT, "lengths differ");
}

#[test]
fn the_library_refuses_what_it_does_not_know() {
    use rlcc::sys;
    // pseudo options: a method or a reserved field of a later release
    let x = unit_rows(0);
    let mut o = sys::rlcc_pseudo_options::default();
    let size = std::mem::size_of::<sys::rlcc_pseudo_options>();
    unsafe { sys::rlcc_pseudo_options_init(&mut o, size) };
    assert_eq!(o.method, sys::RLCC_PSEUDO_DBSCAN);
    o.k1 = 20;
    let mut labels = vec![0i32; N];
    let call = |o: &sys::rlcc_pseudo_options, labels: &mut [i32]| unsafe {
        sys::rlcc_pseudo_labels(x.as_ptr(), N as i64, D as i64, D as i64, o, labels.as_mut_ptr(), std::ptr::null_mut(),
                                std::ptr::null_mut())
    };
    assert_eq!(call(&o, &mut labels), 0);
    let later = sys::rlcc_pseudo_options { method: 1, ..o };
    assert_eq!(call(&later, &mut labels), INVALID_ARGUMENT);
    let reserved = sys::rlcc_pseudo_options { reserved2: 7, ..o };
    assert_eq!(call(&reserved, &mut labels), INVALID_ARGUMENT);
    // a newer caller's struct: a zero tail is fine, a non-zero one refused
    #[repr(C)]
    #[derive(Default)]
    struct Newer {
        known: sys::rlcc_blend_options,
        later_field: i64,
    }
    let cur = [0i32, 1];
    let mut out = [0f32; 4];
    let mut newer = Newer::default();
    unsafe { sys::rlcc_blend_options_init(&mut newer.known, std::mem::size_of::<sys::rlcc_blend_options>()) };
    newer.known.struct_size = std::mem::size_of::<Newer>();
    let blend = |o: &Newer, out: &mut [f32]| unsafe {
        sys::rlcc_blend_opts(cur.as_ptr(), 2, 2, std::ptr::null(), 2, std::ptr::null(), 2,
                             o as *const Newer as *const sys::rlcc_blend_options, out.as_mut_ptr(), 2)
    };
    assert_eq!(blend(&newer, &mut out), 0);
    newer.later_field = 1;
    assert_eq!(blend(&newer, &mut out), INVALID_ARGUMENT);
    let message = unsafe { std::ffi::CStr::from_ptr(sys::rlcc_last_error()) }.to_string_lossy().into_owned();
    assert!(message.contains("byte 24 is not zero"), "{}", message);
}
