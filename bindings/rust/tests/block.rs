//! librlcc 1.8 through the crate: random blockings composed by `update`,
//! `update_pair` and states sent through bytes give `rlcc::knn`'s bits;
//! plans over a blocking, their weights concatenated and `jaccard_rows` per
//! block concatenated give `rlcc::jaccard`'s bits, and `pseudo_labels_graph`
//! on them gives `pseudo_labels`' labels, class count and threshold; the
//! refusals carry `code::INVALID_ARGUMENT` and leave the states unchanged.

mod common;

use common::Rng;
use rlcc::{code, Csr, JaccardOptions, JaccardPlan, KnnOptions, KnnState, PseudoMethod, PseudoOptions};

/// n x d rows: uniform, a small integer grid (ties), duplicated rows, or a
/// grid under a large common offset.
fn rows(rng: &mut Rng, kind: usize, n: usize, d: usize) -> Vec<f32> {
    let mut x: Vec<f32> = match kind {
        0 => (0..n * d).map(|_| rng.uniform()).collect(),
        1 => (0..n * d).map(|_| rng.below(5) as f32 - 2.0).collect(),
        2 => (0..n * d).map(|_| rng.uniform()).collect(),
        _ => (0..n * d).map(|_| 1000.0 + 0.5 * (rng.below(5) as f32 - 2.0)).collect(),
    };
    if kind == 2 {
        for i in (1..n).step_by(2) {
            x.copy_within((i - 1) * d..i * d, i * d);
        }
    }
    x
}

/// Unit rows (trial % 4 == 3: every odd row repeats the one before).
fn unit_rows(rng: &mut Rng, n: usize, d: usize, duplicated: bool) -> Vec<f32> {
    let mut x = rows(rng, if duplicated { 2 } else { 0 }, n, d);
    for row in x.chunks_mut(d) {
        let norm = row.iter().map(|v| (*v as f64) * (*v as f64)).sum::<f64>().sqrt().max(1e-6);
        row.iter_mut().for_each(|v| *v = (*v as f64 / norm) as f32);
    }
    x
}

/// Sorted cuts of [0, n) into `least .. least + spread` consecutive
/// blocks, some empty.
fn blocking(rng: &mut Rng, n: usize, least: usize, spread: usize) -> Vec<(usize, usize)> {
    let blocks = least + rng.below(spread);
    let mut points: Vec<usize> = (1..blocks).map(|_| rng.below(n + 1)).collect();
    points.push(0);
    points.push(n);
    points.sort_unstable();
    points.windows(2).map(|w| (w[0], w[1])).collect()
}

fn bits(v: &[f32]) -> Vec<u32> {
    v.iter().map(|f| f.to_bits()).collect()
}

/// Two distinct elements of a slice, mutably.
fn pair_mut<T>(v: &mut [T], a: usize, b: usize) -> (&mut T, &mut T) {
    assert_ne!(a, b);
    if a < b {
        let (lo, hi) = v.split_at_mut(b);
        (&mut lo[a], &mut hi[0])
    } else {
        let (lo, hi) = v.split_at_mut(a);
        (&mut hi[0], &mut lo[b])
    }
}

#[test]
fn pair_updates_and_states_through_bytes_compose_to_knn() {
    let mut rng = Rng(18);
    let mut cases = 0;
    for kind in 0..4 {
        for trial in 0..6 {
            let (n, d, k) = (40 + 13 * trial, 1 + 5 * trial, 1 + (trial * 7) % 20);
            let x = rows(&mut rng, kind, n, d);
            let (want, want_sq) = rlcc::knn(&x, n, d, k, 0).unwrap();
            let cut = blocking(&mut rng, n, 2, 5);
            let options = KnnOptions { n_threads: 1 + (trial % 3) as i32, max_bytes: 0 };
            let block = |b: usize| &x[cut[b].0 * d..cut[b].1 * d];
            let mut states: Vec<KnnState> = (0..cut.len())
                .map(|b| {
                    let (q0, q1) = cut[b];
                    let mut s = KnnState::new(q1 - q0, q0, d, k, &options).unwrap();
                    s.update(block(b), block(b), q1 - q0, q0).unwrap(); // the triangle
                    s
                })
                .collect();
            // every pair of blocks once, in a random order and orientation
            let mut pairs: Vec<(usize, usize)> = Vec::new();
            for a in 0..cut.len() {
                for b in a + 1..cut.len() {
                    pairs.push(if rng.below(2) == 0 { (a, b) } else { (b, a) });
                }
            }
            rng.shuffle(&mut pairs);
            for (a, b) in pairs {
                let (sa, sb) = pair_mut(&mut states, a, b);
                sa.update_pair(block(a), sb, block(b)).unwrap();
            }
            let (mut got, mut got_sq) = (Vec::new(), Vec::new());
            for (b, state) in states.into_iter().enumerate() {
                let (q0, q1) = cut[b];
                let mut fin = state;
                if b % 2 == 1 || rng.below(3) == 0 {
                    // through bytes (to another process, say), into a fresh state
                    let bytes = fin.to_bytes().unwrap();
                    let loaded = KnnState::from_bytes(&bytes, &options).unwrap();
                    assert_eq!(loaded.to_bytes().unwrap(), bytes);
                    assert_eq!((loaded.n_queries(), loaded.query_offset(), loaded.d(), loaded.k()),
                               (q1 - q0, q0, d, k));
                    assert_eq!(loaded.stats().n_updates, fin.stats().n_updates);
                    let mut fresh = KnnState::new(q1 - q0, q0, d, k, &KnnOptions::default()).unwrap();
                    fresh.merge(&loaded).unwrap();
                    fin = fresh;
                }
                if q1 > q0 {
                    let (i, s) = fin.finish().unwrap();
                    got.extend(i);
                    got_sq.extend(s);
                }
                cases += 1;
            }
            assert_eq!(got, want, "kind {} trial {} blocks {:?}", kind, trial, cut);
            assert_eq!(bits(&got_sq), bits(&want_sq), "kind {} trial {}", kind, trial);
        }
    }
    assert!(cases > 50, "{} cases", cases);
}

