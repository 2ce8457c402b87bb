//! The block kNN (`KnnState`): random blockings, update orders and merges
//! give `rlcc::knn`'s bits; refusals carry the library's code and message
//! (or the binding's, for lengths checked before the call) and leave the
//! state as it was.

mod common;

use common::Rng;
use rlcc::{code, KnnOptions, KnnState};

/// n x d rows full of near-ties: a small integer grid, duplicated rows,
/// rows one ulp apart, or a grid under a large common offset.
fn tie_rows(rng: &mut Rng, n: usize, d: usize) -> Vec<f32> {
    let grid = |rng: &mut Rng| rng.below(5) as f32 - 2.0;
    let kind = rng.below(4);
    let bases: Vec<f32> = (0..4 * d).map(|_| grid(rng)).collect();
    (0..n)
        .flat_map(|_| {
            let base = rng.below(4);
            (0..d).map(|c| match kind {
                0 => grid(rng),
                1 => bases[base * d + c],
                2 => {
                    let v = bases[base * d + c] + 0.25;
                    if rng.below(2) == 0 { v } else { f32::from_bits(v.to_bits() + 1) }
                }
                _ => 1000.0 + 0.5 * grid(rng),
            }).collect::<Vec<f32>>()
        })
        .collect()
}

/// [lo, hi) cut into at most `parts` consecutive blocks, some of them empty.
fn cuts(rng: &mut Rng, lo: usize, hi: usize, parts: usize) -> Vec<(usize, usize)> {
    let mut points: Vec<usize> = (0..rng.below(parts)).map(|_| lo + rng.below(hi - lo + 1)).collect();
    points.push(lo);
    points.push(hi);
    points.sort_unstable();
    points.windows(2).map(|w| (w[0], w[1])).collect()
}

/// The kNN of x through states: random query blocks, each with one to three
/// states offered random reference blocks in a random order (the query
/// block itself among them half the time: the triangle), merged in a random
/// tree, with finishes in between. `again`: some blocks are offered a second
/// time to a state that may hold them already (directly or by a merge).
fn block_knn(rng: &mut Rng, x: &[f32], n: usize, d: usize, k: usize, options: &KnnOptions,
             again: bool) -> (Vec<i64>, Vec<f32>) {
    let (mut indices, mut sqdist) = (Vec::new(), Vec::new());
    for (q0, q1) in cuts(rng, 0, n, 4) {
        let queries = &x[q0 * d..q1 * d];
        let n_states = 1 + rng.below(3);
        let mut states: Vec<Option<KnnState>> = (0..n_states)
            .map(|_| Some(KnnState::new(q1 - q0, q0, d, k, options).unwrap()))
            .collect();
        let mut blocks = if rng.below(2) == 0 {
            cuts(rng, 0, n, 5)
        } else {
            // the query block is one of the reference blocks: the same slice, the triangle
            let mut b = cuts(rng, 0, q0, 3);
            b.push((q0, q1));
            b.extend(cuts(rng, q1, n, 3));
            b
        };
        // events: Some((state, block)) offers a block, None merges two live states
        let mut events: Vec<Option<(usize, (usize, usize))>> =
            blocks.iter().map(|&b| Some((rng.below(n_states), b))).collect();
        if again {
            blocks.push((q0, q1));
            for _ in 0..2 {
                let block = blocks[rng.below(blocks.len())];
                events.push(Some((rng.below(n_states), block)));
            }
        }
        events.extend((1..n_states).map(|_| None));
        rng.shuffle(&mut events);
        // a state merged into another passes its later offers on to it
        let mut owner: Vec<usize> = (0..n_states).collect();
        let find = |owner: &[usize], mut s: usize| {
            while owner[s] != s {
                s = owner[s];
            }
            s
        };
        for event in events {
            match event {
                Some((s, (r0, r1))) => {
                    let state = states[find(&owner, s)].as_mut().unwrap();
                    state.update(queries, &x[r0 * d..r1 * d], r1 - r0, r0).unwrap();
                    if rng.below(8) == 0 {
                        let _ = state.finish(); // may lack neighbours yet; changes nothing
                    }
                }
                None => {
                    let live: Vec<usize> = (0..n_states).filter(|&s| states[s].is_some()).collect();
                    let (a, b) = (live[rng.below(live.len())], live[rng.below(live.len())]);
                    if a != b {
                        let from = states[b].take().unwrap();
                        states[a].as_mut().unwrap().merge(&from).unwrap();
                        owner[b] = a;
                    }
                }
            }
        }
        let mut live: Vec<KnnState> = states.into_iter().flatten().collect();
        rng.shuffle(&mut live);
        let mut last = live.pop().unwrap();
        for from in live {
            last.merge(&from).unwrap();
        }
        let (i, s) = last.finish().unwrap();
        assert_eq!((i.len(), s.len()), ((q1 - q0) * k, (q1 - q0) * k));
        indices.extend(i);
        sqdist.extend(s);
    }
    (indices, sqdist)
}