#[test]
fn a_state_moves_to_another_thread_and_back_as_bytes() {
    let mut rng = Rng(7);
    let (n, d, k) = (50, 4, 5);
    let x = rows(&mut rng, 0, n, d);
    let (want, _) = rlcc::knn(&x, n, d, k, 0).unwrap();
    let (a_rows, b_rows) = (x[..20 * d].to_vec(), x[20 * d..].to_vec());
    let mut a = KnnState::new(20, 0, d, k, &Default::default()).unwrap();
    a.update(&a_rows, &a_rows, 20, 0).unwrap();
    // the other block lives on another thread: it sends its state as bytes
    let bytes = std::thread::spawn(move || {
        let mut b = KnnState::new(30, 20, d, k, &Default::default()).unwrap();
        b.update(&b_rows, &b_rows, 30, 20).unwrap();
        let mut peer = KnnState::new(20, 0, d, k, &Default::default()).unwrap();
        b.update_pair(&b_rows, &mut peer, &x[..20 * d]).unwrap();
        (peer.to_bytes().unwrap(), b.finish().unwrap().0)
    })
    .join()
    .unwrap();
    a.merge(&KnnState::from_bytes(&bytes.0, &Default::default()).unwrap()).unwrap();
    assert_eq!(a.finish().unwrap().0, &want[..20 * k]);
    assert_eq!(bytes.1, &want[20 * k..]);
}

#[test]
fn pair_refusals_leave_both_states_unchanged() {
    let mut rng = Rng(4242);
    let (d, k) = (3, 2);
    let x = rows(&mut rng, 0, 12, d);
    let o = KnnOptions::default();
    let mut a = KnnState::new(6, 0, d, k, &o).unwrap();
    let mut b = KnnState::new(6, 6, d, 3, &o).unwrap();
    let mut wide = KnnState::new(6, 6, d + 1, k, &o).unwrap();
    let mut over = KnnState::new(6, 3, d, k, &o).unwrap();
    a.update(&x[..6 * d], &x[..6 * d], 6, 0).unwrap();
    let (before_a, before_b) = (a.to_bytes().unwrap(), b.to_bytes().unwrap());
    let mut bad = x[6 * d..].to_vec();
    bad[7] = f32::INFINITY;
    let cases: Vec<(rlcc::Error, &str)> = vec![
        (a.update_pair(&x[..6 * d], &mut over, &x[3 * d..9 * d]).unwrap_err(), "overlap"),
        (a.update_pair(&x[..6 * d], &mut wide, &vec![0.0; 6 * (d + 1)]).unwrap_err(), "width d = 4"),
        (a.update_pair(&x[..6 * d], &mut b, &bad).unwrap_err(), "rows_b: row 2 has"),
        // lengths: the binding's own check, before the call
        (a.update_pair(&x[..5 * d], &mut b, &x[6 * d..]).unwrap_err(), "rows: 15 values, expected 6 x 3"),
        (a.update_pair(&x[..6 * d], &mut b, &x[7 * d..]).unwrap_err(), "other_rows: 15 values, expected 6 x 3"),
    ];
    for (e, text) in cases {
        assert_eq!(e.code, code::INVALID_ARGUMENT, "{}", e.message);
        assert!(e.message.contains(text), "{:?} does not contain {:?}", e.message, text);
    }
    assert_eq!(a.to_bytes().unwrap(), before_a);
    assert_eq!(b.to_bytes().unwrap(), before_b);
    // the budget: the lists fit, the pair's working memory does not
    let mut small = KnnState::new(6, 0, d, k, &KnnOptions { n_threads: 0, max_bytes: 900 }).unwrap();
    let e = small.update_pair(&x[..6 * d], &mut b, &x[6 * d..]).unwrap_err();
    assert_eq!(e.code, code::MEMORY_LIMIT, "{}", e.message);
    assert_eq!(b.to_bytes().unwrap(), before_b);
    // then it works, and b's k = 3 is its own
    a.update_pair(&x[..6 * d], &mut b, &x[6 * d..]).unwrap();
    assert_eq!(b.finish().unwrap().0.len(), 18);
}