fn bits(v: &[f32]) -> Vec<u32> {
    v.iter().map(|f| f.to_bits()).collect()
}

/// `cases` random matrices full of near-ties through [`block_knn`].
fn random_cases(seed: u64, cases: usize, again: bool) {
    let mut rng = Rng(seed);
    let budgets = [0i64, 1 << 16, 1 << 20];
    for case in 0..cases {
        let n = 1 + rng.below(80);
        let d = 1 + rng.below(12);
        let k = 1 + rng.below(n.min(8));
        let x = tie_rows(&mut rng, n, d);
        let options = KnnOptions { n_threads: rng.below(4) as i32, max_bytes: budgets[rng.below(3)] };
        let (want_i, want_s) = rlcc::knn(&x, n, d, k, 0).unwrap();
        let (got_i, got_s) = block_knn(&mut rng, &x, n, d, k, &options, again);
        assert_eq!(got_i, want_i, "case {}: n {} d {} k {} {:?}", case, n, d, k, options);
        assert_eq!(bits(&got_s), bits(&want_s), "case {}: n {} d {} k {} {:?}", case, n, d, k, options);
    }
}

/// The committed fixture (120 x 32 re-ID features) through [`block_knn`].
fn fixture_cases(seed: u64, cases: usize, again: bool) {
    let top = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../..");
    let bytes = std::fs::read(top.join("examples/data/reid_gen0.npy")).unwrap();
    let header = 10 + u16::from_le_bytes([bytes[8], bytes[9]]) as usize;
    let text = String::from_utf8_lossy(&bytes[10..header]);
    assert!(bytes.starts_with(b"\x93NUMPY\x01") && text.contains("'<f4'") && text.contains("(120, 32)"), "{}", text);
    let x: Vec<f32> = bytes[header..].chunks_exact(4).map(|b| f32::from_le_bytes(b.try_into().unwrap())).collect();
    let (want_i, want_s) = rlcc::knn(&x, 120, 32, 10, 0).unwrap();
    let mut rng = Rng(seed);
    for case in 0..cases {
        let (got_i, got_s) = block_knn(&mut rng, &x, 120, 32, 10, &Default::default(), again);
        assert_eq!(got_i, want_i, "case {}", case);
        assert_eq!(bits(&got_s), bits(&want_s), "case {}", case);
    }
}

#[test]
fn random_blockings_orders_and_merges_give_the_whole_matrix_bits() {
    random_cases(13, 250, false);
}

#[test]
fn the_fixture_in_blocks_is_its_knn() {
    fixture_cases(2017, 20, false);
}

// A row the list already holds counts once in the bound U (by its D): were
// it counted by its s + m too, U would be too small and a nearer new row of
// the same update would be screened out.
#[test]
fn a_row_offered_again_changes_nothing() {
    // query 0.0 against 1.0, 1.5, then 1.0, 1.5, 1.2: the nearest two are 1.0 and 1.2
    let x = [0.0f32, 1.0, 1.5, 1.2];
    let mut s = KnnState::new(1, 0, 1, 2, &Default::default()).unwrap();
    s.update(&x[..1], &x[1..3], 2, 1).unwrap();
    s.update(&x[..1], &x[1..4], 3, 1).unwrap();
    let d = 1.2f32 as f64;
    assert_eq!(s.finish().unwrap(), (vec![1, 3], vec![1.0, (d * d) as f32]));
}

#[test]
fn blocks_offered_again_change_nothing() {
    random_cases(1917, 250, true);
    fixture_cases(77, 20, true);
}

fn refused<T: std::fmt::Debug>(result: Result<T, rlcc::Error>, want_code: i32, message: &str) {
    let e = result.unwrap_err();
    assert_eq!(e.code, want_code, "{}", e.message);
    assert!(e.message.starts_with(message), "{:?} does not start with {:?}", e.message, message);
}