#[test]
fn damaged_bytes_are_refused() {
    let mut rng = Rng(99);
    let (n, d, k) = (9, 2, 3);
    let x = rows(&mut rng, 0, n, d);
    let mut s = KnnState::new(n, 0, d, k, &Default::default()).unwrap();
    s.update(&x, &x, n, 0).unwrap();
    let mut bytes = s.to_bytes().unwrap();
    for at in 0..bytes.len() {
        bytes[at] ^= 0x10;
        let e = KnnState::from_bytes(&bytes, &Default::default()).unwrap_err();
        assert_eq!(e.code, code::INVALID_ARGUMENT, "byte {}: {}", at, e.message);
        bytes[at] ^= 0x10;
    }
    for cut in 0..bytes.len() {
        let e = KnnState::from_bytes(&bytes[..cut], &Default::default()).unwrap_err();
        assert_eq!(e.code, code::INVALID_ARGUMENT, "{} bytes: {}", cut, e.message);
    }
    let e = KnnState::from_bytes(b"not a state at all", &Default::default()).unwrap_err();
    assert_eq!(e.code, code::INVALID_ARGUMENT);
    // the bytes as they were still load, and a budget below the lists is the library's
    KnnState::from_bytes(&bytes, &Default::default()).unwrap();
    let e = KnnState::from_bytes(&bytes, &KnnOptions { n_threads: 0, max_bytes: 64 }).unwrap_err();
    assert_eq!(e.code, code::MEMORY_LIMIT, "{}", e.message);
}

#[test]
fn jaccard_blocks_compose_to_jaccard_and_label_as_pseudo_labels() {
    let mut rng = Rng(300);
    let mut labelled = 0;
    for trial in 0..16 {
        let (n, d) = (40 + 11 * trial, 3 + trial % 7);
        let mut x = unit_rows(&mut rng, n, d, trial % 4 == 3);
        let scaled = trial % 3 == 2; // not unit: the squared-Euclidean variant or normalize
        if scaled {
            x.iter_mut().enumerate().for_each(|(e, v)| *v *= 1.0 + (e % 5) as f32);
        }
        let o = JaccardOptions {
            k1: 4 + (trial % 9) as i32,
            k2: 1 + (trial % 4) as i32,
            cutoff: if trial % 2 == 1 { 0.9 } else { 1.0 },
            n_threads: 1 + (trial % 3) as i32,
            sqeuclidean: scaled && trial % 2 == 1,
            normalize: scaled && trial % 2 == 0,
        };
        let (knn, _) = rlcc::knn(&x, n, d, o.k1 as usize, 0).unwrap();
        let want = rlcc::jaccard(&x, n, d, Some(&knn), &o).unwrap();
        let cut = blocking(&mut rng, n, 1, 5);
        let block = |b: usize| &x[cut[b].0 * d..cut[b].1 * d];
        let mut weights = Vec::new();
        for (b, &(r0, r1)) in cut.iter().enumerate() {
            let mut plan = JaccardPlan::new(&knn, n, r0, r1, d, &o).unwrap();
            // every block in a random order, some twice
            let mut offers: Vec<usize> = (0..cut.len()).collect();
            offers.push(rng.below(cut.len()));
            rng.shuffle(&mut offers);
            for f in offers {
                plan.offer(block(b), block(f), cut[f].1 - cut[f].0, cut[f].0).unwrap();
            }
            let w = plan.weights().unwrap();
            assert_eq!((w.rows(), w.cols()), (r1 - r0, n));
            weights.push(w);
        }
        let weights = Csr::concat_rows(&weights).unwrap();
        assert_eq!((weights.rows(), weights.cols()), (n, n));
        // the Jaccard rows on another blocking than the plans'
        let rows_cut = blocking(&mut rng, n, 1, 4);
        let parts: Vec<Csr> = rows_cut.iter()
            .map(|&(r0, r1)| rlcc::jaccard_rows(&weights, &knn, r0, r1, &o).unwrap())
            .collect();
        let graph = Csr::concat_rows(&parts).unwrap();
        assert_eq!(graph.indptr(), want.indptr(), "trial {}", trial);
        assert_eq!(graph.indices(), want.indices(), "trial {}", trial);
        assert_eq!(bits(graph.data()), bits(want.data()), "trial {}", trial);
        // PseudoOptions has no variant: the labels of the dot variant's graph
        if !o.sqeuclidean {
            let p = PseudoOptions {
                k1: o.k1, k2: o.k2, normalize: o.normalize, cutoff: o.cutoff,
                eps: vec![0.3, 0.5, 0.7], min_samples: 2 + (trial % 3) as i64,
                reliability: trial % 5 != 4, ..Default::default()
            };
            let whole = rlcc::pseudo_labels_with_knn(&x, n, d, &knn, &p).unwrap();
            let got = rlcc::pseudo_labels_graph(&graph, &p).unwrap();
            assert_eq!(got.labels, whole.labels, "trial {}", trial);
            assert_eq!(got.n_classes, whole.n_classes, "trial {}", trial);
            assert_eq!(got.threshold.to_bits(), whole.threshold.to_bits(), "trial {}", trial);
            labelled += 1;
        }
    }
    assert!(labelled >= 10, "{} labelled", labelled);
}

#[test]
fn jaccard_plan_refusals() {
    let mut rng = Rng(9);
    let (n, d) = (30, 4);
    let x = unit_rows(&mut rng, n, d, false);
    let o = JaccardOptions { k1: 5, k2: 2, ..Default::default() };
    let (knn, _) = rlcc::knn(&x, n, d, 5, 0).unwrap();
    let expect = |r: Result<(), rlcc::Error>, text: &str| {
        let e = r.unwrap_err();
        assert_eq!(e.code, code::INVALID_ARGUMENT, "{}", e.message);
        assert!(e.message.contains(text), "{:?} does not contain {:?}", e.message, text);
    };
    expect(JaccardPlan::new(&knn, n, 10, 40, d, &o).map(drop), "rows: [10, 40)");
    expect(JaccardPlan::new(&knn, n, 0, 10, 0, &o).map(drop), "d: 0");
    expect(JaccardPlan::new(&knn[1..], n, 0, 10, d, &o).map(drop), "knn: 149 values, expected 30 x 5");
    let mut bad = knn.clone();
    bad[7] = 99;
    expect(JaccardPlan::new(&bad, n, 0, 10, d, &o).map(drop), "outside [0, 30)");
    let mut plan = JaccardPlan::new(&knn, n, 0, 10, d, &o).unwrap();
    // nothing offered yet: the missing pair is named
    expect(plan.weights().map(drop), "needs its distance to row");
    plan.offer(&x[..10 * d], &x[..10 * d], 10, 0).unwrap();
    expect(plan.weights().map(drop), "needs its distance to row"); // rows 10.. still missing
    let scaled: Vec<f32> = x[10 * d..].iter().map(|v| 2.0 * v).collect();
    expect(plan.offer(&x[..10 * d], &scaled, 20, 10), "refs: row 0 has norm 2");
    expect(plan.offer(&x[..10 * d], &x[10 * d..], 20, 11), "ref_offset: 11");
    expect(plan.offer(&x[..9 * d], &x[10 * d..], 20, 10), "rows: 36 values, expected 10 x 4");
    plan.offer(&x[..10 * d], &x[10 * d..], 20, 10).unwrap();
    let w = plan.weights().unwrap();
    assert_eq!(w.rows(), 10);
    // rows: the weights must be n x n; then the library's checks of them
    expect(rlcc::jaccard_rows(&w, &knn, 0, 10, &o).map(drop), "expected a square matrix");
    let big = Csr::try_from_parts(vec![0; 31], vec![], vec![], 30).unwrap();
    expect(rlcc::jaccard_rows(&big, &knn[..100], 0, 10, &o).map(drop), "knn: 100 values");
    let mut ptr = vec![1i64; 31];
    ptr[0] = 0;
    let above = Csr::try_from_parts(ptr, vec![0], vec![2.0], 30).unwrap();
    expect(rlcc::jaccard_rows(&above, &knn, 0, 10, &o).map(drop), "weights lie in [0, 1]");
    // the graph labeller: square graphs, DBSCAN only
    let p = PseudoOptions { method: PseudoMethod::Kmeans, reliability: false, n_clusters: 5, ..Default::default() };
    expect(rlcc::pseudo_labels_graph(&big, &p).map(drop), "labelled by DBSCAN");
    expect(rlcc::pseudo_labels_graph(&w, &Default::default()).map(drop), "expected a square matrix");
    let narrow = Csr::try_from_parts(vec![0], vec![], vec![], 3).unwrap();
    let e = Csr::concat_rows(&[w, narrow]).unwrap_err();
    assert_eq!(e.message, "parts: part 1 has 3 columns, part 0 has 30");
    let empty = Csr::concat_rows(&[]).unwrap();
    assert_eq!((empty.rows(), empty.cols()), (0, 0));
}