#[test]
fn new_refuses_bad_shapes_and_options() {
    let o = KnnOptions::default();
    refused(KnnState::new(3, 0, 0, 1, &o), code::INVALID_ARGUMENT, "d: 0 must be in [1, INT32_MAX]");
    refused(KnnState::new(3, 0, 2, 0, &o), code::INVALID_ARGUMENT, "k: 0 must be in [1, INT32_MAX]");
    refused(KnnState::new(3, 0, 1 << 31, 1, &o), code::INVALID_ARGUMENT, "d: 2147483648 must be in");
    refused(KnnState::new(1 << 31, 0, 1, 1, &o), code::INVALID_ARGUMENT,
            "n_queries: 2147483648 must be in [0, INT32_MAX]");
    refused(KnnState::new(2, i64::MAX as usize, 1, 1, &o), code::INVALID_ARGUMENT,
            "query_offset: 9223372036854775807 must be >= 0 (and query_offset + n_queries fit int64)");
    refused(KnnState::new(2, usize::MAX, 1, 1, &o), code::INVALID_ARGUMENT,
            "query_offset: 18446744073709551615 does not fit int64");
    refused(KnnState::new(2, 0, 1, 1, &KnnOptions { max_bytes: -1, ..o }), code::INVALID_ARGUMENT,
            "max_bytes: -1 is negative");
    refused(KnnState::new(2, 0, 1, 1, &KnnOptions { n_threads: -1, ..o }), code::INVALID_ARGUMENT,
            "n_threads: -1 is negative");
    // the lists themselves are counted against max_bytes
    refused(KnnState::new(10, 0, 1, 2, &KnnOptions { max_bytes: 1, ..o }), code::MEMORY_LIMIT,
            "kNN distances: needs 160 bytes more");
}

#[test]
fn refused_updates_leave_the_state_as_it_was() {
    let x = [0.0f32, 0.0, 1.0, 0.0, 0.0, 2.0, 3.0, 3.0];
    let mut s = KnnState::new(4, 0, 2, 2, &Default::default()).unwrap();
    s.update(&x, &x, 4, 0).unwrap();
    let before = (s.finish().unwrap(), s.stats().n_updates);
    // lengths, checked before the call
    refused(s.update(&x[..6], &x, 4, 0), code::INVALID_ARGUMENT, "queries: 6 values, expected 4 x 2");
    refused(s.update(&x, &x[..7], 4, 0), code::INVALID_ARGUMENT, "refs: 7 values, expected 4 x 2");
    refused(s.update(&x, &x, 5, 0), code::INVALID_ARGUMENT, "refs: 8 values, expected 5 x 2");
    refused(s.update(&x, &[], usize::MAX, 0), code::INVALID_ARGUMENT, "refs: 0 values, expected");
    refused(s.update(&x, &x, 4, usize::MAX), code::INVALID_ARGUMENT,
            "ref_offset: 18446744073709551615 does not fit int64");
    // values and offsets, refused by the library
    refused(s.update(&x, &[0.0, f32::NAN], 1, 4), code::INVALID_ARGUMENT, "refs: row 0 has NaN at column 1");
    refused(s.update(&x, &[f32::INFINITY, 0.0], 1, 4), code::INVALID_ARGUMENT, "refs: row 0 has inf at column 0");
    let mut bad = x;
    bad[5] = f32::NAN;
    refused(s.update(&bad, &x, 4, 0), code::INVALID_ARGUMENT, "queries: row 2 has NaN at column 1");
    refused(s.update(&x, &x[..2], 1, i64::MAX as usize), code::INVALID_ARGUMENT,
            "ref_offset: 9223372036854775807 must be >= 0 (and ref_offset + n_refs fit int64)");
    assert_eq!((s.finish().unwrap(), s.stats().n_updates), before);
    // an empty block is fine and changes nothing
    s.update(&x, &[], 0, 4).unwrap();
    assert_eq!((s.finish().unwrap(), s.stats().n_updates), before);
}

#[test]
fn a_budget_too_small_for_an_update_is_a_memory_limit_and_changes_nothing() {
    let x: Vec<f32> = (0..200).map(|i| (i % 7) as f32).collect();
    // 50 x 5 lists fit in 8000 bytes, an update's working memory does not
    let mut s = KnnState::new(50, 0, 4, 5, &KnnOptions { max_bytes: 8000, ..Default::default() }).unwrap();
    refused(s.update(&x, &x, 50, 0), code::MEMORY_LIMIT, "kNN indices: needs");
    assert_eq!(s.stats().n_updates, 0);
    s.update(&x, &x[..40], 10, 0).unwrap_err();
    assert_eq!(s.stats().n_updates, 0);
}

#[test]
fn finish_needs_k_neighbours_and_leaves_the_state_usable() {
    let x = [0.0f32, 1.0, 3.0, 7.0];
    let mut s = KnnState::new(4, 0, 1, 3, &Default::default()).unwrap();
    refused(s.finish(), code::INVALID_ARGUMENT,
            "state: query row 0 has 0 of its k = 3 neighbours (offer at least k reference rows)");
    s.update(&x, &x[..2], 2, 0).unwrap();
    refused(s.finish(), code::INVALID_ARGUMENT, "state: query row 0 has 2 of its k = 3 neighbours");
    s.update(&x, &x[2..], 2, 2).unwrap();
    let first = s.finish().unwrap();
    assert_eq!(first, rlcc::knn(&x, 4, 1, 3, 0).unwrap());
    assert_eq!(s.finish().unwrap(), first);
    s.update(&x, &x, 4, 0).unwrap(); // every row again: nothing changes
    assert_eq!(s.finish().unwrap(), first);
    assert_eq!(s.stats().n_updates, 3);
}

#[test]
fn merge_refuses_states_for_other_queries() {
    let o = KnnOptions::default();
    let mut a = KnnState::new(4, 10, 2, 3, &o).unwrap();
    let message = "from: a state for";
    for (nq, offset, d, k) in [(5, 10, 2, 3), (4, 11, 2, 3), (4, 10, 3, 3), (4, 10, 2, 2)] {
        let other = KnnState::new(nq, offset, d, k, &o).unwrap();
        refused(a.merge(&other), code::INVALID_ARGUMENT, message);
    }
    let other = KnnState::new(4, 11, 2, 3, &o).unwrap();
    assert_eq!(a.merge(&other).unwrap_err().message,
               "from: a state for 4 query rows at 11, d = 2, k = 3; into is for 4 at 10, d = 2, k = 3");
    assert_eq!(a.stats().n_updates, 0);
    a.merge(&KnnState::new(4, 10, 2, 3, &o).unwrap()).unwrap(); // an empty state merges
}

#[test]
fn no_queries() {
    let mut s = KnnState::new(0, 7, 3, 2, &Default::default()).unwrap();
    s.update(&[], &[1.0, 2.0, 3.0], 1, 0).unwrap();
    assert_eq!(s.finish().unwrap(), (vec![], vec![]));
}

#[test]
fn a_state_moves_between_threads() {
    let x: Vec<f32> = (0..60).map(|i| ((i * 7) % 11) as f32).collect(); // 30 x 2
    let mut a = KnnState::new(30, 0, 2, 4, &Default::default()).unwrap();
    let b = std::thread::spawn({
        let x = x.clone();
        move || {
            let mut b = KnnState::new(30, 0, 2, 4, &Default::default()).unwrap();
            b.update(&x, &x[30..], 15, 15).unwrap();
            b
        }
    }).join().unwrap();
    a.update(&x, &x[..30], 15, 0).unwrap();
    let a = std::thread::spawn(move || {
        a.merge(&b).unwrap();
        a
    }).join().unwrap();
    let mut a = a;
    assert_eq!(a.finish().unwrap(), rlcc::knn(&x, 30, 2, 4, 0).unwrap());
    let shared = std::sync::Mutex::new(a);
    std::thread::scope(|scope| {
        for _ in 0..2 {
            scope.spawn(|| shared.lock().unwrap().update(&x, &x, 30, 0).unwrap());
        }
    });
    assert_eq!(shared.lock().unwrap().stats().n_updates, 4);
}

#[test]
fn debug_and_stats() {
    let x = [0.0f32, 1.0, 3.0];
    let mut s = KnnState::new(3, 0, 1, 2, &Default::default()).unwrap();
    assert_eq!(format!("{:?}", s), "KnnState { n_queries: 3, query_offset: 0, d: 1, k: 2, n_updates: 0 }");
    let fresh = s.stats();
    assert_eq!((fresh.n_updates, fresh.n_redecided, fresh.n_fallback_rows), (0, 0, 0));
    assert!(fresh.peak_bytes >= 3 * 2 * 16, "the lists: {:?}", fresh); // 16 bytes per entry
    s.update(&x, &x, 3, 0).unwrap();
    let stats = s.stats();
    assert_eq!(stats.n_updates, 1);
    assert!(stats.n_redecided >= 0 && stats.n_fallback_rows >= 0 && stats.peak_bytes > 0);
    assert!(format!("{:?}", s).ends_with("n_updates: 1 }"));
}
